// The credential vault: vendor passwords and OAuth tokens encrypted at rest with AES-256-GCM
// (node:crypto). Every seal uses a fresh random 96-bit nonce; the secret's row id is the
// associated data, so a ciphertext copied onto another row does not decrypt. Plaintexts exist
// only in memory for the call that needs them and are never logged or returned by the API.
import { createCipheriv, createDecipheriv, randomBytes, randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { DB } from '../storage/schema.ts';
import { keyId, type MasterKey, SecretsKeyError } from './master-key.ts';
import {
  allSealed,
  deleteSealed,
  getSealed,
  insertSealed,
  keyIdsInUse,
  type SealedRow,
  updateSealed,
} from './secrets.repository.ts';

const NONCE_BYTES = 12;
const TAG_BYTES = 16;

function seal(key: Buffer, id: string, value: unknown): SealedRow {
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(Buffer.from(id));
  const body = Buffer.concat([cipher.update(JSON.stringify(value), 'utf8'), cipher.final()]);
  return { id, key_id: keyId(key), nonce, ciphertext: Buffer.concat([body, cipher.getAuthTag()]) };
}

function open(key: Buffer, row: SealedRow): unknown {
  const ct = Buffer.from(row.ciphertext);
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(row.nonce));
  decipher.setAAD(Buffer.from(row.id));
  decipher.setAuthTag(ct.subarray(ct.length - TAG_BYTES));
  const plain = Buffer.concat([decipher.update(ct.subarray(0, ct.length - TAG_BYTES)), decipher.final()]);
  return JSON.parse(plain.toString('utf8'));
}

export class Vault {
  constructor(private readonly master: MasterKey) {}

  get keyId(): string {
    return this.master.id;
  }

  async put(db: Kysely<DB>, value: unknown): Promise<string> {
    const id = randomUUID();
    await insertSealed(db, seal(this.master.key, id, value));
    return id;
  }

  async replace(db: Kysely<DB>, id: string, value: unknown): Promise<void> {
    if (!(await updateSealed(db, seal(this.master.key, id, value))))
      throw new Error(`secret ${id} not found`);
  }

  async get<T>(db: Kysely<DB>, id: string): Promise<T> {
    const row = await getSealed(db, id);
    if (!row) throw new Error(`secret ${id} not found`);
    if (row.key_id !== this.master.id) throw wrongKey(row.key_id, this.master.id);
    return open(this.master.key, row) as T;
  }

  async remove(db: Kysely<DB>, id: string): Promise<void> {
    await deleteSealed(db, id);
  }

  /**
   * Refuses a key that cannot open what is stored: a different key id, or (same id, which would
   * take a forged key file) a ciphertext that does not authenticate. Called before the hub starts.
   */
  async verify(db: Kysely<DB>): Promise<void> {
    await assertKeyMatches(db, this.master);
  }
}

function wrongKey(stored: string, current: string): SecretsKeyError {
  return new SecretsKeyError(
    `The secrets key (key id ${current}) is not the key the stored vendor credentials were encrypted with ` +
      `(key id ${stored}). Start the hub with the original WATTFLEET_SECRETS_KEY or key file; to change keys ` +
      'use `wattfleet-hub rotate-secrets-key` with the current key in place.',
  );
}

export async function assertKeyMatches(db: Kysely<DB>, master: MasterKey | undefined): Promise<void> {
  const inUse = await keyIdsInUse(db);
  if (inUse.length === 0) return;
  if (!master) {
    throw new SecretsKeyError(
      `${inUse.reduce((n, r) => n + Number(r.n), 0)} vendor credentials are stored encrypted, but no secrets key is configured. ` +
        'Set WATTFLEET_SECRETS_KEY or WATTFLEET_SECRETS_KEY_FILE to the key they were encrypted with.',
    );
  }
  const foreign = inUse.find((r) => r.key_id !== master.id);
  if (foreign) throw wrongKey(foreign.key_id, master.id);
  const sample = await db
    .selectFrom('secrets')
    .select(['id', 'key_id', 'nonce', 'ciphertext'])
    .limit(1)
    .executeTakeFirst();
  if (!sample) return;
  try {
    open(master.key, sample);
  } catch {
    throw wrongKey(sample.key_id, master.id);
  }
}

/**
 * Re-encrypts every secret under `next` in one transaction: either all rows move to the new key
 * or none does. Returns how many secrets were re-encrypted.
 */
export async function rotateSecrets(db: Kysely<DB>, current: MasterKey, next: MasterKey): Promise<number> {
  await assertKeyMatches(db, current);
  return db.transaction().execute(async (trx) => {
    const rows = await allSealed(trx);
    for (const row of rows) {
      const value = open(current.key, row);
      await updateSealed(trx, seal(next.key, row.id, value));
    }
    return rows.length;
  });
}
