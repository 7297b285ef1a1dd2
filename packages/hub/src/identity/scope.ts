// Which sites an actor may see or change, with installer grants. Replaces the spine's
// org-owned resolver as `hub.siteScope`; row-level security receives the same list.
import { type Kysely, sql } from 'kysely';
import { type AccessMode, type Actor, isFleetAdmin } from '../auth/actor.ts';
import type { SiteScopeResolver } from '../context.ts';
import type { DB } from '../storage/schema.ts';
import './schema.ts';

/**
 * admin → all; owner/viewer → their org's sites (viewers never in write mode);
 * installer and org_admin → sites they install (installer_org_id), sites of their own org, and
 * sites with an unrevoked, unexpired grant to their org (for a household's org admin that is
 * simply the household's sites); node → its own site.
 */
export const grantsSiteScope: SiteScopeResolver = async (db: Kysely<DB>, actor: Actor, mode: AccessMode) => {
  if (isFleetAdmin(actor)) return 'all';
  if (actor.kind === 'node') return [actor.siteId];
  if (actor.kind !== 'user') return [];
  if (actor.role === 'viewer' && mode === 'write') return [];
  if (actor.role === 'installer' || actor.role === 'org_admin') {
    const rows = await db
      .selectFrom('sites')
      .select('id')
      .where((eb) =>
        eb.or([
          eb('org_id', '=', actor.orgId),
          eb('installer_org_id', '=', actor.orgId),
          eb(
            'id',
            'in',
            eb
              .selectFrom('site_grants')
              .select('site_id')
              .where('grantee_org_id', '=', actor.orgId)
              .where('revoked_at', 'is', null)
              .where((g) => g.or([g('expires_at', 'is', null), g('expires_at', '>', sql<Date>`now()`)])),
          ),
        ]),
      )
      .execute();
    return rows.map((r) => r.id);
  }
  const rows = await db.selectFrom('sites').select('id').where('org_id', '=', actor.orgId).execute();
  return rows.map((r) => r.id);
};

export function scopeIncludes(scope: 'all' | string[], siteId: string): boolean {
  return scope === 'all' || scope.includes(siteId);
}
