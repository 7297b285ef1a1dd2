// The only SQL on the secrets table. Rows are ciphertexts; nothing here sees a plaintext.
import type { Kysely } from 'kysely';
import type { DB } from '../storage/schema.ts';
import './secrets.tables.ts';

export interface SealedRow {
  id: string;
  key_id: string;
  nonce: Buffer;
  ciphertext: Buffer;
}

export async function insertSealed(db: Kysely<DB>, row: SealedRow): Promise<void> {
  await db.insertInto('secrets').values(row).execute();
}

export async function updateSealed(db: Kysely<DB>, row: SealedRow): Promise<boolean> {
  const r = await db
    .updateTable('secrets')
    .set({ key_id: row.key_id, nonce: row.nonce, ciphertext: row.ciphertext, updated_at: new Date() })
    .where('id', '=', row.id)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

export async function getSealed(db: Kysely<DB>, id: string): Promise<SealedRow | undefined> {
  return db
    .selectFrom('secrets')
    .select(['id', 'key_id', 'nonce', 'ciphertext'])
    .where('id', '=', id)
    .executeTakeFirst();
}

export async function deleteSealed(db: Kysely<DB>, id: string): Promise<void> {
  await db.deleteFrom('secrets').where('id', '=', id).execute();
}

/** Key ids in use with how many rows each; more than one only mid-rotation (which is one transaction). */
export async function keyIdsInUse(db: Kysely<DB>): Promise<{ key_id: string; n: number }[]> {
  return db
    .selectFrom('secrets')
    .select(['key_id', (eb) => eb.fn.countAll<number>().as('n')])
    .groupBy('key_id')
    .execute();
}

export async function allSealed(db: Kysely<DB>): Promise<SealedRow[]> {
  return db.selectFrom('secrets').select(['id', 'key_id', 'nonce', 'ciphertext']).forUpdate().execute();
}
