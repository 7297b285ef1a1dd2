// The lookups behind the code-level access checks (access.ts). They run on hub.db, as the table
// owner: the check decides what the actor may see, so it must see every row to decide.
import type { Kysely } from 'kysely';
import type { DB } from '../storage/schema.ts';

export async function orgSiteIds(db: Kysely<DB>, orgId: string): Promise<string[]> {
  const rows = await db.selectFrom('sites').select('id').where('org_id', '=', orgId).execute();
  return rows.map((r) => r.id);
}

export async function siteExists(db: Kysely<DB>, siteId: string): Promise<boolean> {
  const row = await db.selectFrom('sites').select('id').where('id', '=', siteId).executeTakeFirst();
  return row !== undefined;
}

export function nodeSite(db: Kysely<DB>, nodeId: string) {
  return db.selectFrom('nodes').select(['id', 'site_id']).where('id', '=', nodeId).executeTakeFirst();
}
