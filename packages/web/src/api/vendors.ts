// Vendor clouds as virtual nodes (hub src/vendors): connect a system with a connection test
// first, its health, uptime and connection log, credential rotation, removal (its data stays).
// Shapes follow the hub's vendors.schema.ts; credentials only ever travel in request bodies.
import { request } from './http.ts';

export type VendorName = 'select_live' | 'enphase' | 'blueprint';

export interface SystemInfo {
  externalId: string;
  name?: string;
  model?: string;
  serial?: string;
  sizeW?: number;
  timezone?: string;
}

export type AccountHealth = 'ok' | 'failing' | 'rejected' | 'new';

export interface VendorAccount {
  id: string;
  siteId: string;
  nodeId: string;
  vendor: VendorName;
  name: string;
  externalId: string;
  status: 'active' | 'credentials_rejected' | 'reauthorise';
  statusMessage: string | null;
  settings: Record<string, unknown>;
  systemInfo: SystemInfo;
  health: AccountHealth;
  breaker: 'closed' | 'open' | 'half_open';
  consecutiveFailures: number;
  /** Polling paused by a user; nothing is polled until resumed. */
  paused: boolean;
  lastPollAt: string | null;
  /** Due time of the next poll (null while paused or while the credentials are rejected). */
  nextPollAt: string | null;
  /** The last poll's outcome code, as in the connection log. */
  lastOutcome: string | null;
  lastSuccessAt: string | null;
  failingSince: string | null;
  lastError: string | null;
  notices: { name: string; message: string; since: number }[];
  uptime: { dayPct: number | null; weekPct: number | null };
  createdAt: string;
}

export interface ConnectionLogEntry {
  at: string;
  outcome: string;
  httpStatus: number | null;
  error: string | null;
  responseMs: number | null;
}

/** What the owner enters: the vendor's system number and that vendor's credentials. */
export type Connection =
  | { vendor: 'select_live'; externalId: string; credentials: { email: string; password: string } }
  | { vendor: 'enphase'; externalId: string; credentials: { grant: string } }
  | { vendor: 'blueprint'; externalId: string; credentials: { endpoint: string; token: string } };

export interface EnphaseGrant {
  grant: string;
  systems: { externalId: string; name?: string; timezone?: string; status?: string }[];
}

export const vendorsApi = {
  vendors: () => request<{ vendor: VendorName; label: string }[]>('/vendors'),
  list: (siteId: string, signal?: AbortSignal) =>
    request<VendorAccount[]>(`/sites/${siteId}/vendor-accounts`, { signal }),
  /** Every account the user may see: fleet-wide for admins. */
  listAll: (signal?: AbortSignal) => request<VendorAccount[]>('/vendor-accounts', { signal }),
  test: (siteId: string, connection: Connection) =>
    request<SystemInfo>(`/sites/${siteId}/vendor-accounts/test`, { body: connection }),
  create: (siteId: string, connection: Connection & { name?: string }) =>
    request<VendorAccount>(`/sites/${siteId}/vendor-accounts`, { body: connection }),
  log: (id: string, limit = 50) =>
    request<ConnectionLogEntry[]>(`/vendor-accounts/${id}/log`, { query: { limit } }),
  rename: (id: string, name: string) =>
    request<VendorAccount>(`/vendor-accounts/${id}`, { method: 'PATCH', body: { name } }),
  setPaused: (id: string, paused: boolean) =>
    request<VendorAccount>(`/vendor-accounts/${id}`, { method: 'PATCH', body: { paused } }),
  rotate: (id: string, credentials: Record<string, string>) =>
    request<VendorAccount>(`/vendor-accounts/${id}/credentials`, { method: 'PUT', body: { credentials } }),
  remove: (id: string) => request<void>(`/vendor-accounts/${id}`, { method: 'DELETE' }),
  enphaseAuthorizeUrl: (redirectUri?: string) =>
    request<{ url: string; redirectUri: string }>('/vendors/enphase/authorize-url', {
      query: { redirectUri },
    }),
  enphaseAuthorize: (siteId: string, code: string, redirectUri?: string) =>
    request<EnphaseGrant>(`/sites/${siteId}/vendor-accounts/enphase/authorize`, {
      body: { code, ...(redirectUri ? { redirectUri } : {}) },
    }),
};
