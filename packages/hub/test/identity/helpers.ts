// Test helpers for the identity module: orgs, users and logins through the real HTTP API.
import type { LightMyRequestResponse } from 'fastify';
import type { TestHub } from '../helpers/hub.ts';

export const PASSWORD = 'correct horse battery';

export async function createOrg(
  hub: TestHub,
  kind: 'operator' | 'installer' | 'household',
  name: string = kind,
) {
  const r = await hub.admin('POST', '/api/v1/orgs', { name, kind });
  if (r.statusCode !== 201) throw new Error(`org: ${r.body}`);
  return r.json().id as string;
}

export async function createUser(
  hub: TestHub,
  orgId: string,
  role: 'admin' | 'org_admin' | 'installer' | 'owner' | 'viewer',
  email: string,
  password = PASSWORD,
  mustChangePassword = false,
): Promise<string> {
  // Test users keep the password they were given (a temporary one would lock them to /auth/password).
  const r = await hub.admin('POST', '/api/v1/users', { orgId, role, email, password, mustChangePassword });
  if (r.statusCode !== 201) throw new Error(`user: ${r.body}`);
  return r.json().id as string;
}

export interface Login {
  accessToken: string;
  refreshToken: string;
}

export async function login(hub: TestHub, email: string, password = PASSWORD): Promise<Login> {
  const r = await hub.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email, password } });
  if (r.statusCode !== 200) throw new Error(`login ${email}: ${r.statusCode} ${r.body}`);
  return r.json();
}

export function as(
  hub: TestHub,
  token: string,
  method: string,
  url: string,
  body?: unknown,
): Promise<LightMyRequestResponse> {
  return hub.app.inject({
    method: method as 'GET',
    url,
    headers: { authorization: `Bearer ${token}` },
    ...(body !== undefined ? { payload: body as object } : {}),
  });
}
