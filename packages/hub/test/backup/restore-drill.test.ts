// The restore drill of docs/backup-restore.md, on both engines: populate a hub through its API,
// `wattfleet-hub backup`, wipe, `wattfleet-hub restore`, then every table's contents must equal
// the original's (rollups included) and a hub started on the restored database must answer.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import type { BackupManifest } from '../../src/backup/manifest.ts';
import { openDatabase } from '../../src/storage/database.ts';
import { migrate } from '../../src/storage/migrate.ts';
import { createPgDatabase, PG_ADMIN_URL } from '../helpers/engines.ts';
import { ADMIN_TOKEN } from '../helpers/hub.ts';
import { HubProcess } from '../helpers/hub-process.ts';
import { cli, fingerprint, freePort, populate } from './drill.ts';

/** Restored contents equal the original's; a restored table the original lacks may only be an
 * empty partition that migrate() created for "today" (the drill may cross midnight UTC). */
function assertSameContents(original: Record<string, string>, restored: Record<string, string>) {
  for (const [table, print] of Object.entries(original)) assert.equal(restored[table], print, table);
  for (const table of Object.keys(restored))
    if (!(table in original)) assert.match(`${table} ${restored[table]}`, /^samples_p\d{8} 0:/);
  for (const t of ['rollup_hourly', 'rollup_daily', 'samples', 'nodes'])
    assert.ok(
      Object.keys(original).some((k) => k.startsWith(t) && !k.endsWith(' 0')),
      t,
    );
  const rows = (prefix: string) =>
    Object.entries(original)
      .filter(([k]) => k === prefix || (prefix === 'samples' && k.startsWith('samples_p')))
      .reduce((n, [, v]) => n + Number(v.split(':')[0]), 0);
  assert.ok(rows('rollup_hourly') > 0, 'rollups were computed before the backup');
  assert.ok(rows('samples') > 0, 'telemetry was stored before the backup');
}

async function startAndAsk(env: NodeJS.ProcessEnv, siteId: string): Promise<void> {
  const hub = new HubProcess({
    ...env,
    PORT: '0',
    HOST: '127.0.0.1',
    MQTT_PORT: String(await freePort()),
    WATTFLEET_ADMIN_TOKEN: ADMIN_TOKEN,
    LOG_LEVEL: 'warn',
    WATTFLEET_DEMO: '0',
  });
  try {
    await hub.start();
    const res = await fetch(`${hub.url}/api/v1/sites/${siteId}`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    assert.equal(res.status, 200, await res.clone().text());
    assert.equal(((await res.json()) as { id: string }).id, siteId);
  } finally {
    await hub.kill();
  }
}

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
