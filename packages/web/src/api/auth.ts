// Identity: password login, refresh, password change, and the static admin token for operators
// (no user row).
import type { Role } from '@wattfleet/protocol';
import { ApiError, request, setTokens } from './http.ts';

export interface SessionUser {
  id: string;
  email: string;
  role: Role;
  orgId: string | null;
  /** Set after an admin reset: the portal asks for a new password first. */
  mustChangePassword?: boolean;
}

interface LoginAnswer {
  accessToken: string;
  refreshToken: string;
  user: SessionUser;
}

const USER_KEY = 'wattfleet.user';

export function storedUser(): SessionUser | null {
  try {
    const raw = localStorage.getItem(USER_KEY);
    return raw ? (JSON.parse(raw) as SessionUser) : null;
  } catch {
    return null;
  }
}

function remember(user: SessionUser | null): void {
  if (user) localStorage.setItem(USER_KEY, JSON.stringify(user));
  else localStorage.removeItem(USER_KEY);
}

export async function login(email: string, password: string): Promise<SessionUser> {
  const answer = await request<LoginAnswer>('/auth/login', { body: { email, password }, noAuth: true });
  setTokens({ accessToken: answer.accessToken, refreshToken: answer.refreshToken });
  remember(answer.user);
  return answer.user;
}

/**
 * The configured admin token is a fleet admin without a user row. It is verified by making
 * one authenticated call; a wrong token answers 401 and nothing is kept.
 */
export async function loginWithToken(token: string): Promise<SessionUser> {
  setTokens({ accessToken: token });
  try {
    await request<unknown[]>('/sites');
  } catch (err) {
    setTokens(null);
    throw err instanceof ApiError && err.status === 401
      ? new ApiError(401, err.code, 'That token was not accepted')
      : err;
  }
  const user: SessionUser = { id: 'token', email: 'admin token', role: 'admin', orgId: null };
  remember(user);
  return user;
}

/**
 * Changes the signed-in user's password. The hub ends every other session of the user and keeps
 * this one, so the tokens in hand stay valid.
 */
export async function changePassword(
  currentPassword: string,
  newPassword: string,
): Promise<SessionUser | null> {
  await request<void>('/auth/password', { body: { currentPassword, newPassword } });
  const user = storedUser();
  if (!user) return null;
  const updated = { ...user, mustChangePassword: false };
  remember(updated);
  return updated;
}

export async function logout(): Promise<void> {
  // Revoke the server session when there is one (the admin token has none); leave regardless.
  if (storedUser()?.id !== 'token') await request('/auth/logout', { method: 'POST' }).catch(() => undefined);
  remember(null);
  setTokens(null);
}
