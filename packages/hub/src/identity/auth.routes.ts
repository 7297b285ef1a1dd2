// Login, token refresh, logout, own profile and password change. Wrong passwords are throttled
// per account, address and (account, address) pair in the database (login-throttle.ts), so
// guessing slows down on every hub while the rightful owner, from a client that has not failed,
// still gets in. A per-address request rate (route config, per hub) caps floods before that.
//
// Browsers ask for the refresh token as a cookie (`refreshIn: 'cookie'`): httpOnly (scripts in the
// page never see it), SameSite=Strict, scoped to /api/v1/auth, and Secure whenever the request came
// over TLS (directly, or through a proxy the hub trusts: TRUST_PROXY + X-Forwarded-Proto). On plain
// http (a LAN install, localhost) it is sent without Secure, so it is exactly as protected as that
// connection. A cookie session never gets its refresh token in a JSON body. Scripts keep the JSON
// body (the default).
import { WattfleetError } from '@wattfleet/protocol';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import Type from 'typebox';
import { audit } from '../audit/audit.ts';
import { actorOf } from '../auth/authenticate.ts';
import { userOnly } from './guards.ts';
import { DEFAULT_THROTTLE_LIMITS, LoginThrottle, type ThrottleLimits } from './login-throttle.ts';
import { assertPasswordPolicy, hashPassword, verifyPassword } from './passwords.ts';
import { publicUser } from './sessions.service.ts';
import { USER_COLUMNS } from './users.routes.ts';

const LoginBody = Type.Object(
  {
    email: Type.String({ minLength: 3, maxLength: 320 }),
    password: Type.String({ minLength: 1, maxLength: 1024 }),
  },
  { additionalProperties: false },
);
const RefreshIn = Type.Union([Type.Literal('cookie'), Type.Literal('body')]);
const LoginBodyWithDelivery = Type.Object(
  { ...LoginBody.properties, refreshIn: Type.Optional(RefreshIn) },
  { additionalProperties: false },
);
const RefreshBody = Type.Object(
  // Absent: the refresh token comes from the cookie.
  { refreshToken: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })) },
  { additionalProperties: false },
);

export const REFRESH_COOKIE = 'wf_refresh';
const COOKIE_PATH = '/api/v1/auth';

function setRefreshCookie(reply: FastifyReply, token: string, maxAgeS: number): void {
  reply.setCookie(REFRESH_COOKIE, token, {
    httpOnly: true,
    sameSite: 'strict',
    secure: 'auto',
    path: COOKIE_PATH,
    maxAge: maxAgeS,
  });
}

function clearRefreshCookie(reply: FastifyReply): void {
  reply.clearCookie(REFRESH_COOKIE, {
    httpOnly: true,
    sameSite: 'strict',
    secure: 'auto',
    path: COOKIE_PATH,
  });
}
const PasswordBody = Type.Object(
  {
    currentPassword: Type.String({ minLength: 1, maxLength: 1024 }),
    newPassword: Type.String({ minLength: 1, maxLength: 1024 }),
  },
  { additionalProperties: false },
);

export interface AuthLimits {
  loginPerIpPerMinute: number;
  refreshPerIpPerMinute: number;
  passwordPerUserPerMinute: number;
  /** Failure-based throttling of logins (shared by every hub through the database). */
  throttle: ThrottleLimits;
}

export const DEFAULT_AUTH_LIMITS: AuthLimits = {
  loginPerIpPerMinute: 30,
  refreshPerIpPerMinute: 60,
  passwordPerUserPerMinute: 5,
  throttle: DEFAULT_THROTTLE_LIMITS,
};

