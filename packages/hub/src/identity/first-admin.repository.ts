// SQL of the first-admin bootstrap (first-admin.ts). Runs as the table owner, inside the one
// transaction that holds the advisory lock, so concurrent hub starts create one admin.
import { type Kysely, sql } from 'kysely';
import type { DB } from '../storage/schema.ts';
import './schema.ts';

/** Several hub instances may start together against one database: one creates, others wait and see it. */
export async function lockFirstAdmin(trx: Kysely<DB>): Promise<void> {
  await sql`SELECT pg_advisory_xact_lock(hashtext('wattfleet.first-admin'))`.execute(trx);
}

export async function anyAdminExists(trx: Kysely<DB>): Promise<boolean> {
  const row = await trx.selectFrom('users').select('id').where('role', '=', 'admin').executeTakeFirst();
  return row !== undefined;
}

/** The oldest operator org, created (named "Operator") when there is none yet. */
export async function operatorOrg(trx: Kysely<DB>): Promise<{ id: string }> {
  return (
    (await trx
      .selectFrom('orgs')
      .select('id')
      .where('kind', '=', 'operator')
      .orderBy('created_at')
      .executeTakeFirst()) ??
    (await trx
      .insertInto('orgs')
      .values({ name: 'Operator', kind: 'operator' })
      .returning('id')
      .executeTakeFirstOrThrow())
  );
}
