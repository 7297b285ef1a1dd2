// The only place site SQL lives. Callers pass the Kysely handle: a tenant transaction
// (withTenant, so row-level security applies) for what users ask, hub.db (or a plain
// transaction) for what runs as the table owner.
import type { Kysely, Updateable } from 'kysely';
import { controlChannel } from '../nodes/control-channel.ts';
import type { DB, SitesTable } from '../storage/schema.ts';
import type { SiteBody } from './sites.schema.ts';

export async function insertSite(db: Kysely<DB>, site: SiteBody) {
  return db
    .insertInto('sites')
    .values({
      org_id: site.orgId,
      installer_org_id: site.installerOrgId ?? null,
      name: site.name,
      timezone: site.timezone,
      latitude: site.latitude ?? null,
      longitude: site.longitude ?? null,
      system_kw: site.systemKw ?? null,
      grid_intensity_g_per_kwh: site.gridIntensityGPerKwh ?? null,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** Sites by name; only those in `scope` unless it is 'all'. */
export async function listSites(db: Kysely<DB>, scope: 'all' | string[]) {
  let q = db.selectFrom('sites').selectAll().orderBy('name').orderBy('id');
  if (scope !== 'all') q = q.where('id', 'in', scope);
  return q.execute();
}

export async function getSite(db: Kysely<DB>, id: string) {
  return db.selectFrom('sites').selectAll().where('id', '=', id).executeTakeFirst();
}

/** The owner org of a site that must exist (checked before). */
export async function siteOrgId(db: Kysely<DB>, id: string): Promise<string> {
  const site = await db.selectFrom('sites').select('org_id').where('id', '=', id).executeTakeFirstOrThrow();
  return site.org_id;
}

export type SiteUpdate = Updateable<SitesTable>;

/** The changed row (the row as it is for an empty patch), or undefined when it does not exist. */
export async function updateSite(db: Kysely<DB>, id: string, patch: SiteUpdate) {
  return Object.keys(patch).length > 0
    ? db.updateTable('sites').set(patch).where('id', '=', id).returningAll().executeTakeFirst()
    : getSite(db, id);
}

/** The nodes of a site for its detail page, with whether commands can reach them now. */
export async function siteNodes(db: Kysely<DB>, siteId: string, offlineAfterS: number) {
  return db
    .selectFrom('nodes')
    .select([
      'id',
      'name',
      'kind',
      'active',
      'status',
      'last_seen_at',
      'agent_version',
      controlChannel(offlineAfterS).as('control_channel'),
    ])
    .where('site_id', '=', siteId)
    .orderBy('name')
    .execute();
}
