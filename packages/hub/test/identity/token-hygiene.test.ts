// Issue 19 item 8: tokens out of URLs, storage and logs. The portal's refresh token lives in an
// httpOnly, SameSite=Strict cookie (Secure over TLS), never in a JSON body; the realtime socket
// authenticates with its first message and refuses `?token=`; and a full workflow (login,
// refresh, socket, password change, logout, plus a client still trying `?token=`) leaves no token
// or password in the hub's log, captured at trace level from a real listening hub.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import WebSocket from 'ws';
import { buildHub } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { ENGINES, openTestDatabase } from '../helpers/engines.ts';
import { ADMIN_TOKEN } from '../helpers/hub.ts';

const PASSWORD = 'a password nobody logs';
const NEW_PASSWORD = 'another password nobody logs';

async function startLoggedHub(engine: (typeof ENGINES)[number], trustProxy = false) {
  const tdb = await openTestDatabase(engine);
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk));
      done();
    },
  });
  const config = loadConfig({}, { adminToken: ADMIN_TOKEN, trustProxy });
  const app = await buildHub({ config, database: tdb.database, logger: { level: 'trace', stream } });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const port = (app.server.address() as { port: number }).port;
  return {
    app,
    base: `http://127.0.0.1:${port}`,
    log: () => lines.join(''),
    close: async () => {
      await app.close();
      await tdb.drop();
    },
  };
}

async function seedUser(app: FastifyInstance, email: string): Promise<void> {
  const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
  const org = await app.inject({
    method: 'POST',
    url: '/api/v1/orgs',
    headers: admin,
    payload: { name: 'Home', kind: 'household' },
  });
  const site = await app.inject({
    method: 'POST',
    url: '/api/v1/sites',
    headers: admin,
    payload: { orgId: org.json().id, name: 'Roof', timezone: 'Europe/Berlin' },
  });
  assert.equal(site.statusCode, 201, site.body);
  const user = await app.inject({
    method: 'POST',
    url: '/api/v1/users',
    headers: admin,
    payload: { orgId: org.json().id, role: 'owner', email, password: PASSWORD, mustChangePassword: false },
  });
  assert.equal(user.statusCode, 201, user.body);
}

/** The value of one cookie from a Set-Cookie answer, with its attributes. */
function cookieOf(res: Response, name: string): { value: string; attrs: string } | undefined {
  for (const c of res.headers.getSetCookie()) {
    const [pair, ...attrs] = c.split(';');
    const [k, v] = (pair ?? '').split('=');
    if (k?.trim() === name) return { value: v ?? '', attrs: attrs.join(';') };
  }
  return undefined;
}

const post = (base: string, path: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${base}/api/v1${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });

function socketMessages(url: string, first?: unknown) {
  const ws = new WebSocket(url);
  const got: { type: string; code?: string }[] = [];
  ws.on('message', (m) => got.push(JSON.parse(String(m))));
  const closed = new Promise<number>((r) => ws.on('close', (code) => r(code)));
  const opened = new Promise<void>((resolve, reject) => {
    ws.once('open', () => {
      if (first) ws.send(JSON.stringify(first));
      resolve();
    });
    ws.once('error', reject);
  });
  return { ws, got, closed, opened };
}

