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

export const alertsApi = {
  /** state 'active' means open or acknowledged. */
  list: async (filter: { siteId?: string; state?: 'open' | 'acknowledged' | 'resolved' | 'active' } = {}) =>
    (await request<AlertRow[]>('/alerts', { query: { siteId: filter.siteId, state: filter.state } })).map(
      view,
    ),
  ack: async (alertId: string) =>
    view(await request<AlertRow>(`/alerts/${encodeURIComponent(alertId)}/acknowledge`, { body: {} })),
  resolve: async (alertId: string) =>
    view(await request<AlertRow>(`/alerts/${encodeURIComponent(alertId)}/resolve`, { body: {} })),
};
