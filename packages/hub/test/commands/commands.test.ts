// Commands end to end on the embedded broker: whitelist and per-type arguments, roles, the
// lifecycle driven by the node's responses, an offline node getting its commands on return,
// expiry, failure, cancel, listing, log uploads, broadcast, and the audit trail. Both engines.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type CommandEnvelope, type Role, topics } from '@wattfleet/protocol';
import type { MqttClient } from 'mqtt';
import type { Actor } from '../../src/auth/actor.ts';
import { ENGINES } from '../helpers/engines.ts';
import { createSite, type Fixture, TestNode } from '../helpers/hub.ts';
import { connectNode, type MqttTestHub, sleep, startMqttHub, status, waitFor } from '../mqtt/mqtt-helpers.ts';

/** A node stand-in: receives envelopes, answers with CommandResponses. */
async function nodeClient(hub: MqttTestHub, node: TestNode) {
  const client = await connectNode(hub.url, node);
  const envelopes: CommandEnvelope[] = [];
  const broadcasts: unknown[] = [];
  client.on('message', (topic, payload) => {
    if (topic === topics.commands(node.nodeId)) envelopes.push(JSON.parse(payload.toString()));
    if (topic === 'hub/broadcast') broadcasts.push(JSON.parse(payload.toString()));
  });
  await client.subscribeAsync([topics.commands(node.nodeId), 'hub/broadcast'], { qos: 1 });
  const respond = (id: string, state: string, extra: Record<string, unknown> = {}) =>
    client.publishAsync(
      topics.responses(node.nodeId),
      JSON.stringify({ id, state, ts: Date.now(), ...extra }),
      {
        qos: 1,
      },
    );
  const online = () => client.publishAsync(topics.status(node.nodeId), status(), { qos: 1 });
  return { client, envelopes, broadcasts, respond, online };
}

