// The JWT signing key: from configuration, or generated once and kept in the database so every
// hub instance (and every restart) signs and verifies with the same key.
import { randomBytes } from 'node:crypto';
import type { HubContext } from '../context.ts';
import './schema.ts';

export async function loadJwtSecret(hub: HubContext): Promise<string> {
  if (hub.config.jwtSecret) return hub.config.jwtSecret;
  // ON CONFLICT DO NOTHING: two hubs starting together agree on whichever key landed first.
  await hub.db
    .insertInto('hub_secrets')
    .values({ name: 'jwt', value: randomBytes(48).toString('base64url') })
    .onConflict((oc) => oc.column('name').doNothing())
    .execute();
  const row = await hub.db
    .selectFrom('hub_secrets')
    .select('value')
    .where('name', '=', 'jwt')
    .executeTakeFirstOrThrow();
  return row.value;
}
