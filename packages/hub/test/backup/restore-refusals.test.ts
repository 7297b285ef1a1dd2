// A backup that is corrupted, belongs elsewhere or comes from a newer hub is refused with an
// error that says so, before the target is touched; an older backup is migrated forward.
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Migrator } from 'kysely';
import pg from 'pg';
import { backup, PG_DUMP_FILE } from '../../src/backup/backup.ts';
import { type BackupManifest, MANIFEST_FILE } from '../../src/backup/manifest.ts';
import { type RestoreTarget, restore } from '../../src/backup/restore.ts';
import { openDatabase } from '../../src/storage/database.ts';
import { migrations } from '../../src/storage/migrations/index.ts';
import { createPgDatabase } from '../helpers/engines.ts';
import { cli } from './drill.ts';

const NEWEST = Object.keys(migrations).sort().at(-1)!;

async function relations(url: string): Promise<number> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  const { rows } = await c.query(
    `SELECT count(*)::int AS n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public'`,
  );
  await c.end();
  return rows[0].n;
}

describe('restore refuses a bad backup (postgres)', () => {
  let source: { url: string; drop: () => Promise<void> };
  let target: { url: string; drop: () => Promise<void> };
  let dir: string;
  let good: string;
  let to: RestoreTarget;

  /** A copy of the good backup, changed by `change`. */
  const variant = (name: string, change: (d: string, m: BackupManifest) => BackupManifest | undefined) => {
    const d = join(dir, name);
    cpSync(good, d, { recursive: true });
    const m = JSON.parse(readFileSync(join(d, MANIFEST_FILE), 'utf8')) as BackupManifest;
    const changed = change(d, m);
    if (changed) writeFileSync(join(d, MANIFEST_FILE), JSON.stringify(changed));
    return d;
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'wf-backup-bad-'));
    source = await createPgDatabase();
    target = await createPgDatabase();
    // The source is one migration behind this hub, as a backup taken before an upgrade.
    const database = await openDatabase({ databaseUrl: source.url, poolSize: 2 });
    const older = Object.fromEntries(Object.entries(migrations).filter(([k]) => k !== NEWEST));
    const { error } = await new Migrator({
      db: database.db,
      provider: { getMigrations: async () => older },
      migrationTableName: 'schema_migrations',
      migrationLockTableName: 'schema_migrations_lock',
      allowUnorderedMigrations: true,
    }).migrateToLatest();
    assert.equal(error, undefined);
    await database.close();
    good = join(dir, 'good');
    await backup({ databaseUrl: source.url, dataDir: join(dir, 'unused') }, good);
    to = {
      databaseUrl: target.url,
      dataDir: join(dir, 'unused'),
      secretsKeyFile: undefined,
      partitionsAheadDays: 1,
    };
  });
  after(async () => {
    await source?.drop();
    await target?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a dump with one byte changed: checksum mismatch, target untouched (also through the CLI)', async () => {
    const d = variant('flipped', (d) => {
      const bytes = readFileSync(join(d, PG_DUMP_FILE));
      bytes[Math.floor(bytes.length / 2)]! ^= 0xff;
      writeFileSync(join(d, PG_DUMP_FILE), bytes);
      return undefined;
    });
    await assert.rejects(restore(d, to, false), { name: 'BackupError', message: /checksum mismatch/ });
    const run = await cli(['restore', d], { DATABASE_URL: target.url });
    assert.equal(run.code, 1);
    assert.match(
      run.stderr,
      /^wattfleet-hub: checksum mismatch: hub\.dump has SHA-256 [0-9a-f]{64}, the manifest says/m,
    );
    assert.equal(await relations(target.url), 0);
  });

  it('the dump of another backup beside this manifest: checksum mismatch', async () => {
    const other = join(dir, 'other');
    await backup({ databaseUrl: source.url, dataDir: join(dir, 'unused') }, other);
    const d = variant('swapped', (d) => {
      cpSync(join(other, PG_DUMP_FILE), join(d, PG_DUMP_FILE));
      return undefined;
    });
    // pg_dump output differs between runs (its header carries the dump time).
    await assert.rejects(restore(d, to, false), /checksum mismatch/);
    assert.equal(await relations(target.url), 0);
  });

  it('no manifest, or not ours: refused', async () => {
    const d = variant('nomanifest', (d) => {
      rmSync(join(d, MANIFEST_FILE));
      return undefined;
    });
    await assert.rejects(restore(d, to, false), /is not a Wattfleet backup: manifest\.json is missing/);
    const e = variant('foreign', (_d, m) => ({ ...m, format: 'something-else' as 'wattfleet-hub-backup' }));
    await assert.rejects(restore(e, to, false), /not a Wattfleet hub backup manifest/);
  });

  it('a backup from a newer hub (a migration this hub does not know): refused', async () => {
    const d = variant('newer', (_d, m) => ({ ...m, migrations: [...m.migrations, '999_from_the_future'] }));
    await assert.rejects(restore(d, to, false), /comes from a newer hub.*999_from_the_future/);
    assert.equal(await relations(target.url), 0);
  });

  it('a backup of the other engine: refused', async () => {
    const d = variant('engine', (_d, m) => ({ ...m, engine: 'pglite' }));
    await assert.rejects(
      restore(d, to, false),
      /backup is of a pglite database but this hub is configured for postgres/,
    );
  });

  it('row counts that do not match the manifest: the restore is reported as failed', async () => {
    const d = variant('counts', (_d, m) => ({
      ...m,
      tables: { ...m.tables, schema_migrations: 1, ghost: 3 },
    }));
    await assert.rejects(restore(d, to, false), (err: Error) => {
      assert.match(err.message, /row counts differ from the manifest/);
      assert.match(err.message, /schema_migrations: \d+ rows, backup had 1/);
      assert.match(err.message, /ghost: missing \(backup had 3 rows\)/);
      return true;
    });
  });

  it('the good backup, one migration older than this hub, restores and is migrated forward', async () => {
    const r = await restore(good, to, true);
    assert.equal(r.manifest.schemaVersion === NEWEST, false);
    assert.deepEqual(r.migrated, [NEWEST]);
  });
});