for (const engine of ENGINES) {
  describe(`commands on ${engine}`, () => {
    let hub: MqttTestHub;
    let site: Fixture;
    let other: Fixture;
    let node: TestNode;
    const tokens = new Map<string, Actor>();
    const as = (token: string) => (method: string, url: string, body?: unknown) =>
      hub.app.inject({
        method: method as 'GET',
        url,
        headers: { authorization: `Bearer ${token}` },
        ...(body !== undefined ? { payload: body as object } : {}),
      });
    const user = (role: Role, orgId: string): string => {
      const token = `test-${role}-${orgId}`;
      tokens.set(token, { kind: 'user', role, orgId, userId: crypto.randomUUID() });
      return token;
    };
    const state = async (nodeId: string, id: string) =>
      (await hub.admin('GET', `/api/v1/nodes/${nodeId}/commands/${id}`)).json();

    before(async () => {
      hub = await startMqttHub(engine);
      // Users come from the identity module elsewhere; here actors are made directly from tokens.
      hub.app.bearerAuthenticators.push(async (token) => tokens.get(token));
      site = await createSite(hub);
      other = await createSite(hub, { name: 'Other' });
      node = await TestNode.enroll(hub, site.siteId);
    });
    after(async () => hub?.close());

    it('refuses unknown types and bad arguments with every problem listed', async () => {
      const unknown = await hub.admin('POST', `/api/v1/nodes/${node.nodeId}/commands`, {
        type: 'SHELL',
        args: {},
      });
      assert.equal(unknown.statusCode, 400);
      const bad = await hub.admin('POST', `/api/v1/nodes/${node.nodeId}/commands`, {
        type: 'RELAY_SET',
        args: { equipment: 'relay 1!', state: 'dim', extra: 1 },
      });
      assert.equal(bad.statusCode, 400, bad.body);
      const body = bad.json();
      assert.equal(body.code, 'WF_VALIDATION');
      const paths = body.problems.map((p: { path: string }) => p.path);
      assert.ok(
        paths.some((p: string) => p.startsWith('/body/args/equipment')),
        JSON.stringify(paths),
      );
      assert.ok(
        paths.some((p: string) => p.startsWith('/body/args/state')),
        JSON.stringify(paths),
      );
      assert.ok(body.problems.length >= 3, JSON.stringify(body.problems));
      const missing = await hub.admin('POST', `/api/v1/nodes/${node.nodeId}/commands`, {
        type: 'SELF_UPDATE',
      });
      assert.equal(missing.statusCode, 400);
    });

    it('allows only the roles listed for a type, and hides foreign nodes', async () => {
      const owner = as(user('owner', site.orgId));
      const restart = await owner('POST', `/api/v1/nodes/${node.nodeId}/commands`, { type: 'RESTART' });
      assert.equal(restart.statusCode, 403, restart.body);
      assert.equal(restart.json().code, 'WF_COMMAND_NOT_ALLOWED');
      const relay = await owner('POST', `/api/v1/nodes/${node.nodeId}/commands`, {
        type: 'RELAY_SET',
        args: { equipment: 'relay1', state: 'on' },
      });
      assert.equal(relay.statusCode, 201, relay.body);
      assert.equal(relay.json().createdBy.type, 'user');
      const installer = as(user('installer', site.orgId));
      const update = await installer('POST', `/api/v1/nodes/${node.nodeId}/commands`, {
        type: 'SELF_UPDATE',
        args: { tag: 'v1.2.3' },
      });
      assert.equal(update.statusCode, 403);
      const stranger = as(user('owner', other.orgId));
      const foreign = await stranger('POST', `/api/v1/nodes/${node.nodeId}/commands`, {
        type: 'RELAY_SET',
        args: { equipment: 'relay1', state: 'on' },
      });
      assert.equal(foreign.statusCode, 404);
      const denied = await hub.app.hub.db
        .selectFrom('audit_log')
        .select(['action', 'result'])
        .where('action', '=', 'command.create')
        .where('result', '=', 'denied')
        .execute();
      assert.equal(denied.length, 2);
    });

    it('runs pending → delivered → running → succeeded from the node responses, audited and announced', async () => {
      const n = await nodeClient(hub, node);
      const updates: string[] = [];
      const off = hub.app.hub.bus.onEvent('command.updated', (e) => updates.push(e.state));
      try {
        await n.online();
        await waitFor(
          async () => (await hub.admin('GET', `/api/v1/nodes/${node.nodeId}`)).json().status === 'online',
        );
        const created = await hub.admin('POST', `/api/v1/nodes/${node.nodeId}/commands`, {
          type: 'RELAY_SET',
          args: { equipment: 'relay1', state: 'toggle' },
        });
        assert.equal(created.statusCode, 201, created.body);
        const id = created.json().id;
        assert.equal(created.json().state, 'pending');
        const env = await waitFor(() => n.envelopes.find((e) => e.id === id));
        assert.equal(env.type, 'RELAY_SET');
        assert.deepEqual(env.args, { equipment: 'relay1', state: 'toggle' });
        assert.ok(env.expiresAt > env.issuedAt);
        await n.respond(id, 'delivered');
        await n.respond(id, 'running');
        await n.respond(id, 'succeeded', { data: { state: 'on' } });
        await n.respond(id, 'running'); // late and repeated: ignored
        await waitFor(async () => (await state(node.nodeId, id)).state === 'succeeded');
        await sleep(100);
        const detail = await state(node.nodeId, id);
        assert.equal(detail.state, 'succeeded');
        assert.deepEqual(detail.result, { state: 'on' });
        assert.deepEqual(
          detail.history.map((h: { to: string }) => h.to),
          ['pending', 'delivered', 'running', 'succeeded'],
        );
        assert.deepEqual(updates, ['pending', 'delivered', 'running', 'succeeded']);
        const audited = await hub.app.hub.db
          .selectFrom('audit_log')
          .select(['action', 'actor_type'])
          .where((eb) => eb.or([eb('target_id', '=', id), eb('action', '=', 'command.create')]))
          .orderBy('id')
          .execute();
        const mine = audited.filter((a) => a.action !== 'command.create' || a.actor_type === 'token');
        assert.deepEqual(
          mine.slice(-4).map((a) => `${a.action}/${a.actor_type}`),
          [
            'command.create/token',
            'command.delivered/node',
            'command.running/node',
            'command.succeeded/node',
          ],
        );
      } finally {
        off();
        await n.client.endAsync();
      }
    });

    it('keeps commands for an offline node until it returns; expired ones are not delivered; failure is recorded', async () => {
      const away = await TestNode.enroll(hub, site.siteId);
      const c1 = await hub.admin('POST', `/api/v1/nodes/${away.nodeId}/commands`, {
        type: 'DIAGNOSTICS',
        args: {},
      });
      const c2 = await hub.admin('POST', `/api/v1/nodes/${away.nodeId}/commands`, {
        type: 'RESTART',
        args: {},
        ttlS: 5,
      });
      assert.equal(c1.statusCode, 201);
      assert.equal(c2.statusCode, 201);
      // The expiry job runs every sweep; asking it about a moment 6 s ahead expires the 5 s command now.
      const expired = await hub.cp.commands.expireDue(Date.now() + 6000);
      assert.equal(expired, 1);
      assert.equal((await state(away.nodeId, c2.json().id)).state, 'expired');

      const n = await nodeClient(hub, away);
      try {
        await n.online();
        const env = await waitFor(() => n.envelopes.find((e) => e.id === c1.json().id));
        assert.equal(env.type, 'DIAGNOSTICS');
        await sleep(200);
        assert.equal(n.envelopes.filter((e) => e.id === c2.json().id).length, 0);
        await n.respond(c1.json().id, 'failed', { error: { code: 'E_DISK', message: 'disk full' } });
        await waitFor(async () => (await state(away.nodeId, c1.json().id)).state === 'failed');
        const detail = await state(away.nodeId, c1.json().id);
        assert.deepEqual(detail.error, { code: 'E_DISK', message: 'disk full' });
        // A node cannot move another node's command.
        await n.respond(c2.json().id, 'succeeded');
        await sleep(200);
        assert.equal((await state(away.nodeId, c2.json().id)).state, 'expired');
      } finally {
        await n.client.endAsync();
      }
    });

    it('publishes again a pending command an online node never answered; answered ones are left alone', async () => {
      const quiet = await TestNode.enroll(hub, site.siteId);
      const n = await nodeClient(hub, quiet);
      try {
        await n.online();
        await waitFor(
          async () => (await hub.admin('GET', `/api/v1/nodes/${quiet.nodeId}`)).json().status === 'online',
        );
        const c = await hub.admin('POST', `/api/v1/nodes/${quiet.nodeId}/commands`, {
          type: 'DIAGNOSTICS',
          args: {},
        });
        const id = c.json().id as string;
        await waitFor(() => n.envelopes.find((e) => e.id === id));
        // Lost on the node's side (no answer): a minute later the hub publishes it again, once.
        assert.equal(await hub.cp.commands.redeliverStale(60_000, Date.now() + 61_000), 1);
        await waitFor(() => n.envelopes.filter((e) => e.id === id).length === 2);
        // Not yet stale again right after the resend.
        assert.equal(await hub.cp.commands.redeliverStale(60_000), 0);
        // Once the node reports it, it is no longer pending and is never resent.
        await n.respond(id, 'delivered');
        await waitFor(async () => (await state(quiet.nodeId, id)).state === 'delivered');
        assert.equal(await hub.cp.commands.redeliverStale(60_000, Date.now() + 3_600_000), 0);
      } finally {
        await n.client.endAsync();
      }
    });

    it('cancels a pending command once; a later node report does not revive it', async () => {
      const created = await hub.admin('POST', `/api/v1/nodes/${node.nodeId}/commands`, {
        type: 'FETCH_LOGS',
        args: { lines: 10 },
      });
      const id = created.json().id;
      const viewer = as(user('viewer', site.orgId));
      // 404 where viewers have no write scope at all (identity's resolver), 403 by the role check otherwise.
      const byViewer = await viewer('POST', `/api/v1/nodes/${node.nodeId}/commands/${id}/cancel`);
      assert.ok([403, 404].includes(byViewer.statusCode), byViewer.body);
      const cancelled = await hub.admin('POST', `/api/v1/nodes/${node.nodeId}/commands/${id}/cancel`);
      assert.equal(cancelled.statusCode, 200, cancelled.body);
      assert.equal(cancelled.json().state, 'cancelled');
      const again = await hub.admin('POST', `/api/v1/nodes/${node.nodeId}/commands/${id}/cancel`);
      assert.equal(again.statusCode, 409);
      assert.equal(again.json().code, 'WF_COMMAND_FINAL');
      await hub.cp.commands.applyNodeResponse(node.nodeId, node.siteId, {
        id,
        state: 'succeeded' as never, // the protocol's literal union does not survive .map() typing
        ts: Date.now(),
      });
      assert.equal((await state(node.nodeId, id)).state, 'cancelled');
    });

    it('tells a node that already holds a cancelled command not to start it', async () => {
      const holder = await TestNode.enroll(hub, site.siteId);
      const n = await nodeClient(hub, holder);
      try {
        await n.online();
        await waitFor(
          async () => (await hub.admin('GET', `/api/v1/nodes/${holder.nodeId}`)).json().status === 'online',
        );
        const c = await hub.admin('POST', `/api/v1/nodes/${holder.nodeId}/commands`, {
          type: 'RESTART',
          args: {},
        });
        const id = c.json().id as string;
        await waitFor(() => n.envelopes.find((e) => e.id === id));
        const cancelled = await hub.admin('POST', `/api/v1/nodes/${holder.nodeId}/commands/${id}/cancel`);
        assert.equal(cancelled.statusCode, 200, cancelled.body);
        const notice = (await waitFor(() =>
          n.envelopes.find((e) => e.id === id && (e as unknown as { cancel?: boolean }).cancel),
        )) as unknown as { cancel: boolean; cancelledAt: number };
        assert.equal(notice.cancel, true);
        assert.ok(notice.cancelledAt > 0);
      } finally {
        await n.client.endAsync();
      }
    });

    it('lists commands with filters and paging', async () => {
      const all = await hub.admin('GET', `/api/v1/nodes/${node.nodeId}/commands?limit=2`);
      assert.equal(all.statusCode, 200, all.body);
      assert.equal(all.json().items.length, 2);
      assert.equal(all.json().nextOffset, 2);
      const rest = await hub.admin('GET', `/api/v1/nodes/${node.nodeId}/commands?limit=50&offset=2`);
      assert.equal(rest.json().nextOffset, null);
      const cancelled = await hub.admin('GET', `/api/v1/nodes/${node.nodeId}/commands?state=cancelled`);
      assert.deepEqual(
        cancelled.json().items.map((c: { type: string }) => c.type),
        ['FETCH_LOGS'],
      );
      const relays = await hub.admin('GET', `/api/v1/nodes/${node.nodeId}/commands?type=RELAY_SET`);
      assert.equal(relays.json().items.length, 2);
      const stranger = as(user('owner', other.orgId));
      assert.equal((await stranger('GET', `/api/v1/nodes/${node.nodeId}/commands`)).statusCode, 404);
    });

    it('stores signed log chunks for FETCH_LOGS and gives them back', async () => {
      const created = await hub.admin('POST', `/api/v1/nodes/${node.nodeId}/commands`, {
        type: 'FETCH_LOGS',
      });
      const commandId = created.json().id;
      const url = `/api/v1/nodes/${node.nodeId}/logs`;
      const r0 = await node.send(url, { commandId, chunk: 0, final: false, lines: ['a', 'b'] });
      assert.equal(r0.statusCode, 200, r0.body);
      const r1 = await node.send(url, { commandId, chunk: 1, final: true, lines: ['c'] }, { gzip: true });
      assert.equal(r1.json().status, 'stored');
      const dup = await node.send(url, { commandId, chunk: 1, final: true, lines: ['c'] });
      assert.equal(dup.json().status, 'duplicate');
      const intruder = await TestNode.enroll(hub, other.siteId);
      const forged = await intruder.send(url, { commandId, chunk: 2, final: true, lines: ['x'] });
      assert.equal(forged.statusCode, 403);
      const unsigned = await hub.app.inject({
        method: 'POST',
        url,
        payload: { chunk: 0, final: true, lines: [] },
      });
      assert.equal(unsigned.statusCode, 401);
      const logs = await hub.admin('GET', `${url}?commandId=${commandId}`);
      assert.deepEqual(logs.json().lines, ['a', 'b', 'c']);
      assert.equal(logs.json().complete, true);
    });

    it('broadcasts to every node (admins only)', async () => {
      const n = await nodeClient(hub, node);
      try {
        const owner = as(user('owner', site.orgId));
        assert.equal(
          (await owner('POST', '/api/v1/broadcast', { kind: 'maintenance', message: 'x' })).statusCode,
          403,
        );
        const sent = await hub.admin('POST', '/api/v1/broadcast', {
          kind: 'maintenance',
          message: 'Hub update at 22:00',
        });
        assert.equal(sent.statusCode, 202, sent.body);
        const got = (await waitFor(() => n.broadcasts[0])) as { kind: string; message: string };
        assert.equal(got.message, 'Hub update at 22:00');
      } finally {
        await n.client.endAsync();
      }
    });
  });
}

export type { MqttClient };
