// Security headers on every answer, CORS only for configured origins, and unexpected errors
// leaving as a generic 500 with a correlation id.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buildHub } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { openTestDatabase } from '../helpers/engines.ts';
import { ADMIN_TOKEN, startTestHub } from '../helpers/hub.ts';

describe('hardening', () => {
  test('security headers are set on API answers', async () => {
    const hub = await startTestHub('pglite');
    try {
      const r = await hub.app.inject({ method: 'GET', url: '/healthz' });
      assert.equal(r.headers['x-content-type-options'], 'nosniff');
      assert.equal(r.headers['x-frame-options'], 'SAMEORIGIN');
      assert.ok(String(r.headers['strict-transport-security']).includes('max-age='));
      assert.ok(String(r.headers['content-security-policy']).includes("default-src 'self'"));
      const e = await hub.app.inject({ method: 'GET', url: '/api/v1/sites' });
      assert.equal(e.statusCode, 401);
      assert.equal(e.headers['x-content-type-options'], 'nosniff');
    } finally {
      await hub.close();
    }
  });

  test('CORS answers only the origins listed in CORS_ORIGINS', async () => {
    const saved = process.env.CORS_ORIGINS;
    process.env.CORS_ORIGINS = 'https://portal.example.test, https://other.example.test';
    const hub = await startTestHub('pglite');
    try {
      const allowed = await hub.app.inject({
        method: 'OPTIONS',
        url: '/api/v1/auth/login',
        headers: { origin: 'https://portal.example.test', 'access-control-request-method': 'POST' },
      });
      assert.equal(allowed.statusCode, 204);
      assert.equal(allowed.headers['access-control-allow-origin'], 'https://portal.example.test');
      const denied = await hub.app.inject({
        method: 'GET',
        url: '/healthz',
        headers: { origin: 'https://evil.example.test' },
      });
      assert.equal(denied.headers['access-control-allow-origin'], undefined);
    } finally {
      await hub.close();
      if (saved === undefined) delete process.env.CORS_ORIGINS;
      else process.env.CORS_ORIGINS = saved;
    }
  });

  test('without CORS_ORIGINS no cross-origin access is granted', async () => {
    const saved = process.env.CORS_ORIGINS;
    delete process.env.CORS_ORIGINS;
    const hub = await startTestHub('pglite');
    try {
      const r = await hub.app.inject({
        method: 'GET',
        url: '/healthz',
        headers: { origin: 'https://portal.example.test' },
      });
      assert.equal(r.headers['access-control-allow-origin'], undefined);
    } finally {
      await hub.close();
      if (saved !== undefined) process.env.CORS_ORIGINS = saved;
    }
  });

  test('CORS_ORIGINS=* (or any entry that is not an exact origin) stops the hub at start', async () => {
    const saved = process.env.CORS_ORIGINS;
    const tdb = await openTestDatabase('pglite');
    const config = loadConfig({}, { adminToken: ADMIN_TOKEN, logLevel: 'warn' });
    try {
      for (const bad of ['*', 'https://portal.example.test,*', 'null', 'https://portal.example.test/app']) {
        process.env.CORS_ORIGINS = bad;
        await assert.rejects(buildHub({ config, database: tdb.database, logger: false }), (err: Error) => {
          assert.match(err.message, /CORS_ORIGINS: .* is not allowed/);
          assert.match(err.message, /no wildcard/);
          return true;
        });
      }
    } finally {
      await tdb.drop();
      if (saved === undefined) delete process.env.CORS_ORIGINS;
      else process.env.CORS_ORIGINS = saved;
    }
  });
});
