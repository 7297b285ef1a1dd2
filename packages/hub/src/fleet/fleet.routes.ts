// Fleet overview in one request: every site the caller may see with node counts, last
// communication, open alerts and a derived health, so the installer table never fans out to one
// call per site. Scope comes from hub.siteScope (grants included) and is applied in SQL, and the
// queries run as the tenant so row-level security filters them a second time.
import type { FastifyInstance } from 'fastify';
import Type from 'typebox';
import { appSiteScope } from '../auth/access.ts';
import { actorOf } from '../auth/authenticate.ts';
import { withTenant } from '../identity/tenant.ts';
import { controlPlaneConfig } from '../mqtt/config.ts';
import { controlChannel } from '../nodes/control-channel.ts';
import { type FleetHealth, fleetHealth, OFFLINE_RULE, type Severity, worstSeverity } from './fleet-health.ts';

export interface FleetSiteRow {
  id: string;
  name: string;
  timezone: string;
  status: 'commissioning' | 'active' | 'decommissioned';
  orgId: string;
  installerOrg: { id: string; name: string } | null;
  nodes: { online: number; offline: number; unknown: number; total: number };
  nodeList: {
    id: string;
    name: string;
    status: string;
    active: boolean;
    agentVersion: string | null;
    controlChannel: boolean;
  }[];
  lastCommunication: string | null;
  openAlerts: number;
  worstSeverity: Severity | null;
  health: FleetHealth;
}

export async function fleetRoutes(app: FastifyInstance): Promise<void> {
  const hub = app.hub;
  app.get(
    '/fleet/sites',
    {
      schema: {
        tags: ['fleet'],
        security: [{ bearer: [] }],
        summary: 'Every visible site with its health',
        // One site's row (its page shows the same health word as the fleet table, from this rule).
        querystring: Type.Object(
          { site: Type.Optional(Type.String({ format: 'uuid' })) },
          { additionalProperties: false },
        ),
      },
      preHandler: app.requireActor,
    },
    async (request): Promise<FleetSiteRow[]> => {
      const actor = actorOf(request);
      const { site } = request.query as { site?: string };
      const visible = await appSiteScope(hub, actor, 'read');
      const scope = site ? (visible === 'all' || visible.includes(site) ? [site] : []) : visible;
      if (scope !== 'all' && scope.length === 0) return [];
      const [sites, nodes, alerts] = await withTenant(hub, actor, async (trx) => {
        let sitesQ = trx
          .selectFrom('sites')
          .leftJoin('orgs as inst', 'inst.id', 'sites.installer_org_id')
          .select([
            'sites.id',
            'sites.name',
            'sites.timezone',
            'sites.status',
            'sites.org_id',
            'sites.installer_org_id',
            'inst.name as installer_name',
          ])
          .orderBy('sites.name');
        let nodesQ = trx
          .selectFrom('nodes')
          .select([
            'id',
            'site_id',
            'name',
            'status',
            'active',
            'last_seen_at',
            'agent_version',
            controlChannel(controlPlaneConfig(hub.config).offlineAfterS).as('control_channel'),
          ])
          .orderBy('name');
        let alertsQ = trx
          .selectFrom('alerts')
          .select(['site_id', 'severity', 'rule', (eb) => eb.fn.countAll<string>().as('n')])
          .where('state', '<>', 'resolved')
          .groupBy(['site_id', 'severity', 'rule']);
        if (scope !== 'all') {
          sitesQ = sitesQ.where('sites.id', 'in', scope);
          nodesQ = nodesQ.where('site_id', 'in', scope);
          alertsQ = alertsQ.where('site_id', 'in', scope);
        }
        // One after the other: a transaction is one connection.
        return [await sitesQ.execute(), await nodesQ.execute(), await alertsQ.execute()] as const;
      });

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
    },
  );
}
