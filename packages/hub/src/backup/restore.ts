// `wattfleet-hub restore DIR [--force]`: checks the manifest and the dump's checksum, refuses a
// target that already holds a database unless --force, restores, checks every table's row count
// against the manifest, then migrates forward (a backup from an older hub gets this hub's newer
// migrations). Counts are checked BEFORE migrating: a migration may legitimately add rows (its
// own schema_migrations row, backfills), and the question answered is "is the backup all here".
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import pg from 'pg';
import { type Database, openDatabase } from '../storage/database.ts';
import { migrate } from '../storage/migrate.ts';
import { migrations as knownMigrations } from '../storage/migrations/index.ts';
import { BackupError, type BackupManifest, countDifferences, readVerifiedManifest } from './manifest.ts';
import { pgRestore } from './pg-tools.ts';
import { tableCounts } from './tables.ts';

export interface RestoreTarget {
  databaseUrl: string | undefined;
  dataDir: string;
  /** Kept when --force empties an embedded data directory: the key is not in the backup. */
  secretsKeyFile: string | undefined;
  partitionsAheadDays: number;
}

export interface RestoreResult {
  manifest: BackupManifest;
  /** Migrations applied after the restore (the backup was older than this hub). */
  migrated: string[];
  rows: number;
}

export async function restore(dir: string, target: RestoreTarget, force: boolean): Promise<RestoreResult> {
  const manifest = await readVerifiedManifest(dir);
  const unknown = manifest.migrations.filter((m) => !(m in knownMigrations));
  if (unknown.length)
    throw new BackupError(
      `the backup comes from a newer hub (hub ${manifest.hubVersion}; migrations this hub does not know: ${unknown.join(', ')}): restore it with that hub version or newer`,
    );
  const engine = target.databaseUrl ? 'postgres' : 'pglite';
  if (manifest.engine !== engine)
    throw new BackupError(
      `the backup is of a ${manifest.engine} database but this hub is configured for ${engine} (${engine === 'postgres' ? 'DATABASE_URL is set' : 'no DATABASE_URL: embedded'}); to move between engines, restore into the same engine and migrate the data separately`,
    );
  const database = target.databaseUrl
    ? await restorePostgres(dir, manifest, target.databaseUrl, force)
    : await restorePglite(dir, manifest, target, force);
  try {
    const actual = await tableCounts((text) => database.pool.query(text));
    const diff = countDifferences(manifest.tables, actual);
    if (diff.length)
      throw new BackupError(`restored, but the row counts differ from the manifest:\n  ${diff.join('\n  ')}`);
    const migrated = await migrate(database, target.partitionsAheadDays);
    return { manifest, migrated, rows: Object.values(manifest.tables).reduce((a, b) => a + b, 0) };
  } finally {
    await database.close();
  }
}

async function restorePostgres(
  dir: string,
  manifest: BackupManifest,
  databaseUrl: string,
  force: boolean,
): Promise<Database> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE n.nspname = 'public'`,
    );
    if (rows[0]!.n > 0) {
      if (!force)
        throw new BackupError(
          `the target database is not empty (${rows[0]!.n} relations in schema public): restore into an empty database, or pass --force to replace everything in it`,
        );
      // A recreated schema lacks PostgreSQL's default USAGE for PUBLIC, and pg_dump does not
      // carry a default ACL: give it back, or the hub's wattfleet_app role could not see a table.
      await client.query('DROP SCHEMA public CASCADE');
      await client.query('CREATE SCHEMA public');
      await client.query('GRANT USAGE ON SCHEMA public TO PUBLIC');
    }
    // wattfleet_app (row-level security, migration 011) is cluster-global, so not in a database
    // dump; a fresh cluster needs it before the grants in the dump can be restored.
    await client.query(`
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'wattfleet_app') THEN
    CREATE ROLE wattfleet_app NOLOGIN;
  END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
END $$`);
  } finally {
    await client.end();
  }
  await pgRestore(databaseUrl, join(dir, manifest.dump.file));
  const database = await openDatabase({ databaseUrl, poolSize: 2 });
  // The hub queries as wattfleet_app: make sure it can reach the schema even when the target
  // database was created with a locked-down public schema.
  await database.pool.query('GRANT USAGE ON SCHEMA public TO wattfleet_app');
  return database;
}

async function restorePglite(
  dir: string,
  manifest: BackupManifest,
  target: RestoreTarget,
  force: boolean,
): Promise<Database> {
  const { dataDir } = target;
  if (existsSync(join(dataDir, 'PG_VERSION'))) {
    if (!force)
      throw new BackupError(
        `${dataDir} already holds an embedded database: stop the hub and pass --force to replace it (the secrets key file is kept)`,
      );
    const keyFile = target.secretsKeyFile;
    const keep = keyFile && dirname(resolve(keyFile)) === resolve(dataDir) ? basename(keyFile) : undefined;
    for (const entry of readdirSync(dataDir)) {
      if (entry !== keep) rmSync(join(dataDir, entry), { recursive: true, force: true });
    }
  }
  const tarball = new Blob([readFileSync(join(dir, manifest.dump.file))]);
  return openDatabase({ dataDir, loadDataDir: tarball });
}
