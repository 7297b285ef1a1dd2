// Portal-facing fleet routes (hub src/fleet): the fleet overview, agent config validation and a
// node's current config, enrollment codes.
import { ApiError, request } from './http.ts';

export type FleetHealth = 'Alerting' | 'Offline' | 'Commissioning' | 'Healthy';

export interface FleetNode {
  id: string;
  name: string;
  status: 'unknown' | 'online' | 'offline';
  active: boolean;
  agentVersion: string | null;
  /** The node has a live MQTT session (current heartbeats): commands can reach it. */
  controlChannel: boolean;
}

export interface FleetSite {
  id: string;
  name: string;
  timezone: string;
  status: 'commissioning' | 'active' | 'decommissioned';
  orgId: string;
  installerOrg: { id: string; name: string } | null;
  nodes: { online: number; offline: number; unknown: number; total: number };
  nodeList: FleetNode[];
  lastCommunication: string | null;
  openAlerts: number;
  worstSeverity: 'info' | 'warning' | 'critical' | null;
  health: FleetHealth;
}

export interface ConfigProblem {
  path: string;
  message: string;
  line: number | null;
}

/** An enrollment code as listed (the code itself is only ever shown when it is created). */
export interface EnrollmentCodeInfo {
  siteId: string;
  siteName: string;
  nodeName: string | null;
  createdBy: string | null;
  createdAt: string;
  expiresAt: string;
  usedAt: string | null;
  nodeId: string | null;
  state: 'pending' | 'used' | 'expired';
}

export const fleetApi = {
  /** Every visible site, or only `site` (its page shows the fleet table's health word). */
  sites: (signal?: AbortSignal, site?: string) =>
    request<FleetSite[]>('/fleet/sites', {
      ...(signal ? { signal } : {}),
      ...(site ? { query: { site } } : {}),
    }),
  validateConfig: (config: string) =>
    request<{
      ok: boolean;
      problems: ConfigProblem[];
      migrations: string[];
      /** Valid configs only: where the node will connect and how many sources it will read. */
      summary?: { hubUrl: string; sources: number };
    }>('/agent-config/validate', {
      body: { config },
    }),
  enrollmentCodes: (query: { siteId?: string; state?: 'pending' | 'used' | 'expired' | 'all' } = {}) =>
    request<EnrollmentCodeInfo[]>('/fleet/enrollment-codes', { query }),
  /** Null when nothing was pushed to the node yet (404). */
  nodeConfig: async (nodeId: string) => {
    try {
      return await request<{ nodeId: string; commandId: string; appliedAt: string; config: string }>(
        `/nodes/${encodeURIComponent(nodeId)}/config`,
      );
    } catch (err) {
      if (err instanceof ApiError && err.status === 404 && err.message.startsWith('No config')) return null;
      throw err;
    }
  },
};
