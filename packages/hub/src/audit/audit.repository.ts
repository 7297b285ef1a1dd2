// The only place audit-trail SQL is written (reads are in identity/audit.repository.ts). The
// table is append-only: rows are inserted, never updated.
import { type Insertable, type Kysely, sql, type Transaction } from 'kysely';
import type { DB } from '../storage/schema.ts';

export type AuditRow = Insertable<DB['audit_log']>;

export async function insertAuditRow(db: Kysely<DB>, row: AuditRow): Promise<void> {
  await db.insertInto('audit_log').values(row).execute();
}

/** Back to the table owner for the rest of the transaction (see auditInTransaction). */
export async function resetRole(trx: Transaction<DB>): Promise<void> {
  await sql`RESET ROLE`.execute(trx);
}
