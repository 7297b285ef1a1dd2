// Login, token refresh, logout, own profile and password change, without the HTTP: wrong
// passwords are throttled per account, address and (account, address) pair in the database
// (login-throttle.ts), so guessing slows down on every hub while the rightful owner, from a client
// that has not failed, still gets in. Cookies and request rates are the routes' business.
import { WattfleetError } from '@wattfleet/protocol';
import { audit } from '../audit/audit.ts';
import type { Actor } from '../auth/actor.ts';
import type { HubContext } from '../context.ts';
import type { PasswordBody } from './auth.schema.ts';
import { userOnly } from './guards.ts';
import { LoginThrottle, type ThrottleLimits } from './login-throttle.ts';
import { assertPasswordPolicy, hashPassword, verifyPassword } from './passwords.ts';
import type { SessionService } from './sessions.service.ts';
import { getUser, passwordHashOf, setPassword } from './users.repository.ts';
import { publicUser } from './users.schema.ts';

export class AuthService {
  private readonly throttle: LoginThrottle;

  constructor(
    private readonly hub: HubContext,
    throttleLimits: ThrottleLimits,
  ) {
    this.throttle = new LoginThrottle(hub.db, throttleLimits, () => this.sessions.options.now());
  }

  get sessions(): SessionService {
    if (!this.hub.identity) throw new Error('identity not initialised');
    return this.hub.identity;
  }

  async login(email: string, password: string, source: { ip: string; userAgent?: string | undefined }) {
    const account = email.trim().toLowerCase();
    const verdict = await this.throttle.check(account, source.ip);
    if (!verdict.allowed) {
      await audit(this.hub.db, undefined, {
        action: 'auth.login',
        result: 'denied',
        sourceIp: source.ip,
        details: { email: account, reason: `throttled_${verdict.reason}` },
      });
      throw new WattfleetError('WF_RATE_LIMITED', 'Too many failed logins; try again later', undefined, {
        retryAfterS: verdict.retryAfterS,
      });
    }
    let answer: Awaited<ReturnType<SessionService['login']>>;
    try {
      answer = await this.sessions.login(email, password, source);
    } catch (err) {
      if (err instanceof WattfleetError && err.code === 'WF_BAD_CREDENTIALS')
        await this.throttle.recordFailure(account, source.ip);
      throw err;
    }
    await this.throttle.recordSuccess(account, source.ip);
    return answer;
  }

  refresh(refreshToken: string, sourceIp: string) {
    return this.sessions.refresh(refreshToken, sourceIp);
  }

  async logout(caller: Actor, sessionId: string | undefined, sourceIp: string): Promise<void> {
    const actor = userOnly(caller);
    if (sessionId) await this.sessions.revokeSession(sessionId, 'logout');
    await audit(this.hub.db, actor, {
      action: 'auth.logout',
      targetType: 'session',
      ...(sessionId ? { targetId: sessionId } : {}),
      sourceIp,
    });
  }

  async me(caller: Actor) {
    const actor = userOnly(caller);
    const user = await getUser(this.hub.db, actor.userId);
    if (!user) throw new WattfleetError('WF_TOKEN_INVALID', 'The session has ended');
    return publicUser(user);
  }

  async changePassword(caller: Actor, body: PasswordBody, sessionId: string | undefined, sourceIp: string) {
    const actor = userOnly(caller);
    if (!(await verifyPassword(await passwordHashOf(this.hub.db, actor.userId), body.currentPassword))) {
      await audit(this.hub.db, actor, {
        action: 'auth.password_change',
        targetType: 'user',
        targetId: actor.userId,
        result: 'failed',
        sourceIp,
      });
      throw new WattfleetError('WF_BAD_CREDENTIALS', 'The current password is wrong');
    }
    assertPasswordPolicy(body.newPassword);
    await setPassword(this.hub.db, actor.userId, await hashPassword(body.newPassword), false);
    // Other devices must log in again with the new password; this one stays signed in.
    await this.sessions.revokeUserSessions(actor.userId, 'password_change', sessionId);
    await audit(this.hub.db, actor, {
      action: 'auth.password_change',
      targetType: 'user',
      targetId: actor.userId,
      sourceIp,
    });
  }
}
