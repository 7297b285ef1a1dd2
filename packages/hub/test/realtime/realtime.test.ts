// Realtime WebSocket: authentication (first message; a token in the URL is refused), subscriptions limited to
// what the caller may see (a foreign site or node is refused and nothing of it is ever sent),
// live snapshots, status and command updates of visible sites, and a slow client being dropped.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { topics } from '@wattfleet/protocol';
import WebSocket from 'ws';
import type { Actor } from '../../src/auth/actor.ts';
import { ENGINES } from '../helpers/engines.ts';
import { createSite, type Fixture, TestNode } from '../helpers/hub.ts';
import { connectNode, type MqttTestHub, startMqttHub, status, waitFor } from '../mqtt/mqtt-helpers.ts';

interface Received {
  type: string;
  event?: string;
  data?: { siteId?: string; nodeId?: string; snapshot?: unknown };
  refused?: { siteIds: string[]; nodeIds: string[] };
  siteIds?: string[];
  code?: string;
}

/** Opens a socket; with a token, authenticates with it as the first message. */
async function open(
  base: string,
  token?: string,
  query = '',
): Promise<{ ws: WebSocket; got: Received[]; closed: Promise<number> }> {
  const ws = new WebSocket(`${base}/api/v1/realtime${query}`);
  const got: Received[] = [];
  ws.on('message', (m) => got.push(JSON.parse(m.toString())));
  const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  if (token) ws.send(JSON.stringify({ type: 'auth', token }));
  return { ws, got, closed };
}

