// Users and sessions through the HTTP API: login, access tokens accepted by requireActor,
// refresh rotation and reuse detection, logout, expiry, disable, password change and reset,
// per-address rate limiting, and the first admin.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ensureFirstAdmin } from '../../src/identity/first-admin.ts';
import { ENGINES } from '../helpers/engines.ts';
import { startTestHub, type TestHub } from '../helpers/hub.ts';
import { as, createOrg, createUser, login, PASSWORD } from './helpers.ts';

for (const engine of ENGINES) {
  describe(`sessions on ${engine}`, () => {
    let hub: TestHub;
    let orgId: string;
    before(async () => {
      hub = await startTestHub(engine);
      orgId = await createOrg(hub, 'household');
    });
    after(async () => hub?.close());

    test('login returns a 15-minute access token that existing routes accept', async () => {
      await createUser(hub, orgId, 'owner', 'Owner1@Example.test');
      const s = await login(hub, 'owner1@example.test');
      const me = await as(hub, s.accessToken, 'GET', '/api/v1/auth/me');
      assert.equal(me.statusCode, 200, me.body);
      assert.equal(me.json().email, 'owner1@example.test');
      assert.equal(me.json().role, 'owner');
      // A spine route guarded by requireActor accepts the user.
      const sites = await as(hub, s.accessToken, 'GET', '/api/v1/sites');
      assert.equal(sites.statusCode, 200);
      const payload = JSON.parse(Buffer.from(s.accessToken.split('.')[1] as string, 'base64url').toString());
      assert.equal(payload.exp - payload.iat, 15 * 60);
    });

    test('wrong password and unknown email answer the same 401', async () => {
      await createUser(hub, orgId, 'viewer', 'wrongpw@example.test');
      for (const email of ['wrongpw@example.test', 'nobody@example.test']) {
        const r = await hub.app.inject({
          method: 'POST',
          url: '/api/v1/auth/login',
          payload: { email, password: 'nope-nope-nope' },
        });
        assert.equal(r.statusCode, 401);
        assert.equal(r.json().code, 'WF_BAD_CREDENTIALS');
      }
    });

    test('refresh rotates; reusing a spent refresh token revokes the whole family', async () => {
      await createUser(hub, orgId, 'owner', 'rotate@example.test');
      const s1 = await login(hub, 'rotate@example.test');
      const r2 = await hub.app.inject({
        method: 'POST',
        url: '/api/v1/auth/refresh',
        payload: { refreshToken: s1.refreshToken },
      });
      assert.equal(r2.statusCode, 200, r2.body);
      const s2 = r2.json();
      assert.notEqual(s2.refreshToken, s1.refreshToken);
      const r3 = await hub.app.inject({
        method: 'POST',
        url: '/api/v1/auth/refresh',
        payload: { refreshToken: s2.refreshToken },
      });
      assert.equal(r3.statusCode, 200);
      const s3 = r3.json();
      assert.equal((await as(hub, s3.accessToken, 'GET', '/api/v1/auth/me')).statusCode, 200);
      // The attacker replays the first (spent) token.
      const reuse = await hub.app.inject({
        method: 'POST',
        url: '/api/v1/auth/refresh',
        payload: { refreshToken: s1.refreshToken },
      });
      assert.equal(reuse.statusCode, 401);
      assert.equal(reuse.json().code, 'WF_REFRESH_REUSED');
      // The legitimate holder's newest tokens are dead too.
      const after = await hub.app.inject({
        method: 'POST',
        url: '/api/v1/auth/refresh',
        payload: { refreshToken: s3.refreshToken },
      });
      assert.equal(after.statusCode, 401);
      assert.equal((await as(hub, s3.accessToken, 'GET', '/api/v1/auth/me')).statusCode, 401);
      // Only hashes are stored.
      const stored = await hub.tdb.database.db.selectFrom('refresh_tokens').select('token_hash').execute();
      assert.ok(stored.every((r) => r.token_hash !== s1.refreshToken && /^[0-9a-f]{64}$/.test(r.token_hash)));
    });

    test('two concurrent refreshes with one token: one wins, the other is treated as reuse', async () => {
      await createUser(hub, orgId, 'owner', 'race@example.test');
      const s = await login(hub, 'race@example.test');
      const send = () =>
        hub.app.inject({
          method: 'POST',
          url: '/api/v1/auth/refresh',
          payload: { refreshToken: s.refreshToken },
        });
      const codes = (await Promise.all([send(), send()])).map((r) => r.statusCode).sort();
      assert.deepEqual(codes, [200, 401]);
    });

    test('logout ends the session: access and refresh tokens stop working', async () => {
      await createUser(hub, orgId, 'owner', 'logout@example.test');
      const s = await login(hub, 'logout@example.test');
      const out = await as(hub, s.accessToken, 'POST', '/api/v1/auth/logout');
      assert.equal(out.statusCode, 204);
      assert.equal((await as(hub, s.accessToken, 'GET', '/api/v1/auth/me')).statusCode, 401);
      const r = await hub.app.inject({
        method: 'POST',
        url: '/api/v1/auth/refresh',
        payload: { refreshToken: s.refreshToken },
      });
      assert.equal(r.statusCode, 401);
    });

    test('an expired access token answers WF_TOKEN_EXPIRED; refresh still works', async () => {
      await createUser(hub, orgId, 'owner', 'expire@example.test');
      const s = await login(hub, 'expire@example.test');
      const identity = hub.app.hub.identity;
      assert.ok(identity);
      const realNow = identity.options.now;
      identity.options.now = () => Date.now() + 16 * 60_000;
      try {
        const r = await as(hub, s.accessToken, 'GET', '/api/v1/auth/me');
        assert.equal(r.statusCode, 401);
        assert.equal(r.json().code, 'WF_TOKEN_EXPIRED');
        const fresh = await hub.app.inject({
          method: 'POST',
          url: '/api/v1/auth/refresh',
          payload: { refreshToken: s.refreshToken },
        });
        assert.equal(fresh.statusCode, 200);
        assert.equal((await as(hub, fresh.json().accessToken, 'GET', '/api/v1/auth/me')).statusCode, 200);
      } finally {
        identity.options.now = realNow;
      }
    });

    test('a tampered token is refused', async () => {
      await createUser(hub, orgId, 'owner', 'tamper@example.test');
      const s = await login(hub, 'tamper@example.test');
      const [h, p, sig] = s.accessToken.split('.') as [string, string, string];
      const claims = JSON.parse(Buffer.from(p, 'base64url').toString());
      claims.sub = '00000000-0000-4000-8000-000000000000';
      const forged = `${h}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${sig}`;
      const r = await as(hub, forged, 'GET', '/api/v1/auth/me');
      assert.equal(r.statusCode, 401);
      assert.equal(r.json().code, 'WF_TOKEN_INVALID');
    });

    test('a disabled user cannot log in and their live tokens stop working', async () => {
      const id = await createUser(hub, orgId, 'owner', 'disable@example.test');
      const s = await login(hub, 'disable@example.test');
      const d = await hub.admin('PATCH', `/api/v1/users/${id}`, { disabled: true });
      assert.equal(d.statusCode, 200, d.body);
      assert.equal(d.json().disabled, true);
      const me = await as(hub, s.accessToken, 'GET', '/api/v1/auth/me');
      assert.equal(me.statusCode, 401);
      const r = await hub.app.inject({
        method: 'POST',
        url: '/api/v1/auth/refresh',
        payload: { refreshToken: s.refreshToken },
      });
      assert.equal(r.statusCode, 401);
      const again = await hub.app.inject({
        method: 'POST',
        url: '/api/v1/auth/login',
        payload: { email: 'disable@example.test', password: PASSWORD },
      });
      assert.equal(again.statusCode, 403);
      assert.equal(again.json().code, 'WF_USER_DISABLED');
      // Re-enabled: can log in again.
      assert.equal((await hub.admin('PATCH', `/api/v1/users/${id}`, { disabled: false })).statusCode, 200);
      await login(hub, 'disable@example.test');
    });

    test('password change keeps this session, ends the others, and the old password', async () => {
      await createUser(hub, orgId, 'owner', 'change@example.test');
      const here = await login(hub, 'change@example.test');
      const other = await login(hub, 'change@example.test');
      const wrong = await as(hub, here.accessToken, 'POST', '/api/v1/auth/password', {
        currentPassword: 'bad-bad-bad',
        newPassword: 'a new long password',
      });
      assert.equal(wrong.statusCode, 401);
      const short = await as(hub, here.accessToken, 'POST', '/api/v1/auth/password', {
        currentPassword: PASSWORD,
        newPassword: 'short',
      });
      assert.equal(short.statusCode, 400);
      const ok = await as(hub, here.accessToken, 'POST', '/api/v1/auth/password', {
        currentPassword: PASSWORD,
        newPassword: 'a new long password',
      });
      assert.equal(ok.statusCode, 204, ok.body);
      assert.equal((await as(hub, here.accessToken, 'GET', '/api/v1/auth/me')).statusCode, 200);
      assert.equal((await as(hub, other.accessToken, 'GET', '/api/v1/auth/me')).statusCode, 401);
      await assert.rejects(login(hub, 'change@example.test'), /401/);
      await login(hub, 'change@example.test', 'a new long password');
    });

    test('admin reset gives a temporary password that must be changed; old sessions end', async () => {
      const id = await createUser(hub, orgId, 'owner', 'reset@example.test');
      const old = await login(hub, 'reset@example.test');
      const r = await hub.admin('POST', `/api/v1/users/${id}/reset-password`, {});
      assert.equal(r.statusCode, 200, r.body);
      const temp = r.json().temporaryPassword as string;
      assert.ok(temp.length >= 10);
      assert.equal((await as(hub, old.accessToken, 'GET', '/api/v1/auth/me')).statusCode, 401);
      const res = await hub.app.inject({
        method: 'POST',
        url: '/api/v1/auth/login',
        payload: { email: 'reset@example.test', password: temp },
      });
      assert.equal(res.statusCode, 200);
      assert.equal(res.json().mustChangePassword, true);
    });

    test('ensureFirstAdmin creates one admin once, with a generated password printed once', async () => {
      const printed: string[] = [];
      const first = await ensureFirstAdmin(hub.app.hub, {}, (l) => printed.push(l));
      assert.equal(first.created, true);
      assert.ok(first.generatedPassword);
      assert.ok(printed.some((l) => l.includes(first.generatedPassword as string)));
      const second = await ensureFirstAdmin(hub.app.hub, {}, (l) => printed.push(l));
      assert.equal(second.created, false);
      assert.equal(printed.length, 2);
      const s = await login(hub, first.email as string, first.generatedPassword);
      // The generated password is temporary: nothing but the password change answers until then.
      const before = await as(hub, s.accessToken, 'GET', '/api/v1/users');
      assert.equal(before.statusCode, 403);
      assert.equal(before.json().code, 'WF_PASSWORD_CHANGE_REQUIRED');
      const changed = await as(hub, s.accessToken, 'POST', '/api/v1/auth/password', {
        currentPassword: first.generatedPassword,
        newPassword: 'the first admin chose this',
      });
      assert.equal(changed.statusCode, 204, changed.body);
      const users = await as(hub, s.accessToken, 'GET', '/api/v1/users');
      assert.equal(users.statusCode, 200);
    });
  });
}

