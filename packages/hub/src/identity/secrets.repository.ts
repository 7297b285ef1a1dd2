// SQL of hub-wide secrets (hub_secrets): a named value, written once by whichever hub is first.
import type { Kysely } from 'kysely';
import type { DB } from '../storage/schema.ts';
import './schema.ts';

/**
 * Stores `value` under `name` unless a value is already there, then returns the stored one:
 * ON CONFLICT DO NOTHING, so two hubs starting together agree on whichever landed first.
 */
export async function ensureSecret(db: Kysely<DB>, name: string, value: string): Promise<string> {
  await db
    .insertInto('hub_secrets')
    .values({ name, value })
    .onConflict((oc) => oc.column('name').doNothing())
    .execute();
  const row = await db
    .selectFrom('hub_secrets')
    .select('value')
    .where('name', '=', name)
    .executeTakeFirstOrThrow();
  return row.value;
}
