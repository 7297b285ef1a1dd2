// Which sites an actor may see or change, with installer grants. Replaces the spine's
// org-owned resolver as `hub.siteScope`; row-level security receives the same list.
import type { Kysely } from 'kysely';
import { type AccessMode, type Actor, isFleetAdmin } from '../auth/actor.ts';
import type { SiteScopeResolver } from '../context.ts';
import type { DB } from '../storage/schema.ts';
import { orgSiteIds, reachableSiteIds } from './scope.repository.ts';

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
  if (actor.role === 'installer' || actor.role === 'org_admin') return reachableSiteIds(db, actor.orgId);
  return orgSiteIds(db, actor.orgId);
};

export function scopeIncludes(scope: 'all' | string[], siteId: string): boolean {
  return scope === 'all' || scope.includes(siteId);
}
