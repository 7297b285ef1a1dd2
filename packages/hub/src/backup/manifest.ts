// The backup's manifest (manifest.json beside the dump): what was backed up, by which hub, at
// which schema version, how many rows each table held in the dump's snapshot, and the dump's
// SHA-256. Restore trusts nothing it cannot check against this file.
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import hubPackage from '../../package.json' with { type: 'json' };
import type { Engine } from '../storage/database.ts';

export const MANIFEST_FILE = 'manifest.json';
export const FORMAT = 'wattfleet-hub-backup';
export const FORMAT_VERSION = 1;
export const HUB_VERSION: string = hubPackage.version;

export interface BackupManifest {
  format: typeof FORMAT;
  formatVersion: number;
  /** postgres: a pg_dump custom-format archive; pglite: PGlite's dumpDataDir tarball (gzip). */
  engine: Engine;
  hubVersion: string;
  /** The newest applied migration (migrations are applied in name order within their ranges). */
  schemaVersion: string | null;
  /** Every migration applied in the backed-up database. */
  migrations: string[];
  createdAt: string;
  dump: { file: string; bytes: number; sha256: string };
  /** Rows per table (every ordinary table and partition of schema public) in the dump's snapshot. */
  tables: Record<string, number>;
  /** Fingerprints (master-key.ts keyId) of the keys the vault's secrets are encrypted with. */
  secretsKeyIds: string[];
}

/** A backup that cannot be restored as it is: the message says what is wrong. */
export class BackupError extends Error {
  override name = 'BackupError';
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export function writeManifest(dir: string, manifest: BackupManifest): void {
  writeFileSync(join(dir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
}

/** Reads and checks the manifest and the dump's size and checksum; throws BackupError otherwise. */
export async function readVerifiedManifest(dir: string): Promise<BackupManifest> {
  const path = join(dir, MANIFEST_FILE);
  if (!existsSync(path))
    throw new BackupError(`${dir} is not a Wattfleet backup: ${MANIFEST_FILE} is missing`);
  let m: BackupManifest;
  try {
    m = JSON.parse(readFileSync(path, 'utf8')) as BackupManifest;
  } catch (err) {
    throw new BackupError(`${path} is not valid JSON (${(err as Error).message})`);
  }
  if (m?.format !== FORMAT) throw new BackupError(`${path} is not a Wattfleet hub backup manifest`);
  if (m.formatVersion !== FORMAT_VERSION)
    throw new BackupError(
      `backup format version ${m.formatVersion} is not supported (this hub reads ${FORMAT_VERSION})`,
    );
  if (!m.dump || typeof m.dump.file !== 'string' || /[\\/]/.test(m.dump.file) || typeof m.tables !== 'object')
    throw new BackupError(`${path} is incomplete (dump or tables missing)`);
  const dump = join(dir, m.dump.file);
  if (!existsSync(dump)) throw new BackupError(`the dump ${dump} named in the manifest is missing`);
  const actual = await sha256File(dump);
  if (actual !== m.dump.sha256)
    throw new BackupError(
      `checksum mismatch: ${m.dump.file} has SHA-256 ${actual}, the manifest says ${m.dump.sha256} — the dump is corrupted or belongs to another backup`,
    );
  return m;
}

/** Compares restored row counts with the manifest; returns one line per difference. */
export function countDifferences(expected: Record<string, number>, actual: Record<string, number>): string[] {
  const out: string[] = [];
  for (const [table, n] of Object.entries(expected)) {
    if (!(table in actual)) out.push(`${table}: missing (backup had ${n} rows)`);
    else if (actual[table] !== n) out.push(`${table}: ${actual[table]} rows, backup had ${n}`);
  }
  for (const table of Object.keys(actual))
    if (!(table in expected)) out.push(`${table}: not in the backup (${actual[table]} rows)`);
  return out;
}

export const SECRETS_KEY_REMINDER = [
  'The secrets key is NOT in this backup. Vault secrets (vendor credentials) in it are encrypted',
  'with WATTFLEET_SECRETS_KEY or the key file (WATTFLEET_SECRETS_KEY_FILE, embedded default',
  '<data dir>/secrets.key). Keep that key separately and safely: without it a restored hub',
  'cannot read its secrets; with it plus this backup, anyone can.',
].join('\n');
