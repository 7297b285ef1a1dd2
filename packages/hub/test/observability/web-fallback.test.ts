// The portal's SPA fallback answers index.html for portal routes only: /metrics, /readyz typos,
// /wp-login.php and other unknown paths are a 404 with the coded error, never the login page with
// 200; source maps in the build are not served. The portal is a stand-in dist directory (index.html,
// a hashed asset and its map) served by the real plugin inside the real hub app.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import Fastify, { type FastifyInstance } from 'fastify';
import { registerErrorHandling } from '../../src/http/errors.ts';
import { isPortalRoute, PORTAL_SECTIONS, webPortal } from '../../src/web/web.plugin.ts';
import { startTestHub, type TestHub } from '../helpers/hub.ts';

describe('portal fallback', () => {
  let dir: string;
  let app: FastifyInstance;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'wf-dist-'));
    mkdirSync(join(dir, 'assets'));
    writeFileSync(join(dir, 'index.html'), '<!doctype html><title>Wattfleet</title>');
    writeFileSync(
      join(dir, 'assets', 'index-abc123.js'),
      'console.log(1);\n//# sourceMappingURL=index-abc123.js.map',
    );
    writeFileSync(
      join(dir, 'assets', 'index-abc123.js.map'),
      '{"version":3,"sources":["secret-source.tsx"]}',
    );
    app = Fastify({ logger: false });
    registerErrorHandling(app);
    app.get('/api/v1/known', async () => ({ ok: true }));
    await app.register(webPortal, { root: dir });
    await app.ready();
  });
  after(async () => {
    await app?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves index.html for portal routes and deep links', async () => {
    for (const url of [
      '/',
      '/login',
      '/fleet',
      '/sites/4f1c0d7e-0000-4000-8000-000000000000',
      '/home/x?tab=1',
    ]) {
      const r = await app.inject({ method: 'GET', url });
      assert.equal(r.statusCode, 200, url);
      assert.match(r.body, /<title>Wattfleet<\/title>/, url);
    }
    const asset = await app.inject({ method: 'GET', url: '/assets/index-abc123.js' });
    assert.equal(asset.statusCode, 200);
    assert.match(String(asset.headers['cache-control']), /immutable/);
  });

  it('answers 404 with the coded error for anything else, and never serves source maps', async () => {
    for (const url of [
      '/metrics',
      '/readyz2',
      '/wp-login.php',
      '/random/path',
      '/api/v1/nope',
      '/assets/index-abc123.js.map',
    ]) {
      const r = await app.inject({ method: 'GET', url });
      assert.equal(r.statusCode, 404, url);
      assert.equal(r.json().code, 'WF_NOT_FOUND', url);
      assert.ok(!r.body.includes('secret-source'), url);
    }
  });

  it('knows every first path segment the portal router uses (packages/web/src/App.tsx)', () => {
    const app = readFileSync(fileURLToPath(new URL('../../../web/src/App.tsx', import.meta.url)), 'utf8');
    const used = new Set(
      [...app.matchAll(/(?:path === |match\(|href: )'\/([a-z][a-z-]*)/g)].map((m) => m[1]!),
    );
    assert.ok(used.size >= 5, [...used].join(','));
    for (const segment of used)
      assert.ok(PORTAL_SECTIONS.has(segment), `add '${segment}' to PORTAL_SECTIONS`);
    assert.equal(isPortalRoute('/fleet/favicon.ico'), false);
  });
});

describe('hub unknown paths', () => {
  let hub: TestHub;
  before(async () => {
    hub = await startTestHub('pglite');
  });
  after(async () => hub?.close());

  it('answers /healthz and /readyz itself, and 404 for /metrics without a token', async () => {
    assert.equal((await hub.app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
    const ready = await hub.app.inject({ method: 'GET', url: '/readyz' });
    assert.equal(ready.statusCode, 503); // no broker in this hub
    assert.deepEqual(ready.json().failing, ['broker']);
    const metrics = await hub.app.inject({ method: 'GET', url: '/metrics' });
    assert.equal(metrics.statusCode, 404);
    assert.equal(metrics.json().code, 'WF_NOT_FOUND');
  });
});
