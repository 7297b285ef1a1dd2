// Serves the built portal (packages/web/dist) at `/`, with the SPA fallback for portal routes only:
// a GET of a path the portal's router knows (/fleet, /sites/…) answers index.html so deep links
// survive a reload; anything else outside /api that is not a file (/metrics without a token,
// /wp-login.php, a typo) is a plain 404, never the login page with 200 — which told a monitoring
// probe or an operator that a missing endpoint was there.
//
// Source maps are not served: the production build may contain them (for error reports), but a
// public hub hands its readable source to no one.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';

/**
 * The built portal: WATTFLEET_WEB_DIST when set (an image that puts it elsewhere), else
 * packages/web/dist found from this module — src/web/ when run from source, dist/ when bundled.
 */
export const WEB_DIST =
  process.env.WATTFLEET_WEB_DIST ??
  [new URL('../../../web/dist/', import.meta.url), new URL('../../web/dist/', import.meta.url)]
    .map((u) => fileURLToPath(u))
    .find((dir) => existsSync(`${dir}index.html`)) ??
  fileURLToPath(new URL('../../../web/dist/', import.meta.url));

/**
 * First path segments the portal routes (packages/web/src/App.tsx). A portal page added there
 * needs its segment here; test/observability/web-fallback.test.ts checks the two agree.
 */
export const PORTAL_SECTIONS = new Set([
  'login',
  'home',
  'fleet',
  'commands',
  'admin',
  'users',
  'grants',
  'enrollment',
  'account',
  'rollout',
  'audit',
  'nodes',
  'sites',
  'alerts',
  'notifications',
  'analytics',
  'tariffs',
  'vendors',
  'reset-password',
  'invite',
  'change-password',
]);

export function isPortalRoute(path: string): boolean {
  if (path === '/') return true;
  const first = path.split('/')[1] ?? '';
  return PORTAL_SECTIONS.has(first) && !/\.[a-z0-9]+$/i.test(path);
}

export async function webPortal(app: FastifyInstance, opts: { root?: string } = {}): Promise<void> {
  const root = opts.root ?? WEB_DIST;
  if (!existsSync(`${root}/index.html`)) {
    app.log.warn({ root }, 'portal not built (npm run build -w @wattfleet/web); serving the API only');
    return;
  }
  await app.register(fastifyStatic, {
    root,
    wildcard: false,
    // Source maps stay on disk (stack traces in error reports); no route is made for them.
    globIgnore: ['**/*.map'],
    // Hashed assets never change; index.html must be revalidated so a new release is picked up.
    setHeaders: (res, path) => {
      res.header(
        'cache-control',
        path.includes('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache',
      );
    },
  });
  app.get('/*', { schema: { hide: true } }, (request, reply) => {
    const path = request.url.split('?')[0] ?? '/';
    if (!isPortalRoute(path)) return reply.callNotFound();
    reply.header('cache-control', 'no-cache');
    return reply.sendFile('index.html');
  });
}
