// Alerts raised by rules on sites and nodes: open → acknowledged → resolved.
import { request } from './http.ts';

export interface Alert {
  id: string;
  siteId: string | null;
  nodeId: string | null;
  rule: string;
  severity: 'info' | 'warning' | 'critical';
  state: 'open' | 'acknowledged' | 'resolved';
  message: string;
  openedAt: string | null;
}

interface AlertRow {
  id: string;
  site_id: string | null;
  node_id: string | null;
  rule: string;
  severity: Alert['severity'];
  state: Alert['state'];
  message: string;
  opened_at: string | null;
}

const view = (r: AlertRow): Alert => ({
  id: r.id,
  siteId: r.site_id,
  nodeId: r.node_id,
  rule: r.rule,
  severity: r.severity,
  state: r.state,
  message: r.message,
  openedAt: r.opened_at,
});

export interface AlertFilter {
  siteId?: string;
  /** 'active' means open or acknowledged. */
  state?: 'open' | 'acknowledged' | 'resolved' | 'active';
  severity?: Alert['severity'];
  limit?: number;
}

export const alertsApi = {
  list: async (filter: AlertFilter = {}) =>
    (
      await request<AlertRow[]>('/alerts', {
        query: {
          siteId: filter.siteId,
          state: filter.state,
          severity: filter.severity,
          limit: filter.limit,
        },
      })
    ).map(view),
  /** Mutes one rule on one site until a given instant: no new alerts of it meanwhile. */
  mute: (siteId: string, rule: string, until: string) =>
    request<{ siteId: string; rule: string; until: string }>(
      `/sites/${encodeURIComponent(siteId)}/alert-mutes`,
      { body: { rule, until } },
    ),
  ack: async (alertId: string) =>
    view(await request<AlertRow>(`/alerts/${encodeURIComponent(alertId)}/acknowledge`, { body: {} })),
  resolve: async (alertId: string) =>
    view(await request<AlertRow>(`/alerts/${encodeURIComponent(alertId)}/resolve`, { body: {} })),
};
