// Login sessions: a 15-minute JWT access token plus a rotating refresh token. Only the SHA-256
// of a refresh token is stored. Each refresh spends the presented token and issues a new one in
// the same session (family); presenting a spent token again means it was stolen or replayed, so
// the whole family is revoked. Access tokens carry the session id and are checked against the
// session and user rows on every request: logout, disable and reuse detection end them at once.
// Every ended session is also announced on the hub bus ('session.ended'), so long-lived
// connections (the realtime WebSocket) close at once instead of outliving it.
import { createHash, randomBytes } from 'node:crypto';
import type { JWT } from '@fastify/jwt';
import { type Role, WattfleetError } from '@wattfleet/protocol';
import { audit } from '../audit/audit.ts';
import type { Actor } from '../auth/actor.ts';
import type { HubContext } from '../context.ts';
import { burnPasswordCheck, verifyPassword } from './passwords.ts';
import {
  endSession,
  endUserSessions,
  insertRefreshToken,
  markRefreshed,
  openSession,
  refreshTokenRow,
  sessionRows,
  sessionUser,
  spendRefreshToken,
  userByEmail,
} from './sessions.repository.ts';
import { publicUser } from './users.schema.ts';

export interface IdentityOptions {
  accessTtlS: number;
  refreshTtlS: number;
  /** Injectable clock (ms): tests move it forward to expire tokens without waiting. */
  now: () => number;
}

export const DEFAULT_IDENTITY_OPTIONS: IdentityOptions = {
  accessTtlS: 15 * 60,
  refreshTtlS: 30 * 86_400,
  now: () => Date.now(),
};

export interface TokenPair {
  accessToken: string;
  tokenType: 'Bearer';
  expiresIn: number;
  refreshToken: string;
}

interface AccessClaims {
  sub: string;
  sid: string;
  iat: number;
  exp: number;
}

/** Announced on the hub bus whenever sessions end (logout, reuse, disable, reset, password change). */
export interface SessionEnded {
  userId: string;
  /** The sessions this call revoked (empty when they had already ended). */
  sessionIds: string[];
  reason: string;
  /** Every session of the user ends (disable, reset, password change), not only sessionIds. */
  userWide: boolean;
  /** With userWide: the one session that stays (the password change's own). */
  exceptSessionId?: string;
}

declare module '../context.ts' {
  interface HubEvents {
    'session.ended': SessionEnded;
  }
}

/** What a long-lived connection needs to know about its session on a re-check. */
export interface SessionState {
  userId: string;
  orgId: string;
  role: Role;
  email: string;
  revoked: boolean;
  disabled: boolean;
}

