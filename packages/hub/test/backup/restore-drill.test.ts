// The restore drill of docs/backup-restore.md, on PostgreSQL (the PGlite drill is restore-drill-pglite.test.ts): populate a hub through its API,
// `wattfleet-hub backup`, wipe, `wattfleet-hub restore`, then every table's contents must equal
// the original's (rollups included) and a hub started on the restored database must answer.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import type { BackupManifest } from '../../src/backup/manifest.ts';
import { openDatabase } from '../../src/storage/database.ts';
import { migrate } from '../../src/storage/migrate.ts';
import { createPgDatabase, PG_ADMIN_URL } from '../helpers/engines.ts';
import { cli, fingerprint, populate } from './drill.ts';

import { assertSameContents, startAndAsk } from './drill-checks.ts';

describe('backup and restore drill on postgres', () => {
  let db: { url: string; drop: () => Promise<void> };
  let dir: string;
  before(async () => {
    db = await createPgDatabase();
    dir = mkdtempSync(join(tmpdir(), 'wf-backup-'));
  });
  after(async () => {
    await db?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('restores every table exactly, refuses a non-empty target without --force, and the hub answers', async () => {
    const database = await openDatabase({ databaseUrl: db.url, poolSize: 4 });
    await migrate(database);
    const siteId = await populate(database);
    const original = await fingerprint((t) => database.pool.query(t));
    await database.close();

    const out = join(dir, 'b1');
    const made = await cli(['backup', out], { DATABASE_URL: db.url });
    assert.equal(made.code, 0, made.stderr);
    assert.match(made.stdout, /secrets key is NOT in this backup/);
    assert.match(made.stdout, /WATTFLEET_SECRETS_KEY/);
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as BackupManifest;
    assert.equal(manifest.engine, 'postgres');
    assert.equal(manifest.hubVersion, '0.1.0');
    assert.equal(manifest.schemaVersion, manifest.migrations.at(-1));
    for (const [t, print] of Object.entries(original))
      assert.equal(manifest.tables[t], Number(print.split(':')[0]), t);

    // Restoring over the live database is refused: nothing is replaced by accident.
    const refused = await cli(['restore', out], { DATABASE_URL: db.url });
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /target database is not empty.*--force/);

    // The database is lost: dropped and created empty again, then restored.
    const name = new URL(db.url).pathname.slice(1);
    const c = new pg.Client({ connectionString: PG_ADMIN_URL });
    await c.connect();
    await c.query(`DROP DATABASE ${name} WITH (FORCE)`);
    await c.query(`CREATE DATABASE ${name}`);
    await c.end();
    const restored = await cli(['restore', out], { DATABASE_URL: db.url });
    assert.equal(restored.code, 0, restored.stderr);
    assert.match(restored.stdout, /counts match the manifest/);
    const check = await openDatabase({ databaseUrl: db.url, poolSize: 2 });
    assertSameContents(original, await fingerprint((t) => check.pool.query(t)));
    await check.close();

    // --force replaces a non-empty database (here: the restored one) with the backup again.
    const forced = await cli(['restore', out, '--force'], { DATABASE_URL: db.url });
    assert.equal(forced.code, 0, forced.stderr);
    const again = await openDatabase({ databaseUrl: db.url, poolSize: 2 });
    assertSameContents(original, await fingerprint((t) => again.pool.query(t)));
    await again.close();

    await startAndAsk({ DATABASE_URL: db.url }, siteId);
  });
});
