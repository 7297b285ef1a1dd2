// The restore drill of docs/backup-restore.md on the embedded engine (the PostgreSQL drill is
// restore-drill.test.ts): populate a hub, `wattfleet-hub backup`, wipe, `wattfleet-hub restore`,
// then every table must equal the original (rollups included) and a hub on the result must answer.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { BackupManifest } from '../../src/backup/manifest.ts';
import { openDatabase } from '../../src/storage/database.ts';
import { migrate } from '../../src/storage/migrate.ts';
import { cli, fingerprint, populate } from './drill.ts';

import { assertSameContents, startAndAsk } from './drill-checks.ts';

describe('backup and restore drill on pglite (embedded data directory, hub stopped)', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'wf-backup-pglite-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('restores the data directory exactly, keeps the key file on --force, and the hub answers', {
    timeout: 540_000,
  }, async () => {
    const source = join(dir, 'data');
    const database = await openDatabase({ dataDir: source });
    await migrate(database);
    const siteId = await populate(database);
    const original = await fingerprint((t) => database.pool.query(t));
    await database.close();

    const out = join(dir, 'b1');
    const made = await cli(['backup', out], { WATTFLEET_DATA_DIR: source });
    assert.equal(made.code, 0, made.stderr);
    assert.match(made.stdout, /secrets key is NOT in this backup/);
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as BackupManifest;
    assert.equal(manifest.engine, 'pglite');

    const refused = await cli(['restore', out], { WATTFLEET_DATA_DIR: source });
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /already holds an embedded database.*--force/);

    // Into a new directory, as on a replacement machine.
    const target = join(dir, 'restored');
    const restored = await cli(['restore', out], { WATTFLEET_DATA_DIR: target });
    assert.equal(restored.code, 0, restored.stderr);
    const check = await openDatabase({ dataDir: target });
    assertSameContents(original, await fingerprint((t) => check.pool.query(t)));
    await check.close();

    // --force over an existing data directory: the database is replaced, the key file stays.
    await startAndAsk({ WATTFLEET_DATA_DIR: target }, siteId); // generates <dir>/secrets.key
    const key = readFileSync(join(target, 'secrets.key'), 'utf8');
    const forced = await cli(['restore', out, '--force'], { WATTFLEET_DATA_DIR: target });
    assert.equal(forced.code, 0, forced.stderr);
    assert.ok(existsSync(join(target, 'secrets.key')));
    assert.equal(readFileSync(join(target, 'secrets.key'), 'utf8'), key);
    const again = await openDatabase({ dataDir: target });
    assertSameContents(original, await fingerprint((t) => again.pool.query(t)));
    await again.close();
  });
});
