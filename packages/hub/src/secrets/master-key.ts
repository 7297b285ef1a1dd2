// Where the vault's master key comes from: WATTFLEET_SECRETS_KEY (32 bytes, base64 or hex), or a
// key file (WATTFLEET_SECRETS_KEY_FILE, default <data dir>/secrets.key in the embedded mode).
// The embedded default generates the file on first start; production (DATABASE_URL) never
// generates one, because two hubs generating their own keys could not read each other's secrets.
import { createHmac, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export interface SecretsConfig {
  /** The key itself (from the environment); wins over the file. */
  key: string | undefined;
  /** Key file path; undefined when there is none to use. */
  keyFile: string | undefined;
  /** May the hub create the key file when it is missing (embedded mode only)? */
  generate: boolean;
}

export function secretsConfig(env: NodeJS.ProcessEnv, dataDir: string): SecretsConfig {
  const embedded = !env.DATABASE_URL;
  const keyFile = env.WATTFLEET_SECRETS_KEY_FILE || (embedded ? join(dataDir, 'secrets.key') : undefined);
  return { key: env.WATTFLEET_SECRETS_KEY || undefined, keyFile, generate: embedded };
}

/** A master key is refused unless it is exactly 32 bytes; the error never echoes the value. */
export class SecretsKeyError extends Error {
  override name = 'SecretsKeyError';
}

export function parseKey(text: string, where: string): Buffer {
  const t = text.trim();
  const buf = /^[0-9a-fA-F]{64}$/.test(t) ? Buffer.from(t, 'hex') : Buffer.from(t, 'base64');
  if (buf.length !== 32) {
    throw new SecretsKeyError(`${where} must hold a 256-bit key (32 bytes, base64 or 64 hex digits)`);
  }
  return buf;
}

/** A fingerprint that names a key in the database without revealing it (HMAC of a constant). */
export function keyId(key: Buffer): string {
  return createHmac('sha256', key).update('wattfleet secrets key id v1').digest('hex').slice(0, 16);
}

export interface MasterKey {
  key: Buffer;
  id: string;
  source: 'env' | 'file';
  /** True when this call created the key file (the caller warns the operator to back it up). */
  generated: boolean;
  path?: string;
}

export function newKeyText(): string {
  return randomBytes(32).toString('base64');
}

/** Writes a key file with owner-only permissions, atomically (a crash leaves the old file or the new one). */
export function writeKeyFile(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${text}\n`, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, path);
}

/** The configured key, or undefined when none is configured and `create` is false or not allowed. */
export function loadMasterKey(cfg: SecretsConfig, opts: { create?: boolean } = {}): MasterKey | undefined {
  if (cfg.key) {
    const key = parseKey(cfg.key, 'WATTFLEET_SECRETS_KEY');
    return { key, id: keyId(key), source: 'env', generated: false };
  }
  if (!cfg.keyFile) return undefined;
  if (existsSync(cfg.keyFile)) {
    const key = parseKey(readFileSync(cfg.keyFile, 'utf8'), `The key file ${cfg.keyFile}`);
    return { key, id: keyId(key), source: 'file', generated: false, path: cfg.keyFile };
  }
  if (!opts.create || !cfg.generate) return undefined;
  const text = newKeyText();
  writeKeyFile(cfg.keyFile, text);
  const key = parseKey(text, 'generated key');
  return { key, id: keyId(key), source: 'file', generated: true, path: cfg.keyFile };
}
