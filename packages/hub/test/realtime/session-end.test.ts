// A realtime socket never outlives its session: disable, logout, refresh-token reuse, admin reset,
// password change (other sessions) and access-token expiry close it with 4401 and the reason, and
// nothing is sent to it after the session ended, while other users' sockets keep receiving. The
// periodic re-check finds sessions ended behind this hub's back (another hub, the database) and
// narrows subscriptions when a grant is revoked. Real hub, real database, real WebSocket clients;
// the events are put on the hub's bus directly (no broker needed for the fan-out).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import WebSocket from 'ws';
import { ENGINES } from '../helpers/engines.ts';
import { createSite, type Fixture, startTestHub, type TestHub } from '../helpers/hub.ts';
import { as, createOrg, createUser, type Login, login } from '../identity/helpers.ts';
import { waitFor } from '../mqtt/mqtt-helpers.ts';

interface Received {
  type: string;
  code?: string;
  event?: string;
  data?: { snapshot?: { n?: number } };
  siteIds?: string[];
  refused?: { siteIds: string[]; nodeIds: string[] };
}

interface Client {
  ws: WebSocket;
  got: Received[];
  closed: Promise<{ code: number; reason: string }>;
  /** Live snapshots received, by their marker n. */
  live(): number[];
}

for (const engine of ENGINES) {
  describe(`realtime sockets end with their session on ${engine}`, () => {
    let hub: TestHub;
    let base: string;
    let site: Fixture;
    let users = 0;
    let marker = 0;
    const nodeId = crypto.randomUUID();

    before(async () => {
      hub = await startTestHub(engine);
      site = await createSite(hub, { name: 'Home' });
      await hub.app.listen({ host: '127.0.0.1', port: 0 });
      base = `ws://127.0.0.1:${(hub.app.server.address() as { port: number }).port}`;
    });
    after(async () => hub?.close());

    /** A new owner of the site, logged in once (more sessions: login again). */
    const person = async (role: 'owner' | 'installer' = 'owner', orgId = site.orgId) => {
      users += 1;
      const email = `user${users}@example.test`;
      const id = await createUser(hub, orgId, role, email);
      return { id, email, session: await login(hub, email) };
    };

    const connect = async (token: string, siteIds = [site.siteId]): Promise<Client> => {
      const ws = new WebSocket(`${base}/api/v1/realtime`);
      const got: Received[] = [];
      ws.on('message', (m) => got.push(JSON.parse(m.toString())));
      const closed = new Promise<{ code: number; reason: string }>((resolve) =>
        ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
      );
      await new Promise<void>((resolve, reject) => {
        ws.once('open', () => resolve());
        ws.once('error', reject);
      });
      ws.send(JSON.stringify({ type: 'auth', token }));
      await waitFor(() => got.find((m) => m.type === 'ready'));
      ws.send(JSON.stringify({ type: 'subscribe', siteIds }));
      await waitFor(() => got.find((m) => m.type === 'subscribed'));
      const live = () => got.filter((m) => m.event === 'node.live').map((m) => m.data?.snapshot?.n ?? -1);
      return { ws, got, closed, live };
    };

    /** Publishes one live snapshot of the site and returns its marker. */
    const publish = () => {
      marker += 1;
      hub.app.hub.bus.emitEvent('node.live', { nodeId, siteId: site.siteId, snapshot: { n: marker } });
      return marker;
    };

    /** The ended socket got `code` last, closed with 4401, and nothing after `lastSeen`. */
    const assertEnded = async (c: Client, code: string, lastSeen: number) => {
      const closed = await c.closed;
      assert.deepEqual(closed, { code: 4401, reason: code });
      assert.equal(c.got.at(-1)?.code, code, JSON.stringify(c.got));
      assert.ok(
        c.live().every((n) => n <= lastSeen),
        `nothing after the end: ${c.live()}`,
      );
    };

    /** The witness socket still receives: proves events went out after the other one ended. */
    const stillReceives = async (c: Client) => {
      const n = publish();
      await waitFor(() => c.live().includes(n));
      assert.equal(c.ws.readyState, WebSocket.OPEN);
      return n;
    };

    test("a disabled user's socket is closed and gets no further events; another user's keeps working", async () => {
      const victim = await person();
      const other = await person();
      const a = await connect(victim.session.accessToken);
      const b = await connect(other.session.accessToken);
      try {
        const first = publish();
        await waitFor(() => a.live().includes(first) && b.live().includes(first));
        const res = await hub.admin('PATCH', `/api/v1/users/${victim.id}`, { disabled: true });
        assert.equal(res.statusCode, 200, res.body);
        // Emitted before the client can even have seen the close: must not reach it.
        publish();
        await assertEnded(a, 'WF_USER_DISABLED', first);
        await stillReceives(b);
        assert.deepEqual(a.live(), [first]);
        // A new socket with the same token is refused with the reason.
        const again = new WebSocket(`${base}/api/v1/realtime`);
        again.once('open', () =>
          again.send(JSON.stringify({ type: 'auth', token: victim.session.accessToken })),
        );
        const refused = await new Promise<number>((resolve) => again.on('close', (code) => resolve(code)));
        assert.equal(refused, 4401);
      } finally {
        b.ws.close();
      }
    });

    test('logout closes the socket of that session only', async () => {
      const p = await person();
      const second = await login(hub, p.email);
      const a = await connect(p.session.accessToken);
      const b = await connect(second.accessToken);
      try {
        const seen = await stillReceives(a);
        const out = await as(hub, p.session.accessToken, 'POST', '/api/v1/auth/logout');
        assert.equal(out.statusCode, 204, out.body);
        await assertEnded(a, 'WF_TOKEN_INVALID', seen);
        await stillReceives(b);
      } finally {
        b.ws.close();
      }
    });

    test('refresh-token reuse revokes the family and closes its socket', async () => {
      const p = await person();
      const a = await connect(p.session.accessToken);
      const seen = await stillReceives(a);
      const refresh = (token: string) =>
        hub.app.inject({ method: 'POST', url: '/api/v1/auth/refresh', payload: { refreshToken: token } });
      assert.equal((await refresh(p.session.refreshToken)).statusCode, 200);
      // The socket survives a normal rotation (same session)...
      const rotated = await stillReceives(a);
      // ...but not the reuse of the spent token.
      const reuse = await refresh(p.session.refreshToken);
      assert.equal(reuse.json().code, 'WF_REFRESH_REUSED');
      await assertEnded(a, 'WF_TOKEN_INVALID', Math.max(seen, rotated));
    });

    test("an admin password reset closes every socket of the user; a password change closes the others'", async () => {
      const p = await person();
      const second: Login = await login(hub, p.email);
      const a = await connect(p.session.accessToken);
      const b = await connect(second.accessToken);
      const seen = await stillReceives(a);
      await waitFor(() => b.live().includes(seen));
      const reset = await hub.admin('POST', `/api/v1/users/${p.id}/reset-password`, {
        password: 'another horse battery',
      });
      assert.equal(reset.statusCode, 200, reset.body);
      await assertEnded(a, 'WF_TOKEN_INVALID', seen);
      await assertEnded(b, 'WF_TOKEN_INVALID', seen);

      const q = await person();
      const mine = await login(hub, q.email);
      const keep = await connect(mine.accessToken);
      const lose = await connect(q.session.accessToken);
      try {
        const before = await stillReceives(lose);
        const changed = await as(hub, mine.accessToken, 'POST', '/api/v1/auth/password', {
          currentPassword: 'correct horse battery',
          newPassword: 'a brand new horse battery',
        });
        assert.equal(changed.statusCode, 204, changed.body);
        await assertEnded(lose, 'WF_TOKEN_INVALID', before);
        await stillReceives(keep);
      } finally {
        keep.ws.close();
      }
    });

    test('an expired access token closes the socket; a fresh token sent on the socket extends it', async () => {
      const expiring = await person();
      const renewing = await person();
      const a = await connect(expiring.session.accessToken);
      const b = await connect(renewing.session.accessToken);
      const identity = hub.app.hub.identity!;
      const realNow = identity.options.now;
      let c: Client | undefined;
      try {
        const seen = await stillReceives(a);
        identity.options.now = () => Date.now() + 16 * 60_000;
        // A token issued at the new time (by a refresh) is valid; sent on socket b it extends b.
        const fresh = await hub.app.inject({
          method: 'POST',
          url: '/api/v1/auth/refresh',
          payload: { refreshToken: renewing.session.refreshToken },
        });
        assert.equal(fresh.statusCode, 200, fresh.body);
        const readies = b.got.filter((m) => m.type === 'ready').length;
        b.ws.send(JSON.stringify({ type: 'auth', token: fresh.json().accessToken }));
        await waitFor(() => b.got.filter((m) => m.type === 'ready').length > readies);
        c = await connect((await person()).session.accessToken);
        await hub.app.hub.realtime!.recheckSessions();
        await assertEnded(a, 'WF_TOKEN_EXPIRED', seen);
        await stillReceives(b);
        await stillReceives(c);
        // Someone else's token cannot take over a socket.
        const stranger = (await person()).session;
        b.ws.send(JSON.stringify({ type: 'auth', token: stranger.accessToken }));
        assert.equal((await b.closed).code, 4401);
        assert.equal(b.got.at(-1)?.code, 'WF_FORBIDDEN');
      } finally {
        identity.options.now = realNow;
        b.ws.close();
        c?.ws.close();
      }
    });

    test('the periodic re-check ends sockets whose session ended behind this hub (another hub, the database)', async () => {
      const revoked = await person();
      const disabled = await person();
      const witness = await person();
      const a = await connect(revoked.session.accessToken);
      const b = await connect(disabled.session.accessToken);
      const w = await connect(witness.session.accessToken);
      try {
        const db = hub.tdb.database.db;
        await db
          .updateTable('auth_sessions')
          .set({ revoked_at: new Date(), revoke_reason: 'other hub' })
          .where('user_id', '=', revoked.id)
          .execute();
        await db
          .updateTable('users')
          .set({ disabled_at: new Date() })
          .where('id', '=', disabled.id)
          .execute();
        // No bus event: until the re-check the sockets do not know.
        const seen = await stillReceives(a);
        await hub.app.hub.realtime!.recheckSessions();
        await assertEnded(a, 'WF_TOKEN_INVALID', seen);
        await assertEnded(b, 'WF_USER_DISABLED', seen);
        await stillReceives(w);
      } finally {
        w.ws.close();
      }
    });

    test("a revoked grant drops the installer's subscription on the re-check; the socket stays open", async () => {
      const crew = await createOrg(hub, 'installer', 'Crew');
      const installer = await person('installer', crew);
      const grant = await hub.admin('POST', `/api/v1/sites/${site.siteId}/grants`, { orgId: crew });
      assert.equal(grant.statusCode, 201, grant.body);
      const i = await connect(installer.session.accessToken);
      const owner = await connect((await person()).session.accessToken);
      try {
        assert.deepEqual(i.got.find((m) => m.type === 'subscribed')?.siteIds, [site.siteId]);
        const seen = await stillReceives(i);
        const revoke = await hub.admin('DELETE', `/api/v1/sites/${site.siteId}/grants/${grant.json().id}`);
        assert.equal(revoke.statusCode, 200, revoke.body);
        await hub.app.hub.realtime!.recheckSessions();
        // The hub has sent it; the client may not have read it yet.
        const dropped = await waitFor(() =>
          i.got.find((m) => m.type === 'error' && m.code === 'WF_FORBIDDEN'),
        );
        assert.deepEqual(dropped.refused, { siteIds: [site.siteId], nodeIds: [] });
        await waitFor(() => i.got.at(-1)?.siteIds?.length === 0);
        assert.deepEqual(i.got.at(-1), { type: 'subscribed', siteIds: [], nodeIds: [] });
        await stillReceives(owner);
        assert.deepEqual(i.live(), [seen]);
        assert.equal(i.ws.readyState, WebSocket.OPEN);
      } finally {
        i.ws.close();
        owner.ws.close();
      }
    });
  });
}
