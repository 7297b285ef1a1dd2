// Login, token refresh, logout, own profile and password change: HTTP only (cookies, request
// rates), typed by the TypeBox provider from auth.schema.ts. Throttling, sessions and the password
// rules are in auth.service.ts. A per-address request rate (route config, per hub) caps floods
// before the database-backed login throttle.
//
// Browsers ask for the refresh token as a cookie (`refreshIn: 'cookie'`): httpOnly (scripts in the
// page never see it), SameSite=Strict, scoped to /api/v1/auth, and Secure whenever the request came
// over TLS (directly, or through a proxy the hub trusts: TRUST_PROXY + X-Forwarded-Proto). On plain
// http (a LAN install, localhost) it is sent without Secure, so it is exactly as protected as that
// connection. A cookie session never gets its refresh token in a JSON body. Scripts keep the JSON
// body (the default).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { WattfleetError } from '@wattfleet/protocol';
import type { FastifyReply, FastifyRequest } from 'fastify';
import Type from 'typebox';
import { actorOf } from '../auth/authenticate.ts';
import { ACTOR_AUTH_ERRORS, errors } from '../http/responses.ts';
import { LoginAnswer, LoginBody, PasswordBody, RefreshBody, TokenAnswer } from './auth.schema.ts';
import { AuthService } from './auth.service.ts';
import { DEFAULT_THROTTLE_LIMITS, type ThrottleLimits } from './login-throttle.ts';
import { User } from './users.schema.ts';

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

const tags = ['auth'];
const bearer = [{ bearer: [] }];
const NoContent = Type.Null({ description: 'Done; no body' });

export function authRoutes(limits: AuthLimits): FastifyPluginAsyncTypebox {
  return async (app) => {
    const service = new AuthService(app.hub, limits.throttle);
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
    const perUser = limiter(
      limits.passwordPerUserPerMinute,
      (req) => `password:${req.actor?.kind === 'user' ? req.actor.userId : req.ip}`,
    );

    app.post(
      '/auth/login',
      {
        schema: {
          tags,
          body: LoginBody,
          response: {
            200: LoginAnswer,
            ...errors('WF_BAD_CREDENTIALS', 'WF_USER_DISABLED', 'WF_RATE_LIMITED'),
          },
        },
        config: {
          rateLimit: {
            max: limits.loginPerIpPerMinute,
            timeWindow: 60_000,
            keyGenerator: (req) => `login-ip:${req.ip}`,
          },
        },
      },
      async (request, reply) => {
        const { email, password, refreshIn } = request.body;
        const answer = await service.login(email, password, {
          ip: request.ip,
          userAgent: request.headers['user-agent'],
        });
        if (refreshIn !== 'cookie') return answer;
        setRefreshCookie(reply, answer.refreshToken, service.sessions.options.refreshTtlS);
        const { refreshToken: _inCookie, ...rest } = answer;
        return rest;
      },
    );

    app.post(
      '/auth/refresh',
      {
        schema: {
          tags,
          body: RefreshBody,
          response: {
            200: TokenAnswer,
            ...errors(
              'WF_UNAUTHENTICATED',
              'WF_TOKEN_INVALID',
              'WF_TOKEN_EXPIRED',
              'WF_REFRESH_REUSED',
              'WF_USER_DISABLED',
            ),
          },
        },
        config: {
          rateLimit: {
            max: limits.refreshPerIpPerMinute,
            timeWindow: 60_000,
            keyGenerator: (req) => `refresh-ip:${req.ip}`,
          },
        },
      },
      async (request, reply) => {
        // No body at all is allowed: the refresh token then comes from the cookie.
        const fromBody = request.body?.refreshToken;
        const fromCookie = request.cookies[REFRESH_COOKIE];
        const presented = fromBody ?? fromCookie;
        if (!presented) throw new WattfleetError('WF_UNAUTHENTICATED', 'No refresh token');
        if (fromBody !== undefined) return service.refresh(fromBody, request.ip);
        try {
          const pair = await service.refresh(presented, request.ip);
          setRefreshCookie(reply, pair.refreshToken, service.sessions.options.refreshTtlS);
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
      {
        preHandler: app.requireActor,
        schema: { tags, security: bearer, response: { 204: NoContent, ...errors('WF_FORBIDDEN') } },
      },
      async (request, reply) => {
        await service.logout(actorOf(request), request.sessionId, request.ip);
        clearRefreshCookie(reply);
        reply.status(204);
      },
    );

    app.get(
      '/auth/me',
      {
        preHandler: app.requireActor,
        schema: { tags, security: bearer, response: { 200: User, ...errors('WF_FORBIDDEN') } },
      },
      async (request) => service.me(actorOf(request)),
    );

    app.post(
      '/auth/password',
      {
        schema: {
          tags,
          body: PasswordBody,
          security: bearer,
          // Authenticated in preValidation (not preHandler), so the standard hook does not see it.
          response: {
            204: NoContent,
            ...errors(...ACTOR_AUTH_ERRORS, 'WF_FORBIDDEN', 'WF_BAD_CREDENTIALS', 'WF_RATE_LIMITED'),
          },
        },
        // Authenticated and limited before body validation: malformed attempts count too.
        preValidation: [app.requireActor, perUser],
      },
      async (request, reply) => {
        await service.changePassword(actorOf(request), request.body, request.sessionId, request.ip);
        reply.status(204);
      },
    );
  };
}
