// Which of the requested sites and nodes a realtime subscriber may follow. Two fences, as in the
// HTTP routes: the caller's site scope in code, and the lookups themselves run as the tenant
// (withTenant), so row-level security hides another tenant's site or node even if the code-level
// check were switched off or wrong.
import { appSiteScope } from '../auth/access.ts';
import type { Actor } from '../auth/actor.ts';
import type { HubContext } from '../context.ts';
import { withTenant } from '../identity/tenant.ts';
import { visibleNodes, visibleSites } from './realtime.repository.ts';

export interface ResolvedTargets {
  siteIds: string[];
  /** Allowed nodes with their site. */
  nodes: Map<string, string>;
  refused: { siteIds: string[]; nodeIds: string[] };
}

export async function resolveTargets(
  hub: HubContext,
  actor: Actor,
  siteIds: readonly string[],
  nodeIds: readonly string[],
): Promise<ResolvedTargets> {
  const scope = await appSiteScope(hub, actor, 'read');
  const inScope = (siteId: string) => scope === 'all' || scope.includes(siteId);
  const { sites, nodes } = await withTenant(hub, actor, async (trx) => ({
    sites: await visibleSites(trx, siteIds),
    nodes: await visibleNodes(trx, nodeIds),
  }));
  const shown = new Set(sites.map((s) => s.id));
  const siteOfNode = new Map(nodes.map((n) => [n.id, n.site_id]));
  const out: ResolvedTargets = { siteIds: [], nodes: new Map(), refused: { siteIds: [], nodeIds: [] } };
  for (const id of siteIds) {
    if (shown.has(id) && inScope(id)) out.siteIds.push(id);
    else out.refused.siteIds.push(id);
  }
  for (const id of nodeIds) {
    const site = siteOfNode.get(id);
    if (site && inScope(site)) out.nodes.set(id, site);
    else out.refused.nodeIds.push(id);
  }
  return out;
}
