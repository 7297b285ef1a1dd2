// The identity module as one plugin: security headers, CORS, JWT sessions, the grants-aware site
// scope, and the auth/users/orgs/grants/audit routes (orgs from orgs/, the one org module). Registered without encapsulation (like
// fastify-plugin) because headers, CORS and the bearer authenticator apply to the whole hub.
import cookie from '@fastify/cookie';
import cors from '@fastify/cors';
import helmet from '@fastify/helmet';
import jwt from '@fastify/jwt';
import { WattfleetError } from '@wattfleet/protocol';
import type { FastifyInstance } from 'fastify';
import { orgRoutes } from '../orgs/orgs.routes.ts';
import { auditRoutes } from './audit.routes.ts';
import { type AuthLimits, authRoutes, DEFAULT_AUTH_LIMITS } from './auth.routes.ts';
import { grantRoutes } from './grants.routes.ts';
import { grantsSiteScope } from './scope.ts';
import { loadJwtSecret } from './secrets.ts';
import { DEFAULT_IDENTITY_OPTIONS, type IdentityOptions, SessionService } from './sessions.service.ts';
import { userRoutes } from './users.routes.ts';

declare module '../context.ts' {
  interface HubContext {
    /** Sessions and tokens; set by the identity plugin. */
    identity?: SessionService;
  }
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The login session of a JWT-authenticated user (logout, password change). */
    sessionId?: string;
    /** When the presented access token expires (ms); long-lived connections close then. */
    accessExpiresAtMs?: number;
  }
}

/** What a user with a temporary password may still call. */
const PASSWORD_CHANGE_ROUTES = new Set(['/api/v1/auth/password', '/api/v1/auth/me', '/api/v1/auth/logout']);

export interface IdentityPluginOptions {
  session?: Partial<IdentityOptions>;
  limits?: Partial<Omit<AuthLimits, 'throttle'>> & { throttle?: Partial<AuthLimits['throttle']> };
  /** Allowed browser origins; default from CORS_ORIGINS (comma-separated). Empty: no CORS. */
  corsOrigins?: string[];
}

export function corsOriginsFromEnv(env: NodeJS.ProcessEnv = process.env): string[] {
  return checkCorsOrigins(
    (env.CORS_ORIGINS ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  );
}

/**
 * The API answers browsers with credentials (Access-Control-Allow-Credentials: true), so every
 * allowed origin must be named: a wildcard (or `null`, which sandboxed pages send) would let any web
 * page call the API as the logged-in user. Such a configuration stops the hub at start.
 */
export function checkCorsOrigins(origins: string[]): string[] {
  for (const origin of origins) {
    let ok = false;
    try {
      const url = new URL(origin);
      ok = (url.protocol === 'http:' || url.protocol === 'https:') && url.origin === origin;
    } catch {
      ok = false;
    }
    if (!ok) {
      throw new Error(
        `CORS_ORIGINS: "${origin}" is not allowed. The hub sends credentials to the origins it ` +
          'allows, so each must be named exactly as scheme://host[:port] (no wildcard, no path), ' +
          'e.g. CORS_ORIGINS=https://portal.example.com,http://localhost:5173',
      );
    }
  }
  return origins;
}

async function identityPlugin(app: FastifyInstance, opts: IdentityPluginOptions = {}): Promise<void> {
  const hub = app.hub;
  await app.register(helmet, {
    // The API answers JSON; the swagger UI at /api/docs needs its own inline bootstrap.
    contentSecurityPolicy: {
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'", "'unsafe-inline'"],
        styleSrc: ["'self'", "'unsafe-inline'"],
        imgSrc: ["'self'", 'data:'],
        connectSrc: ["'self'", 'ws:', 'wss:'],
        // Plain-HTTP installs on a LAN (http://hub.local:8080) must keep working.
        upgradeInsecureRequests: null,
      },
    },
  });
  const origins = opts.corsOrigins ? checkCorsOrigins(opts.corsOrigins) : corsOriginsFromEnv();
  await app.register(cors, {
    origin: origins.length === 0 ? false : origins,
    credentials: true,
    methods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'],
    maxAge: 600,
  });
  await app.register(jwt, { secret: await loadJwtSecret(hub) });
  // The portal's refresh token travels as an httpOnly cookie (auth.routes.ts).
  if (!app.hasDecorator('parseCookie')) await app.register(cookie);
  const sessions = new SessionService(hub, app.jwt, { ...DEFAULT_IDENTITY_OPTIONS, ...opts.session });
  hub.identity = sessions;
  hub.siteScope = grantsSiteScope;
  app.bearerAuthenticators.push(async (token, request) => {
    const found = await sessions.authenticate(token);
    if (!found) return undefined;
    // A temporary password (set by an admin) must be replaced before the account is used: until
    // then only the password change, the profile and logout answer (the realtime socket neither).
    if (found.mustChangePassword && !PASSWORD_CHANGE_ROUTES.has(request.routeOptions.url ?? '')) {
      throw new WattfleetError('WF_PASSWORD_CHANGE_REQUIRED');
    }
    request.sessionId = found.sessionId;
    request.accessExpiresAtMs = found.expiresAtMs;
    return found.actor;
  });

  const limits = {
    ...DEFAULT_AUTH_LIMITS,
    ...opts.limits,
    throttle: { ...DEFAULT_AUTH_LIMITS.throttle, ...opts.limits?.throttle },
  };
  await app.register(authRoutes(limits), { prefix: '/api/v1' });
  await app.register(userRoutes, { prefix: '/api/v1' });
  await app.register(orgRoutes, { prefix: '/api/v1' });
  await app.register(grantRoutes, { prefix: '/api/v1' });
  await app.register(auditRoutes, { prefix: '/api/v1' });
}

// Same effect as wrapping with fastify-plugin: decorators and hooks reach the root instance.
(identityPlugin as unknown as Record<symbol, unknown>)[Symbol.for('skip-override')] = true;
(identityPlugin as unknown as Record<symbol, unknown>)[Symbol.for('fastify.display-name')] =
  'wattfleet-identity';

export { identityPlugin };
