// The fleet overview and the enrollment codes list: scope (hub.siteScope, grants included) and
// role checks, the health rule, and the answers' shape. SQL is in fleet.repository.ts.
import { WattfleetError } from '@wattfleet/protocol';
import { appSiteScope, appSiteScopeResolved } from '../auth/access.ts';
import type { Actor } from '../auth/actor.ts';
import type { HubContext } from '../context.ts';
import { withTenant, withTenantRead } from '../identity/tenant.ts';
import { controlPlaneConfig } from '../mqtt/config.ts';
import { isRevoked } from '../nodes/enrollment.service.ts';
import { managesEnrollment } from '../nodes/nodes.service.ts';
import { fleetRows, listEnrollmentCodes } from './fleet.repository.ts';
import type { CodeListQuery, EnrollmentCodeRow, FleetSiteRow } from './fleet.schema.ts';
import { fleetHealth, OFFLINE_RULE, type Severity, worstSeverity } from './fleet-health.ts';

export class FleetService {
  constructor(private readonly hub: HubContext) {}

  /** Every site the actor may see (or only `site`), with node counts, alerts and health. */
  async sites(actor: Actor, site: string | undefined): Promise<FleetSiteRow[]> {
    const hub = this.hub;
    const { scope: visible, resolved } = await appSiteScopeResolved(hub, actor, 'read');
    const scope = site ? (visible === 'all' || visible.includes(site) ? [site] : []) : visible;
    if (scope !== 'all' && scope.length === 0) return [];
    const { offlineAfterS } = controlPlaneConfig(hub.config);
    // The fleet table may lag by the replication delay: the read replica when configured.
    const { sites, nodes, alerts } = await withTenantRead(
      hub,
      actor,
      (trx) => fleetRows(trx, scope, offlineAfterS),
      { resolved },
    );

    const nodesBySite = new Map<string, typeof nodes>();
    for (const n of nodes) {
      const list = nodesBySite.get(n.site_id) ?? [];
      list.push(n);
      nodesBySite.set(n.site_id, list);
    }
    const alertsBySite = new Map<string, { count: number; offline: number; severities: Severity[] }>();
    for (const a of alerts) {
      const entry = alertsBySite.get(a.site_id) ?? { count: 0, offline: 0, severities: [] };
      entry.count += Number(a.n);
      if (a.rule === OFFLINE_RULE) entry.offline += Number(a.n);
      entry.severities.push(a.severity);
      alertsBySite.set(a.site_id, entry);
    }

    return sites.map((s) => {
      const list = nodesBySite.get(s.id) ?? [];
      // Deactivated nodes are out of service on purpose: they count for nothing.
      const active = list.filter((n) => n.active);
      const counts = { online: 0, offline: 0, unknown: 0, total: active.length };
      let last: Date | null = null;
      for (const n of active) {
        counts[n.status] += 1;
        if (n.last_seen_at && (!last || n.last_seen_at > last)) last = n.last_seen_at;
      }
      const a = alertsBySite.get(s.id) ?? { count: 0, offline: 0, severities: [] };
      return {
        id: s.id,
        name: s.name,
        timezone: s.timezone,
        status: s.status,
        orgId: s.org_id,
        installerOrg: s.installer_org_id
          ? { id: s.installer_org_id, name: s.installer_name ?? s.installer_org_id }
          : null,
        nodes: counts,
        nodeList: list.map((n) => ({
          id: n.id,
          name: n.name,
          status: n.status,
          active: n.active,
          agentVersion: n.agent_version,
          // False for a node that may look alive (HTTP uploads) but has no MQTT session.
          controlChannel: Boolean(n.control_channel),
        })),
        lastCommunication: last ? last.toISOString() : null,
        openAlerts: a.count,
        worstSeverity: worstSeverity(a.severities),
        health: fleetHealth({
          siteStatus: s.status,
          openAlerts: a.count,
          openOfflineAlerts: a.offline,
          nodes: counts,
          lastCommunication: last,
        }),
      };
    });
  }

  /** Enrollment codes of the sites the actor may enroll nodes on, newest first, never the code. */
  async enrollmentCodes(actor: Actor, q: CodeListQuery): Promise<EnrollmentCodeRow[]> {
    // The same people who may create codes (POST /sites/{id}/enrollment-codes) may list them.
    if (!managesEnrollment(actor))
      throw new WattfleetError('WF_FORBIDDEN', 'Only admins and installers manage enrollment codes');
    const scope = await appSiteScope(this.hub, actor, 'write');
    if (scope !== 'all' && scope.length === 0) return [];
    const now = new Date();
    const rows = await withTenant(
      this.hub,
      actor,
      (trx) =>
        listEnrollmentCodes(trx, {
          scope,
          limit: q.limit ?? 100,
          now,
          ...(q.siteId ? { siteId: q.siteId } : {}),
          ...(q.state ? { state: q.state } : {}),
        }),
      'write',
    );
    return rows.map((r) => ({
      id: r.id,
      siteId: r.site_id,
      siteName: r.site_name,
      nodeName: r.node_name,
      createdBy: r.created_by,
      createdAt: r.created_at.toISOString(),
      expiresAt: r.expires_at.toISOString(),
      usedAt: r.used_at?.toISOString() ?? null,
      revokedAt: r.revoked_at?.toISOString() ?? null,
      nodeId: r.node_id,
      state: r.used_at ? 'used' : isRevoked(r) ? 'revoked' : r.expires_at <= now ? 'expired' : 'pending',
    }));
  }
}
