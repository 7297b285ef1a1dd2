// The audit trail: each admin action, grant change, enrollment and login (success and failure)
// leaves an entry with who, what, target, when, result and source address; admins read it with
// filters and paging; nobody else can.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ENGINES } from '../helpers/engines.ts';
import { startTestHub, type TestHub, TestNode } from '../helpers/hub.ts';
import { as, createOrg, createUser, login, PASSWORD } from './helpers.ts';

interface Entry {
  id: number;
  at: string;
  actorType: string;
  actorId: string | null;
  action: string;
  targetType: string | null;
  targetId: string | null;
  result: string;
  sourceIp: string | null;
}

for (const engine of ENGINES) {
  describe(`audit on ${engine}`, () => {
    let hub: TestHub;
    let adminToken: string;
    let adminId: string;
    before(async () => {
      hub = await startTestHub(engine);
    });
    after(async () => hub?.close());

    const entries = async (query = ''): Promise<{ items: Entry[]; nextCursor: number | null }> => {
      const r = await as(hub, adminToken, 'GET', `/api/v1/audit${query}`);
      assert.equal(r.statusCode, 200, r.body);
      return r.json();
    };

    test('each action leaves an entry with who, what, target, result and source address', async () => {
      const op = await createOrg(hub, 'operator');
      const household = await createOrg(hub, 'household');
      const installer = await createOrg(hub, 'installer');
      adminId = await createUser(hub, op, 'admin', 'boss@example.test');
      adminToken = (await login(hub, 'boss@example.test')).accessToken;
      const remote = { remoteAddress: '192.0.2.44' };
      // login failure (wrong password, unknown email) and success
      await hub.app.inject({
        method: 'POST',
        url: '/api/v1/auth/login',
        payload: { email: 'boss@example.test', password: 'wrong-wrong' },
        ...remote,
      });
      await hub.app.inject({
        method: 'POST',
        url: '/api/v1/auth/login',
        payload: { email: 'ghost@example.test', password: 'wrong-wrong' },
        ...remote,
      });
      const ok = await hub.app.inject({
        method: 'POST',
        url: '/api/v1/auth/login',
        payload: { email: 'boss@example.test', password: PASSWORD },
        ...remote,
      });
      assert.equal(ok.statusCode, 200);
      // admin actions
      const u = await as(hub, adminToken, 'POST', '/api/v1/users', {
        orgId: household,
        role: 'owner',
        email: 'home@example.test',
        password: PASSWORD,
        mustChangePassword: false,
      });
      const ownerId = u.json().id as string;
      await as(hub, adminToken, 'PATCH', `/api/v1/users/${ownerId}`, { role: 'owner', name: 'Home' });
      await as(hub, adminToken, 'POST', `/api/v1/users/${ownerId}/reset-password`, {
        password: PASSWORD,
        mustChangePassword: false,
      });
      await as(hub, adminToken, 'PATCH', `/api/v1/orgs/${household}`, { name: 'Home org' });
      const site = await as(hub, adminToken, 'POST', '/api/v1/sites', {
        orgId: household,
        name: 'Roof',
        timezone: 'Europe/Berlin',
      });
      const siteId = site.json().id as string;
      await as(hub, adminToken, 'PATCH', `/api/v1/sites/${siteId}`, { name: 'Roof 2' });
      // grant changes by the owner
      const ownerToken = (await login(hub, 'home@example.test')).accessToken;
      const g = await as(hub, ownerToken, 'POST', `/api/v1/sites/${siteId}/grants`, { orgId: installer });
      assert.equal(g.statusCode, 201, g.body);
      await as(hub, ownerToken, 'DELETE', `/api/v1/sites/${siteId}/grants/${g.json().id}`);
      // a denied admin action by a non-admin
      await as(hub, ownerToken, 'POST', '/api/v1/users', {
        orgId: household,
        role: 'admin',
        email: 'sneaky@example.test',
        password: PASSWORD,
      });
      // enrollment
      const node = await TestNode.enroll(hub, siteId);
      await as(hub, adminToken, 'PATCH', `/api/v1/users/${ownerId}`, { disabled: true });

      const { items } = await entries('?limit=500');
      const has = (action: string, result: string, extra: (e: Entry) => boolean = () => true) =>
        assert.ok(
          items.some((e) => e.action === action && e.result === result && extra(e)),
          `missing ${action}/${result}`,
        );
      has('auth.login', 'failed', (e) => e.targetId === adminId && e.sourceIp === '192.0.2.44');
      has('auth.login', 'failed', (e) => e.actorType === 'anonymous' && e.sourceIp === '192.0.2.44');
      has('auth.login', 'ok', (e) => e.actorId === adminId && e.sourceIp === '192.0.2.44');
      has('user.create', 'ok', (e) => e.actorId === adminId && e.targetId === ownerId);
      has('user.update', 'ok', (e) => e.targetId === ownerId);
      has('user.reset_password', 'ok', (e) => e.targetId === ownerId);
      has('user.disable', 'ok', (e) => e.targetId === ownerId);
      has('user.create', 'denied', (e) => e.actorId === ownerId);
      has('org.create', 'ok', (e) => e.targetId === household);
      has('org.update', 'ok', (e) => e.targetId === household);
      has('site.create', 'ok', (e) => e.targetId === siteId);
      has('site.update', 'ok', (e) => e.targetId === siteId);
      has('grant.create', 'ok', (e) => e.actorId === ownerId && e.targetId === siteId);
      has('grant.revoke', 'ok', (e) => e.actorId === ownerId && e.targetId === siteId);
      has('enrollment_code.create', 'ok');
      has('node.enroll', 'ok', (e) => e.targetId === node.nodeId);
      for (const e of items) assert.ok(!Number.isNaN(Date.parse(e.at)));
    });

    test('refresh reuse, logout and password change are audited', async () => {
      const org = await createOrg(hub, 'household');
      const id = await createUser(hub, org, 'owner', 'audited@example.test');
      const s = await login(hub, 'audited@example.test');
      const r = await hub.app.inject({
        method: 'POST',
        url: '/api/v1/auth/refresh',
        payload: { refreshToken: s.refreshToken },
      });
      const s2 = r.json();
      await hub.app.inject({
        method: 'POST',
        url: '/api/v1/auth/refresh',
        payload: { refreshToken: s.refreshToken },
      });
      const s3 = await login(hub, 'audited@example.test');
      await as(hub, s3.accessToken, 'POST', '/api/v1/auth/password', {
        currentPassword: PASSWORD,
        newPassword: 'another long one',
      });
      await as(hub, s3.accessToken, 'POST', '/api/v1/auth/logout');
      assert.ok(s2.accessToken);
      const { items } = await entries(`?actor=${id}`);
      const actions = items.map((e) => `${e.action}/${e.result}`).reverse();
      assert.deepEqual(actions, [
        'auth.login/ok',
        'auth.refresh_reuse/denied',
        'auth.login/ok',
        'auth.password_change/ok',
        'auth.logout/ok',
      ]);
    });

    test('filters by action prefix, result, target and time, pages by cursor', async () => {
      const logins = await entries('?action=auth.*&limit=500');
      assert.ok(logins.items.length >= 4);
      assert.ok(logins.items.every((e) => e.action.startsWith('auth.')));
      const failed = await entries('?action=auth.login&result=failed');
      assert.ok(failed.items.length >= 2 && failed.items.every((e) => e.result === 'failed'));
      const future = await entries(
        `?from=${encodeURIComponent(new Date(Date.now() + 3600_000).toISOString())}`,
      );
      assert.deepEqual(future.items, []);
      const past = await entries(`?to=${encodeURIComponent(new Date(Date.now() - 3600_000).toISOString())}`);
      assert.deepEqual(past.items, []);
      // Paging: walk everything two at a time; no duplicates, no gaps, newest first.
      const all = (await entries('?limit=500')).items.map((e) => e.id);
      const walked: number[] = [];
      let cursor: number | null = null;
      do {
        const page: { items: Entry[]; nextCursor: number | null } = await entries(
          `?limit=2${cursor ? `&cursor=${cursor}` : ''}`,
        );
        walked.push(...page.items.map((e) => e.id));
        cursor = page.nextCursor;
      } while (cursor);
      assert.deepEqual(walked, all);
      assert.deepEqual(
        [...all].sort((a, b) => b - a),
        all,
      );
    });

    test('only admins read the audit log', async () => {
      const org = await createOrg(hub, 'installer');
      await createUser(hub, org, 'installer', 'peek@example.test');
      const t = (await login(hub, 'peek@example.test')).accessToken;
      const r = await as(hub, t, 'GET', '/api/v1/audit');
      assert.equal(r.statusCode, 403);
      assert.equal((await hub.app.inject({ method: 'GET', url: '/api/v1/audit' })).statusCode, 401);
    });
  });
}
