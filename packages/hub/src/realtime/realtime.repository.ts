// SQL of the realtime subscriptions: which of the requested sites and nodes exist as the tenant
// sees them. Callers pass a tenant transaction (withTenant), so row-level security applies.
import type { Kysely } from 'kysely';
import type { DB } from '../storage/schema.ts';

export async function visibleSites(trx: Kysely<DB>, siteIds: readonly string[]): Promise<{ id: string }[]> {
  if (!siteIds.length) return [];
  return trx
    .selectFrom('sites')
    .select('id')
    .where('id', 'in', [...siteIds])
    .execute();
}

export async function visibleNodes(
  trx: Kysely<DB>,
  nodeIds: readonly string[],
): Promise<{ id: string; site_id: string }[]> {
  if (!nodeIds.length) return [];
  return trx
    .selectFrom('nodes')
    .select(['id', 'site_id'])
    .where('id', 'in', [...nodeIds])
    .execute();
}