async function until<T>(f: () => T | undefined, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

for (const engine of ENGINES) {
  describe(`tokens out of URLs, storage and logs on ${engine}`, () => {
    test('a full workflow writes no token or password to the log', async () => {
      const hub = await startLoggedHub(engine);
      const secrets: string[] = [ADMIN_TOKEN, PASSWORD, NEW_PASSWORD];
      try {
        await seedUser(hub.app, 'home@example.test');
        // Browser-style login: the refresh token comes as a cookie only.
        const login = await post(hub.base, '/auth/login', {
          email: 'home@example.test',
          password: PASSWORD,
          refreshIn: 'cookie',
        });
        assert.equal(login.status, 200);
        const body = (await login.json()) as { accessToken: string; refreshToken?: string };
        assert.equal(body.refreshToken, undefined);
        const cookie = cookieOf(login, 'wf_refresh');
        assert.ok(cookie?.value);
        assert.match(cookie.attrs, /HttpOnly/i);
        assert.match(cookie.attrs, /SameSite=Strict/i);
        assert.match(cookie.attrs, /Path=\/api\/v1\/auth/i);
        // Plain http (this test): no Secure flag, or the browser would drop the cookie.
        assert.doesNotMatch(cookie.attrs, /Secure/i);
        secrets.push(body.accessToken, cookie.value);

        // Refresh by cookie: rotated, again only in the cookie.
        const refreshed = await post(hub.base, '/auth/refresh', {}, { cookie: `wf_refresh=${cookie.value}` });
        assert.equal(refreshed.status, 200);
        const rBody = (await refreshed.json()) as { accessToken: string; refreshToken?: string };
        assert.equal(rBody.refreshToken, undefined);
        const rotated = cookieOf(refreshed, 'wf_refresh');
        assert.ok(rotated?.value && rotated.value !== cookie.value);
        secrets.push(rBody.accessToken, rotated.value);
        // The spent cookie is reuse: refused, and the answer clears the cookie.
        const reused = await post(hub.base, '/auth/refresh', {}, { cookie: `wf_refresh=${cookie.value}` });
        assert.equal(reused.status, 401);
        assert.equal(cookieOf(reused, 'wf_refresh')?.value, '');

        // A second session (reuse revoked the first), API-style with the token in the body.
        const api = await post(hub.base, '/auth/login', { email: 'home@example.test', password: PASSWORD });
        const apiBody = (await api.json()) as { accessToken: string; refreshToken: string };
        assert.ok(apiBody.refreshToken);
        assert.equal(cookieOf(api, 'wf_refresh'), undefined);
        secrets.push(apiBody.accessToken, apiBody.refreshToken);
        const apiRefresh = await post(hub.base, '/auth/refresh', { refreshToken: apiBody.refreshToken });
        const apiRotated = (await apiRefresh.json()) as { accessToken: string; refreshToken: string };
        secrets.push(apiRotated.accessToken, apiRotated.refreshToken);
        const access = apiRotated.accessToken;

        // Socket: first-message auth works; a token in the URL is refused (and not logged).
        const wsBase = hub.base.replace('http', 'ws');
        const good = socketMessages(`${wsBase}/api/v1/realtime`, { type: 'auth', token: access });
        await good.opened;
        await until(() => good.got.find((m) => m.type === 'ready'));
        good.ws.send(JSON.stringify({ type: 'subscribe', siteIds: [] }));
        await until(() => good.got.find((m) => m.type === 'subscribed'));
        const bad = socketMessages(`${wsBase}/api/v1/realtime?token=${encodeURIComponent(access)}`);
        await bad.opened;
        assert.equal(await bad.closed, 4401);
        assert.equal(bad.got[0]?.code, 'WF_TOKEN_IN_URL');

        const auth = { authorization: `Bearer ${access}` };
        const sites = await fetch(`${hub.base}/api/v1/sites`, { headers: auth });
        assert.equal(sites.status, 200);
        const changed = await post(
          hub.base,
          '/auth/password',
          { currentPassword: PASSWORD, newPassword: NEW_PASSWORD },
          auth,
        );
        assert.equal(changed.status, 204);
        const wrong = await post(hub.base, '/auth/login', { email: 'home@example.test', password: PASSWORD });
        assert.equal(wrong.status, 401);
        const logout = await post(hub.base, '/auth/logout', {}, auth);
        assert.equal(logout.status, 204);
        assert.equal(cookieOf(logout, 'wf_refresh')?.value, '');
        await good.closed;
      } finally {
        await hub.close();
      }
      const log = hub.log();
      // The log is real (requests at info, the socket's URL among them) ...
      assert.match(log, /"url":"\/api\/v1\/auth\/login"/);
      // (A socket upgrade may get no request line at all; when one is written, its query is redacted.)
      assert.doesNotMatch(log, /\/api\/v1\/realtime\?token=(?!%5Bredacted%5D)/);
      // ... and holds no secret, not even a JWT's signature alone.
      for (const s of secrets) {
        const parts = [s, ...(s.split('.').length === 3 ? [s.split('.')[2] as string] : [])];
        for (const p of parts)
          assert.equal(log.includes(p), false, `a secret (${p.slice(0, 6)}…) is in the log`);
      }
    });

    test('behind a trusted TLS proxy the refresh cookie is Secure', async () => {
      const hub = await startLoggedHub(engine, true);
      try {
        await seedUser(hub.app, 'tls@example.test');
        const login = await post(
          hub.base,
          '/auth/login',
          { email: 'tls@example.test', password: PASSWORD, refreshIn: 'cookie' },
          { 'x-forwarded-proto': 'https' },
        );
        assert.equal(login.status, 200);
        assert.match(cookieOf(login, 'wf_refresh')?.attrs ?? '', /Secure/);
      } finally {
        await hub.close();
      }
    });
  });
}
