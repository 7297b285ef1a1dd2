// Users and site grants (identity module), for the admin pages.
import type { Role } from '@wattfleet/protocol';
import { request } from './http.ts';

export interface User {
  id: string;
  orgId: string;
  email: string;
  name: string | null;
  role: Role;
  disabled: boolean;
  mustChangePassword: boolean;
  lastLoginAt: string | null;
  createdAt: string;
}

export interface Grant {
  id: string;
  siteId: string;
  orgId: string;
  createdAt: string;
  expiresAt: string | null;
  revokedAt: string | null;
  active: boolean;
}

export const usersApi = {
  list: () => request<User[]>('/users'),
  create: (u: { orgId: string; email: string; role: Role; name?: string; password?: string }) =>
    request<User & { temporaryPassword?: string }>('/users', { body: u }),
  setDisabled: (id: string, disabled: boolean) =>
    request<User>(`/users/${encodeURIComponent(id)}`, { method: 'PATCH', body: { disabled } }),
  setRole: (id: string, role: Role) =>
    request<User>(`/users/${encodeURIComponent(id)}`, { method: 'PATCH', body: { role } }),
  /** A generated temporary password (shown once); the hub ends every session of the user. */
  resetPassword: (id: string) =>
    request<{ temporaryPassword: string; mustChangePassword: boolean }>(
      `/users/${encodeURIComponent(id)}/reset-password`,
      { body: {} },
    ),
  grants: (siteId: string) => request<Grant[]>(`/sites/${encodeURIComponent(siteId)}/grants`),
  grant: (siteId: string, body: { orgId: string; expiresAt?: string | null }) =>
    request<Grant>(`/sites/${encodeURIComponent(siteId)}/grants`, { body }),
  revoke: (siteId: string, grantId: string) =>
    request<void>(`/sites/${encodeURIComponent(siteId)}/grants/${encodeURIComponent(grantId)}`, {
      method: 'DELETE',
    }),
};

export interface AuditItem {
  id: number;
  at: string;
  actorType: string;
  actorId: string | null;
  action: string;
  targetType: string | null;
  targetId: string | null;
  result: string;
  sourceIp: string | null;
  details: unknown;
}

export const auditApi = {
  list: (q: Record<string, string | number | undefined>) =>
    request<{ items: AuditItem[]; nextCursor: number | null }>('/audit', { query: q }),
};
