// Alerts raised by rules on sites and nodes: open → acknowledged → resolved.
import { ApiError, request } from './http.ts';

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

function normalise(raw: Record<string, unknown>): Alert {
  const pick = (...keys: string[]) => keys.map((k) => raw[k]).find((v) => v !== undefined);
  return {
    id: String(raw.id),
    siteId: (pick('siteId', 'site_id') as string | null) ?? null,
    nodeId: (pick('nodeId', 'node_id') as string | null) ?? null,
    rule: String(pick('rule', 'ruleKey', 'rule_key', 'type', 'kind') ?? 'alert'),
    severity: (pick('severity') as Alert['severity']) ?? 'warning',
    state: (pick('state', 'status') as Alert['state']) ?? 'open',
    message: String(pick('message', 'title', 'summary') ?? ''),
    openedAt: (pick('openedAt', 'opened_at', 'createdAt', 'created_at') as string | null) ?? null,
  };
}

export const alertsApi = {
  /**
   * Open and acknowledged alerts; an empty list when this hub has no alerts module yet, so the
   * portal degrades to "no alerts" instead of failing.
   */
  list: async (filter: { siteId?: string; state?: string } = {}): Promise<Alert[]> => {
    try {
      const answer = await request<Record<string, unknown>[] | { alerts: Record<string, unknown>[] }>(
        filter.siteId ? `/sites/${encodeURIComponent(filter.siteId)}/alerts` : '/alerts',
        { query: { state: filter.state } },
      );
      const rows = Array.isArray(answer) ? answer : (answer.alerts ?? []);
      return rows.map(normalise);
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) return [];
      throw err;
    }
  },
  ack: (alertId: string) =>
    request<unknown>(`/alerts/${encodeURIComponent(alertId)}/ack`, { method: 'POST' }),
};
