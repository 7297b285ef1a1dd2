// Identity: password login, session restore, password change, and the static admin token for
// operators (no user row). Tokens stay out of storage (api/http.ts); what is remembered in
// localStorage is only who was signed in (no secret), so the login page can say that a session
// ended rather than just appearing.
import type { Role } from '@wattfleet/protocol';
import { ApiError, getTokens, refreshOnce, request, setTokens } from './http.ts';

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
  // The refresh token comes back as an httpOnly cookie, never in the body.
  const answer = await request<LoginAnswer>('/auth/login', {
    body: { email, password, refreshIn: 'cookie' },
    noAuth: true,
  });
  remember(answer.user);
  setTokens({ accessToken: answer.accessToken, kind: 'session' });
  return answer.user;
}

/**
 * After a reload: a fresh access token from the refresh cookie, then who it belongs to. Null when
 * there is no live session (no cookie, expired, revoked, or an admin token that lived in memory).
 */
export async function restoreSession(): Promise<SessionUser | null> {
  if (!(await refreshOnce())) return null;
  try {
    const me = await request<SessionUser>('/auth/me');
    remember(me);
    return me;
  } catch {
    setTokens(null);
    return null;
  }
}

/**
 * The configured admin token is a fleet admin without a user row. It is verified by making
 * one authenticated call; a wrong token answers 401 and nothing is kept.
 */
export async function loginWithToken(token: string): Promise<SessionUser> {
  setTokens({ accessToken: token, kind: 'admin-token' });
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
  // The hub also clears the refresh cookie.
  if (getTokens()?.kind === 'session')
    await request('/auth/logout', { method: 'POST' }).catch(() => undefined);
  remember(null);
  setTokens(null);
}