// The bus and the fan-out do not touch storage, but subscriptions resolve scopes in the database.
for (const engine of ENGINES) {
  describe(`realtime on ${engine}`, () => {
    let hub: MqttTestHub;
    let base: string;
    let mine: Fixture;
    let theirs: Fixture;
    let myNode: TestNode;
    let theirNode: TestNode;
    const tokens = new Map<string, Actor>();

    before(async () => {
      hub = await startMqttHub(engine, { realtimeMaxBufferedBytes: 64 * 1024 });
      hub.app.bearerAuthenticators.push(async (t) => tokens.get(t));
      mine = await createSite(hub, { name: 'Mine' });
      theirs = await createSite(hub, { name: 'Theirs' });
      myNode = await TestNode.enroll(hub, mine.siteId);
      theirNode = await TestNode.enroll(hub, theirs.siteId);
      tokens.set('owner-mine', {
        kind: 'user',
        role: 'owner',
        orgId: mine.orgId,
        userId: crypto.randomUUID(),
      });
      await hub.app.listen({ host: '127.0.0.1', port: 0 });
      const addr = hub.app.server.address() as { port: number };
      base = `ws://127.0.0.1:${addr.port}`;
    });
    after(async () => hub?.close());

    it('refuses a foreign site and node, and sends nothing of them', async () => {
      const c = await open(base, 'owner-mine');
      try {
        await waitFor(() => c.got.find((m) => m.type === 'ready'));
        c.ws.send(
          JSON.stringify({
            type: 'subscribe',
            siteIds: [mine.siteId, theirs.siteId, crypto.randomUUID()],
            nodeIds: [theirNode.nodeId],
          }),
        );
        const subscribed = await waitFor(() => c.got.find((m) => m.type === 'subscribed'));
        assert.deepEqual(subscribed.siteIds, [mine.siteId]);
        const refusal = c.got.find((m) => m.type === 'error');
        assert.equal(refusal?.code, 'WF_FORBIDDEN');
        assert.equal(refusal?.refused?.siteIds.length, 2);
        assert.ok(refusal?.refused?.siteIds.includes(theirs.siteId));
        assert.deepEqual(refusal?.refused?.nodeIds, [theirNode.nodeId]);

        // Both nodes publish live data and go online; only mine may arrive.
        const m1 = await connectNode(hub.url, myNode);
        const m2 = await connectNode(hub.url, theirNode);
        try {
          const live = JSON.stringify({ ts: Date.now(), values: { solar_w: 1 } });
          await m2.publishAsync(topics.live(theirNode.nodeId), live, { qos: 0 });
          await m2.publishAsync(topics.status(theirNode.nodeId), status(), { qos: 1 });
          await waitFor(async () => hub.cp.stats.live.handled >= 1);
          await waitFor(
            async () =>
              (await hub.admin('GET', `/api/v1/nodes/${theirNode.nodeId}`)).json().status === 'online',
          );
          await m1.publishAsync(topics.live(myNode.nodeId), live, { qos: 0 });
          await m1.publishAsync(topics.status(myNode.nodeId), status(), { qos: 1 });
          await waitFor(() => c.got.find((m) => m.event === 'node.live'));
          await waitFor(() => c.got.find((m) => m.event === 'node.status'));
          const created = await hub.admin('POST', `/api/v1/nodes/${myNode.nodeId}/commands`, {
            type: 'DIAGNOSTICS',
          });
          assert.equal(created.statusCode, 201);
          await hub.admin('POST', `/api/v1/nodes/${theirNode.nodeId}/commands`, { type: 'DIAGNOSTICS' });
          await waitFor(() => c.got.find((m) => m.event === 'command.updated'));
          hub.app.hub.bus.emitEvent('alert.updated', { alertId: 'a1', siteId: theirs.siteId, state: 'open' });
          hub.app.hub.bus.emitEvent('alert.updated', { alertId: 'a2', siteId: mine.siteId, state: 'open' });
          await waitFor(() => c.got.find((m) => m.event === 'alert.updated'));
          const events = c.got.filter((m) => m.type === 'event');
          assert.ok(events.length >= 4, JSON.stringify(c.got));
          for (const e of events) assert.equal(e.data?.siteId, mine.siteId, JSON.stringify(e));
          // Only the refusal itself ever names their node.
          assert.ok(!JSON.stringify(events).includes(theirNode.nodeId));
          assert.ok(!JSON.stringify(events).includes(theirs.siteId));
        } finally {
          await m1.endAsync();
          await m2.endAsync();
        }
      } finally {
        c.ws.close();
      }
    });

    it('authenticates by first message, and closes on a bad token or a subscribe before auth', async () => {
      const a = await open(base);
      a.ws.send(JSON.stringify({ type: 'auth', token: 'owner-mine' }));
      await waitFor(() => a.got.find((m) => m.type === 'ready'));
      a.ws.close();
      const b = await open(base);
      b.ws.send(JSON.stringify({ type: 'auth', token: 'nope' }));
      assert.equal(await b.closed, 4401);
      assert.equal(b.got[0]?.code, 'WF_TOKEN_INVALID');
      const c = await open(base);
      c.ws.send(JSON.stringify({ type: 'subscribe', siteIds: [mine.siteId] }));
      assert.equal(await c.closed, 4401);
      assert.equal(c.got[0]?.code, 'WF_UNAUTHENTICATED');
    });

    it('refuses a token in the URL (URLs are logged), whatever the token', async () => {
      const c = await open(base, undefined, '?token=owner-mine');
      assert.equal(await c.closed, 4401);
      assert.equal(c.got[0]?.code, 'WF_TOKEN_IN_URL');
      assert.equal(
        c.got.some((m) => m.type === 'ready'),
        false,
      );
    });

    it('drops a client that does not read instead of buffering without bound', async () => {
      const c = await open(base, 'owner-mine');
      await waitFor(() => c.got.find((m) => m.type === 'ready'));
      c.ws.send(JSON.stringify({ type: 'subscribe', siteIds: [mine.siteId] }));
      await waitFor(() => c.got.find((m) => m.type === 'subscribed'));
      // Stop reading: the kernel buffers fill, then the hub's unsent bytes grow past the bound.
      (c.ws as unknown as { _socket: { pause(): void } })._socket.pause();
      const values: Record<string, number> = {};
      for (let i = 0; i < 2000; i++) values[`x_m${i}`] = i;
      const dropped = hub.cp.realtime.dropped;
      for (let i = 0; i < 2000 && hub.cp.realtime.dropped === dropped; i++) {
        hub.app.hub.bus.emitEvent('node.live', {
          nodeId: myNode.nodeId,
          siteId: mine.siteId,
          snapshot: { ts: Date.now(), values },
        });
        if (i % 50 === 49) await new Promise((r) => setImmediate(r));
      }
      assert.equal(hub.cp.realtime.dropped, dropped + 1);
      (c.ws as unknown as { _socket: { resume(): void } })._socket.resume();
      await c.closed;
    });
  });
}
