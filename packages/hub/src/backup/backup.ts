// `wattfleet-hub backup DIR`: one consistent snapshot of the hub's database into DIR, with a
// manifest (manifest.ts). PostgreSQL: the row counts are taken inside a REPEATABLE READ
// transaction whose snapshot pg_dump then dumps (--snapshot), so the counts describe exactly the
// rows in the dump even while hubs keep writing. PGlite (embedded): the data directory is opened
// and dumped with PGlite's dumpDataDir — only while the hub is stopped, as PGlite is a
// single-process database (two processes on one data directory corrupt it).
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import {
  BackupError,
  type BackupManifest,
  FORMAT,
  FORMAT_VERSION,
  HUB_VERSION,
  sha256File,
  writeManifest,
} from './manifest.ts';
import { pgDump } from './pg-tools.ts';
import { appliedMigrations, type Query, secretsKeyIds, tableCounts } from './tables.ts';

export const PG_DUMP_FILE = 'hub.dump';
export const PGLITE_DUMP_FILE = 'pglite-datadir.tar.gz';

export interface BackupSource {
  databaseUrl: string | undefined;
  dataDir: string;
}

function prepareTarget(dir: string): void {
  if (existsSync(dir) && (!statSync(dir).isDirectory() || readdirSync(dir).length > 0))
    throw new BackupError(`${dir} exists and is not an empty directory: give a new directory for the backup`);
  mkdirSync(dir, { recursive: true });
}

async function describe(query: Query, now: Date) {
  const tables = await tableCounts(query);
  const names = Object.keys(tables);
  const migrations = await appliedMigrations(query, names);
  return {
    tables,
    migrations,
    schemaVersion: migrations.at(-1) ?? null,
    secretsKeyIds: await secretsKeyIds(query, names),
    createdAt: now.toISOString(),
  };
}

export async function backup(source: BackupSource, dir: string, now = new Date()): Promise<BackupManifest> {
  prepareTarget(dir);
  const manifest = source.databaseUrl
    ? await backupPostgres(source.databaseUrl, dir, now)
    : await backupPglite(source.dataDir, dir, now);
  writeManifest(dir, manifest);
  return manifest;
}

async function backupPostgres(databaseUrl: string, dir: string, now: Date): Promise<BackupManifest> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY');
    const { rows } = await client.query<{ s: string }>('SELECT pg_export_snapshot() AS s');
    const facts = await describe((text) => client.query(text), now);
    const file = join(dir, PG_DUMP_FILE);
    // The snapshot stays importable only while this transaction is open: commit after the dump.
    await pgDump(databaseUrl, rows[0]!.s, file);
    await client.query('COMMIT');
    return manifestFor('postgres', facts, PG_DUMP_FILE, file);
  } finally {
    await client.end();
  }
}

async function backupPglite(dataDir: string, dir: string, now: Date): Promise<BackupManifest> {
  if (!existsSync(join(dataDir, 'PG_VERSION')))
    throw new BackupError(`${dataDir} holds no embedded database (no PG_VERSION): check WATTFLEET_DATA_DIR`);
  const pglite = await PGlite.create(dataDir);
  try {
    const facts = await describe((text) => pglite.query<Record<string, unknown>>(text), now);
    const tarball = await pglite.dumpDataDir('gzip');
    const file = join(dir, PGLITE_DUMP_FILE);
    writeFileSync(file, Buffer.from(await tarball.arrayBuffer()));
    return manifestFor('pglite', facts, PGLITE_DUMP_FILE, file);
  } finally {
    await pglite.close();
  }
}

async function manifestFor(
  engine: BackupManifest['engine'],
  facts: Awaited<ReturnType<typeof describe>>,
  name: string,
  file: string,
): Promise<BackupManifest> {
  return {
    format: FORMAT,
    formatVersion: FORMAT_VERSION,
    engine,
    hubVersion: HUB_VERSION,
    schemaVersion: facts.schemaVersion,
    migrations: facts.migrations,
    createdAt: facts.createdAt,
    dump: { file: name, bytes: statSync(file).size, sha256: await sha256File(file) },
    tables: facts.tables,
    secretsKeyIds: facts.secretsKeyIds,
  };
}