describe('first admin from the environment', () => {
  test('uses WATTFLEET_ADMIN_EMAIL / WATTFLEET_ADMIN_PASSWORD and prints no password', async () => {
    const hub = await startTestHub('pglite');
    try {
      const printed: string[] = [];
      const r = await ensureFirstAdmin(
        hub.app.hub,
        { WATTFLEET_ADMIN_EMAIL: 'Ops@Example.test', WATTFLEET_ADMIN_PASSWORD: 'an operator password' },
        (l) => printed.push(l),
      );
      assert.deepEqual(r, { created: true, email: 'ops@example.test' });
      assert.ok(printed.every((l) => !l.includes('an operator password')));
      await login(hub, 'ops@example.test', 'an operator password');
    } finally {
      await hub.close();
    }
  });
});

describe('brute force', () => {
  // Per-account throttling (which no longer locks the owner out): login-throttle.test.ts.
  test('login is rate limited per source address across accounts', async () => {
    const hub = await startTestHub('pglite');
    try {
      let last = 0;
      for (let i = 0; i < 31; i++) {
        const r = await hub.app.inject({
          method: 'POST',
          url: '/api/v1/auth/login',
          payload: { email: `u${i}@example.test`, password: 'whatever-xx' },
          remoteAddress: '203.0.113.50',
        });
        last = r.statusCode;
      }
      assert.equal(last, 429);
    } finally {
      await hub.close();
    }
  });
});
