// Every storage-touching test runs on both engines: PostgreSQL (a fresh database per test, so
// test files can run in parallel) and PGlite in memory (the embedded default).
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { type Database, type Engine, openDatabase } from '../../src/storage/database.ts';
import { migrate } from '../../src/storage/migrate.ts';

export const PG_ADMIN_URL = process.env.WATTFLEET_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';

export const ENGINES: Engine[] = (process.env.WATTFLEET_TEST_ENGINES ?? 'postgres,pglite').split(
  ',',
) as Engine[];

export interface TestDatabase {
  database: Database;
  /** Connection string of the fresh PostgreSQL database (undefined for PGlite). */
  url: string | undefined;
  drop(): Promise<void>;
}

/** Creates an empty PostgreSQL database and returns its URL; drop() removes it. */
export async function createPgDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `wf_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: PG_ADMIN_URL });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

export async function openTestDatabase(
  engine: Engine,
  opts: { migrate?: boolean } = {},
): Promise<TestDatabase> {
  let database: Database;
  let url: string | undefined;
  let dropPg = async () => {};
  if (engine === 'postgres') {
    const created = await createPgDatabase();
    url = created.url;
    dropPg = created.drop;
    database = await openDatabase({ databaseUrl: url, poolSize: 8 });
  } else {
    database = await openDatabase({ dataDir: 'memory://', loadDataDir: await migratedPgliteTemplate() });
  }
  if (opts.migrate !== false) await migrate(database);
  return {
    database,
    url,
    drop: async () => {
      await database.close();
      await dropPg();
    },
  };
}

const MIGRATIONS_DIR = fileURLToPath(new URL('../../src/storage/migrations/', import.meta.url));

/**
 * A dump of a freshly migrated PGlite, cached in the temp dir under a hash of the migration
 * sources: starting from it takes a fraction of the time of initdb + every migration, which
 * matters because nearly every test file opens a PGlite. Tests still run migrate() on top (a no-op
 * that also creates today's partitions), so a stale template cannot hide a migration.
 */
async function migratedPgliteTemplate(): Promise<Blob> {
  const hash = createHash('sha256');
  for (const f of readdirSync(MIGRATIONS_DIR).sort())
    hash.update(f).update(readFileSync(join(MIGRATIONS_DIR, f)));
  const file = join(tmpdir(), `wattfleet-pglite-template-${hash.digest('hex').slice(0, 16)}.tar`);
  if (existsSync(file)) return new Blob([readFileSync(file)]);
  const fresh = await openDatabase({ dataDir: 'memory://' });
  await migrate(fresh);
  const dump = await fresh.pglite!.dumpDataDir('none');
  await fresh.close();
  const bytes = Buffer.from(await dump.arrayBuffer());
  // Parallel test processes may race here: write aside, then rename atomically.
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
  writeFileSync(tmp, bytes);
  renameSync(tmp, file);
  return new Blob([bytes]);
}
