// Issue 19 item 5: a temporary password (set by an admin, mustChangePassword) used to open the
// whole API. Until it is changed, only the password change, the profile and logout answer; every
// other route, and the realtime socket, refuse with WF_PASSWORD_CHANGE_REQUIRED.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import WebSocket from 'ws';
import { ENGINES } from '../helpers/engines.ts';
import { createSite, startTestHub, type TestHub } from '../helpers/hub.ts';
import { as, login } from './helpers.ts';

for (const engine of ENGINES) {
  describe(`temporary passwords on ${engine}`, () => {
    let hub: TestHub;
    let orgId: string;
    before(async () => {
      hub = await startTestHub(engine);
      orgId = (await createSite(hub)).orgId;
    });
    after(async () => hub?.close());

    test('until changed, only /auth/password, /auth/me and logout answer', async () => {
      const made = await hub.admin('POST', '/api/v1/users', {
        orgId,
        role: 'owner',
        email: 'temp@example.test',
      });
      assert.equal(made.statusCode, 201, made.body);
      const temp = made.json().temporaryPassword as string;
      const s = await login(hub, 'temp@example.test', temp);
      for (const url of ['/api/v1/sites', '/api/v1/users', '/api/v1/orgs', `/api/v1/orgs/${orgId}`]) {
        const r = await as(hub, s.accessToken, 'GET', url);
        assert.equal(r.statusCode, 403, `${url}: ${r.body}`);
        assert.equal(r.json().code, 'WF_PASSWORD_CHANGE_REQUIRED');
      }
      const me = await as(hub, s.accessToken, 'GET', '/api/v1/auth/me');
      assert.equal(me.statusCode, 200);
      assert.equal(me.json().mustChangePassword, true);

      // The realtime socket is refused too.
      const base = await hub.app.listen({ port: 0, host: '127.0.0.1' });
      const ws = new WebSocket(`${base.replace('http', 'ws')}/api/v1/realtime`);
      await new Promise((r) => ws.once('open', r));
      ws.send(JSON.stringify({ type: 'auth', token: s.accessToken }));
      const first = await new Promise<{ code: string }>((r) =>
        ws.once('message', (m) => r(JSON.parse(String(m)))),
      );
      assert.equal(first.code, 'WF_PASSWORD_CHANGE_REQUIRED');
      ws.close();

      const changed = await as(hub, s.accessToken, 'POST', '/api/v1/auth/password', {
        currentPassword: temp,
        newPassword: 'my very own password',
      });
      assert.equal(changed.statusCode, 204, changed.body);
      assert.equal((await as(hub, s.accessToken, 'GET', '/api/v1/sites')).statusCode, 200);

      // An admin reset makes it temporary again; logout still answers meanwhile.
      await hub.admin('POST', `/api/v1/users/${made.json().id}/reset-password`, {});
      const again = await hub.admin('GET', `/api/v1/users/${made.json().id}`);
      assert.equal(again.json().mustChangePassword, true);
      const reset = await hub.admin('POST', `/api/v1/users/${made.json().id}/reset-password`, {});
      const s2 = await login(hub, 'temp@example.test', reset.json().temporaryPassword);
      assert.equal((await as(hub, s2.accessToken, 'GET', '/api/v1/sites')).statusCode, 403);
      assert.equal((await as(hub, s2.accessToken, 'POST', '/api/v1/auth/logout')).statusCode, 204);
    });
  });
}