export function hashRefreshToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export class SessionService {
  constructor(
    private readonly hub: HubContext,
    private readonly jwt: JWT,
    readonly options: IdentityOptions,
  ) {}

  private async issue(userId: string, sessionId: string): Promise<TokenPair> {
    const now = this.options.now();
    const accessToken = this.jwt.sign(
      { sub: userId, sid: sessionId },
      { expiresIn: `${this.options.accessTtlS}s`, clockTimestamp: now },
    );
    const refreshToken = randomBytes(32).toString('base64url');
    await insertRefreshToken(this.hub.db, {
      tokenHash: hashRefreshToken(refreshToken),
      sessionId,
      expiresAt: new Date(now + this.options.refreshTtlS * 1000),
    });
    return { accessToken, tokenType: 'Bearer', expiresIn: this.options.accessTtlS, refreshToken };
  }

  async login(email: string, password: string, source: { ip: string; userAgent?: string | undefined }) {
    const db = this.hub.db;
    const normalized = email.trim().toLowerCase();
    const user = await userByEmail(db, normalized);
    if (!user) {
      await burnPasswordCheck(password);
      await audit(db, undefined, {
        action: 'auth.login',
        result: 'failed',
        sourceIp: source.ip,
        details: { email: normalized, reason: 'unknown_email' },
      });
      throw new WattfleetError('WF_BAD_CREDENTIALS');
    }
    const actor = userActor(user);
    if (!(await verifyPassword(user.password_hash, password))) {
      await audit(db, actor, {
        action: 'auth.login',
        targetType: 'user',
        targetId: user.id,
        result: 'failed',
        sourceIp: source.ip,
        details: { reason: 'wrong_password' },
      });
      throw new WattfleetError('WF_BAD_CREDENTIALS');
    }
    if (user.disabled_at) {
      await audit(db, actor, {
        action: 'auth.login',
        targetType: 'user',
        targetId: user.id,
        result: 'denied',
        sourceIp: source.ip,
        details: { reason: 'disabled' },
      });
      throw new WattfleetError('WF_USER_DISABLED');
    }
    const sessionId = await openSession(db, {
      userId: user.id,
      sourceIp: source.ip,
      userAgent: source.userAgent?.slice(0, 300) ?? null,
    });
    const tokens = await this.issue(user.id, sessionId);
    await audit(db, actor, {
      action: 'auth.login',
      targetType: 'user',
      targetId: user.id,
      sourceIp: source.ip,
      details: { sessionId },
    });
    return { ...tokens, user: publicUser(user), mustChangePassword: user.must_change_password };
  }

  async refresh(refreshToken: string, sourceIp: string): Promise<TokenPair> {
    const db = this.hub.db;
    const row = await refreshTokenRow(db, hashRefreshToken(refreshToken));
    if (!row) throw new WattfleetError('WF_TOKEN_INVALID');
    const actor: Actor = {
      kind: 'user',
      userId: row.user_id,
      orgId: row.org_id,
      role: row.role,
      email: row.email,
    };
    if (row.revoked_at) throw new WattfleetError('WF_TOKEN_INVALID');
    if (row.disabled_at) throw new WattfleetError('WF_USER_DISABLED');
    if (row.expires_at.getTime() <= this.options.now())
      throw new WattfleetError('WF_TOKEN_EXPIRED', 'The refresh token has expired');
    // Spend the token atomically: of two concurrent refreshes with the same token, one wins and
    // the other is treated as reuse.
    const spent = !row.used_at && (await spendRefreshToken(db, row.token_hash));
    if (!spent) {
      await this.revokeSession(row.session_id, 'refresh_reuse');
      await audit(db, actor, {
        action: 'auth.refresh_reuse',
        targetType: 'session',
        targetId: row.session_id,
        result: 'denied',
        sourceIp,
      });
      throw new WattfleetError('WF_REFRESH_REUSED');
    }
    await markRefreshed(db, row.session_id);
    return this.issue(row.user_id, row.session_id);
  }

  async revokeSession(sessionId: string, reason: string): Promise<void> {
    const userId = await endSession(this.hub.db, sessionId, reason);
    if (userId) {
      this.hub.bus.emitEvent('session.ended', {
        userId,
        sessionIds: [sessionId],
        reason,
        userWide: false,
      });
    }
  }

  /** Ends every session of a user (disable, reset), optionally keeping one (password change). */
  async revokeUserSessions(userId: string, reason: string, except?: string): Promise<void> {
    const ended = await endUserSessions(this.hub.db, userId, reason, except);
    // Announced even when nothing was left to revoke: connections of a disabled user close anyway.
    this.hub.bus.emitEvent('session.ended', {
      userId,
      sessionIds: ended,
      reason,
      userWide: true,
      ...(except ? { exceptSessionId: except } : {}),
    });
  }

  /**
   * The current state of many sessions in one query (realtime re-checks its open sockets with it).
   * Sessions that no longer exist are simply absent from the answer.
   */
  async sessionStates(sessionIds: readonly string[]): Promise<Map<string, SessionState>> {
    const out = new Map<string, SessionState>();
    const unique = [...new Set(sessionIds)];
    for (let i = 0; i < unique.length; i += 500) {
      const rows = await sessionRows(this.hub.db, unique.slice(i, i + 500));
      for (const r of rows) {
        out.set(r.id, {
          userId: r.user_id,
          orgId: r.org_id,
          role: r.role,
          email: r.email,
          revoked: r.revoked_at !== null,
          disabled: r.disabled_at !== null,
        });
      }
    }
    return out;
  }

  /**
   * Bearer authenticator for access tokens. Returns undefined for tokens that are not ours (the
   * admin token, garbage), throws for our tokens that expired or whose session/user is gone.
   */
  async authenticate(
    token: string,
  ): Promise<
    { actor: Actor; sessionId: string; expiresAtMs: number; mustChangePassword: boolean } | undefined
  > {
    if (token.split('.').length !== 3) return undefined;
    let claims: AccessClaims;
    try {
      claims = this.jwt.verify<AccessClaims>(token, { clockTimestamp: this.options.now() });
    } catch (err) {
      if ((err as { code?: string }).code === 'FAST_JWT_EXPIRED')
        throw new WattfleetError('WF_TOKEN_EXPIRED');
      return undefined;
    }
    if (typeof claims.sub !== 'string' || typeof claims.sid !== 'string') return undefined;
    const row = await sessionUser(this.hub.db, claims.sid, claims.sub);
    if (!row || row.revoked_at) throw new WattfleetError('WF_TOKEN_INVALID', 'The session has ended');
    if (row.disabled_at) throw new WattfleetError('WF_USER_DISABLED');
    // Role and org come from the database, so a role change applies to the next request.
    return {
      actor: { kind: 'user', userId: row.id, orgId: row.org_id, role: row.role, email: row.email },
      sessionId: claims.sid,
      expiresAtMs: claims.exp * 1000,
      mustChangePassword: row.must_change_password,
    };
  }
}

export function userActor(u: { id: string; org_id: string; role: Role; email: string }): Actor {
  return { kind: 'user', userId: u.id, orgId: u.org_id, role: u.role, email: u.email };
}
