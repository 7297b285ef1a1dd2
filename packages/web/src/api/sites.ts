// Sites and orgs as the hub returns them (database rows, snake_case).
import { request } from './http.ts';

export type OrgKind = 'operator' | 'installer' | 'household';

export interface Org {
  id: string;
  name: string;
  kind: OrgKind;
  created_at: string;
}

export interface Site {
  id: string;
  org_id: string;
  installer_org_id: string | null;
  name: string;
  timezone: string;
  latitude: number | null;
  longitude: number | null;
  system_kw: number | null;
  status: 'commissioning' | 'active' | 'decommissioned';
  created_at: string;
}

export interface SiteNodeSummary {
  id: string;
  name: string;
  kind: 'agent' | 'plug' | 'virtual';
  active: boolean;
  status: 'unknown' | 'online' | 'offline';
  last_seen_at: string | null;
  agent_version: string | null;
  /** The node has a live MQTT session (current heartbeats): commands can reach it. */
  control_channel: boolean;
}

export interface SiteDetail extends Site {
  nodes: SiteNodeSummary[];
}

export interface NewSite {
  orgId: string;
  installerOrgId?: string | null;
  name: string;
  timezone: string;
  latitude?: number;
  longitude?: number;
  systemKw?: number;
}

export interface EnrollmentCode {
  code: string;
  siteId: string;
  nodeId: string | null;
  expiresAt: string;
}

export const sitesApi = {
  list: (signal?: AbortSignal) => request<Site[]>('/sites', signal ? { signal } : {}),
  get: (id: string, signal?: AbortSignal) =>
    request<SiteDetail>(`/sites/${encodeURIComponent(id)}`, signal ? { signal } : {}),
  create: (site: NewSite) => request<Site>('/sites', { body: site }),
  createEnrollmentCode: (siteId: string, opts: { nodeName?: string; ttlMinutes?: number } = {}) =>
    request<EnrollmentCode>(`/sites/${encodeURIComponent(siteId)}/enrollment-codes`, {
      body: {
        ...(opts.nodeName ? { nodeName: opts.nodeName } : {}),
        ...(opts.ttlMinutes ? { ttlMinutes: opts.ttlMinutes } : {}),
      },
    }),
};
