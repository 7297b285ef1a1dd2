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
  /** Grid carbon intensity, g CO₂/kWh; null = not set (the hub then gives no CO₂ figures). */
  grid_intensity_g_per_kwh: number | null;
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

/** What PATCH /sites/:id changes (only the fields sent). */
export interface SitePatch {
  name?: string;
  /** An IANA zone; the hub refuses one it does not know. */
  timezone?: string;
  latitude?: number | null;
  longitude?: number | null;
  /** Only the owner org's admin or a fleet admin may change it (the hub checks). */
  installerOrgId?: string | null;
  systemKw?: number | null;
  /** g CO₂/kWh, 0–2000 (the hub checks); null clears it. */
  gridIntensityGPerKwh?: number | null;
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
  patch: (id: string, patch: SitePatch) =>
    request<Site>(`/sites/${encodeURIComponent(id)}`, { method: 'PATCH', body: patch }),
  createEnrollmentCode: (siteId: string, opts: { nodeName?: string; ttlMinutes?: number } = {}) =>
    request<EnrollmentCode>(`/sites/${encodeURIComponent(siteId)}/enrollment-codes`, {
      body: {
        ...(opts.nodeName ? { nodeName: opts.nodeName } : {}),
        ...(opts.ttlMinutes ? { ttlMinutes: opts.ttlMinutes } : {}),
      },
    }),
};
