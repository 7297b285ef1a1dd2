// Access decisions in code (row-level security enforces them again in the database).
import { WattfleetError } from '@wattfleet/protocol';
import type { Kysely } from 'kysely';
import type { HubContext, SiteScopeResolver } from '../context.ts';
import type { DB } from '../storage/schema.ts';
import { nodeSite, orgSiteIds, siteExists } from './access.repository.ts';
import { type AccessMode, type Actor, isFleetAdmin } from './actor.ts';

// Defined next to Actor so context.ts (which needs it for SiteScopeResolver) does not import this
// module, which imports context.ts.
export type { AccessMode } from './actor.ts';

/** Before grants exist: admins see all, users their org's sites, nodes their own site. */
export const orgOwnedSiteScope: SiteScopeResolver = async (db: Kysely<DB>, actor: Actor) => {
  if (isFleetAdmin(actor)) return 'all';
  if (actor.kind === 'node') return [actor.siteId];
  if (actor.kind === 'user') {
    return orgSiteIds(db, actor.orgId);
  }
  return [];
};

/**
 * The code-level filter of list routes: the actor's sites, or 'all' (also when a test switched the
 * application's checks off to exercise row-level security alone).
 */
export async function appSiteScope(
  hub: HubContext,
  actor: Actor,
  mode: AccessMode = 'read',
): Promise<'all' | string[]> {
  if (hub.testOnlyBypassAppScoping) return 'all';
  return hub.siteScope(hub.db, actor, mode);
}

/**
 * appSiteScope, plus what hub.siteScope answered (undefined when the checks are bypassed): for
 * withTenant to reuse in the same request instead of resolving the scope again.
 */
export async function appSiteScopeResolved(
  hub: HubContext,
  actor: Actor,
  mode: AccessMode = 'read',
): Promise<{ scope: 'all' | string[]; resolved: 'all' | string[] | undefined }> {
  if (hub.testOnlyBypassAppScoping) return { scope: 'all', resolved: undefined };
  const resolved = await hub.siteScope(hub.db, actor, mode);
  return { scope: resolved, resolved };
}

/**
 * Throws 404 (not 403: the existence of foreign sites is not disclosed) unless the actor may access
 * the site. Returns the scope it resolved (hub.siteScope in `mode`) so withTenant can reuse it in
 * the same request instead of asking again; undefined when the application's checks are bypassed.
 */
export async function assertSiteAccess(
  hub: HubContext,
  actor: Actor,
  siteId: string,
  mode: AccessMode = 'read',
): Promise<'all' | string[] | undefined> {
  if (hub.testOnlyBypassAppScoping) return undefined;
  const scope = await hub.siteScope(hub.db, actor, mode);
  if (scope !== 'all') {
    if (!scope.includes(siteId)) throw new WattfleetError('WF_NOT_FOUND', 'Site not found');
    return scope;
  }
  // Fleet admins may see every site, but only sites that exist.
  if (!(await siteExists(hub.db, siteId))) throw new WattfleetError('WF_NOT_FOUND', 'Site not found');
  return scope;
}

/** Resolves a node's site and checks access to it; 404 when missing or not visible. */
export async function assertNodeAccess(
  hub: HubContext,
  actor: Actor,
  nodeId: string,
  mode: AccessMode = 'read',
) {
  const node = await nodeSite(hub.db, nodeId);
  if (!node) throw new WattfleetError('WF_NOT_FOUND', 'Node not found');
  await assertSiteAccess(hub, actor, node.site_id, mode);
  return node;
}
