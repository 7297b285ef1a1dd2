// Enrollment codes can be revoked before use: when and by whom is kept on the code itself.
// Codes revoked before this migration were marked by expires_at = created_at; they are carried over.
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE enrollment_codes ADD COLUMN revoked_at timestamptz, ADD COLUMN revoked_by text;
    UPDATE enrollment_codes SET revoked_at = expires_at
      WHERE used_at IS NULL AND expires_at = created_at;
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE enrollment_codes DROP COLUMN revoked_at, DROP COLUMN revoked_by`.execute(db);
}