export function authRoutes(limits: AuthLimits) {
  return async (app: FastifyInstance): Promise<void> => {
    const hub = app.hub;
    const sessions = () => {
      if (!hub.identity) throw new Error('identity not initialised');
      return hub.identity;
    };
    // The plugin's per-route limiter runs once per request, so a second limit (per user) is
    // checked by hand with a limiter of the same store.
    const limiter = (max: number, key: (req: FastifyRequest) => string) => {
      const check = app.createRateLimit({ max, timeWindow: 60_000, keyGenerator: key });
      return async (req: FastifyRequest) => {
        const r = await check(req);
        if (!r.isAllowed && r.isExceeded) {
          throw new WattfleetError('WF_RATE_LIMITED', undefined, undefined, { retryAfterS: r.ttlInSeconds });
        }
      };
    };
    const throttle = new LoginThrottle(hub.db, limits.throttle, () => sessions().options.now());
    const perUser = limiter(
      limits.passwordPerUserPerMinute,
      (req) => `password:${req.actor?.kind === 'user' ? req.actor.userId : req.ip}`,
    );

    app.post(
      '/auth/login',
      {
        schema: { tags: ['auth'], body: LoginBodyWithDelivery },
        config: {
          rateLimit: {
            max: limits.loginPerIpPerMinute,
            timeWindow: 60_000,
            keyGenerator: (req) => `login-ip:${req.ip}`,
          },
        },
      },
      async (request, reply) => {
        const { email, password, refreshIn } = request.body as {
          email: string;
          password: string;
          refreshIn?: 'cookie' | 'body';
        };
        const account = email.trim().toLowerCase();
        const verdict = await throttle.check(account, request.ip);
        if (!verdict.allowed) {
          await audit(hub.db, undefined, {
            action: 'auth.login',
            result: 'denied',
            sourceIp: request.ip,
            details: { email: account, reason: `throttled_${verdict.reason}` },
          });
          throw new WattfleetError('WF_RATE_LIMITED', 'Too many failed logins; try again later', undefined, {
            retryAfterS: verdict.retryAfterS,
          });
        }
        let answer: Awaited<ReturnType<ReturnType<typeof sessions>['login']>>;
        try {
          answer = await sessions().login(email, password, {
            ip: request.ip,
            userAgent: request.headers['user-agent'],
          });
        } catch (err) {
          if (err instanceof WattfleetError && err.code === 'WF_BAD_CREDENTIALS')
            await throttle.recordFailure(account, request.ip);
          throw err;
        }
        await throttle.recordSuccess(account, request.ip);
        if (refreshIn !== 'cookie') return answer;
        setRefreshCookie(reply, answer.refreshToken, sessions().options.refreshTtlS);
        const { refreshToken: _inCookie, ...rest } = answer;
        return rest;
      },
    );

    app.post(
      '/auth/refresh',
      {
        schema: { tags: ['auth'], body: RefreshBody },
        config: {
          rateLimit: {
            max: limits.refreshPerIpPerMinute,
            timeWindow: 60_000,
            keyGenerator: (req) => `refresh-ip:${req.ip}`,
          },
        },
      },
      async (request, reply) => {
        const fromBody = (request.body as { refreshToken?: string } | undefined)?.refreshToken;
        const fromCookie = request.cookies[REFRESH_COOKIE];
        const presented = fromBody ?? fromCookie;
        if (!presented) throw new WattfleetError('WF_UNAUTHENTICATED', 'No refresh token');
        if (fromBody !== undefined) return sessions().refresh(fromBody, request.ip);
        try {
          const pair = await sessions().refresh(presented, request.ip);
          setRefreshCookie(reply, pair.refreshToken, sessions().options.refreshTtlS);
          const { refreshToken: _inCookie, ...rest } = pair;
          return rest;
        } catch (err) {
          // A dead cookie is dropped, so the browser stops presenting it.
          clearRefreshCookie(reply);
          throw err;
        }
      },
    );

    app.post(
      '/auth/logout',
      { schema: { tags: ['auth'], security: [{ bearer: [] }] }, preHandler: app.requireActor },
      async (request, reply) => {
        const actor = userOnly(actorOf(request));
        if (request.sessionId) await sessions().revokeSession(request.sessionId, 'logout');
        clearRefreshCookie(reply);
        await audit(hub.db, actor, {
          action: 'auth.logout',
          targetType: 'session',
          ...(request.sessionId ? { targetId: request.sessionId } : {}),
          sourceIp: request.ip,
        });
        reply.status(204);
      },
    );

    app.get(
      '/auth/me',
      { schema: { tags: ['auth'], security: [{ bearer: [] }] }, preHandler: app.requireActor },
      async (request) => {
        const actor = userOnly(actorOf(request));
        const user = await hub.db
          .selectFrom('users')
          .select(USER_COLUMNS)
          .where('id', '=', actor.userId)
          .executeTakeFirstOrThrow();
        return publicUser(user);
      },
    );

    app.post(
      '/auth/password',
      {
        schema: { tags: ['auth'], body: PasswordBody, security: [{ bearer: [] }] },
        // Authenticated and limited before body validation: malformed attempts count too.
        preValidation: [app.requireActor, perUser],
      },
      async (request, reply) => {
        const actor = userOnly(actorOf(request));
        const body = request.body as { currentPassword: string; newPassword: string };
        const user = await hub.db
          .selectFrom('users')
          .select(['id', 'password_hash'])
          .where('id', '=', actor.userId)
          .executeTakeFirstOrThrow();
        if (!(await verifyPassword(user.password_hash, body.currentPassword))) {
          await audit(hub.db, actor, {
            action: 'auth.password_change',
            targetType: 'user',
            targetId: actor.userId,
            result: 'failed',
            sourceIp: request.ip,
          });
          throw new WattfleetError('WF_BAD_CREDENTIALS', 'The current password is wrong');
        }
        assertPasswordPolicy(body.newPassword);
        await hub.db
          .updateTable('users')
          .set({
            password_hash: await hashPassword(body.newPassword),
            must_change_password: false,
            password_changed_at: new Date(),
          })
          .where('id', '=', actor.userId)
          .execute();
        // Other devices must log in again with the new password; this one stays signed in.
        await sessions().revokeUserSessions(actor.userId, 'password_change', request.sessionId);
        await audit(hub.db, actor, {
          action: 'auth.password_change',
          targetType: 'user',
          targetId: actor.userId,
          sourceIp: request.ip,
        });
        reply.status(204);
      },
    );
  };
}
