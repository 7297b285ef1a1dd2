// Manual control of switchable equipment on the embedded broker, both engines: a node registers
// its channels (a `channels.inventory` event over MQTT), a switch goes pending → confirmed from
// the state the node read back, or failed with the reason on a mismatch; who may switch (viewer
// never, owner when the org allows it, installer on granted sites only, nobody across tenants);
// a bulk action needs its confirmation; every switch is audited; per-channel rate limit → 429.
// The real agent against real Modbus stand-ins is in packages/edge/test/relay-control.test.ts.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type CommandEnvelope, type Role, topics } from '@wattfleet/protocol';
import type { MqttClient } from 'mqtt';
import type { Actor } from '../../src/auth/actor.ts';
import { ENGINES } from '../helpers/engines.ts';
import { createSite, type Fixture, TestNode } from '../helpers/hub.ts';
import { connectNode, type MqttTestHub, startMqttHub, status, waitFor } from '../mqtt/mqtt-helpers.ts';

type Mode = 'device' | 'stuck';

/** A node stand-in whose "device" holds relay states and answers RELAY_SET with the read-back. */
async function relayNode(hub: MqttTestHub, node: TestNode) {
  const client: MqttClient = await connectNode(hub.url, node);
  const states = new Map<string, 'on' | 'off'>();
  const seen: CommandEnvelope[] = [];
  const ctl = { mode: 'device' as Mode };
  client.on('message', (topic, payload) => {
    if (topic !== topics.commands(node.nodeId)) return;
    const env = JSON.parse(payload.toString()) as CommandEnvelope;
    if (env.type !== 'RELAY_SET') return;
    seen.push(env);
    const args = env.args as { equipment: string; channel?: string; state: 'on' | 'off' };
    const key = `${args.equipment}/${args.channel ?? ''}`;
    if (ctl.mode === 'device') states.set(key, args.state);
    const readBack = states.get(key) ?? 'off';
    const data = {
      equipment: args.equipment,
      ...(args.channel ? { channel: args.channel } : {}),
      state: readBack,
    };
    const reply =
      readBack === args.state
        ? { id: env.id, state: 'succeeded', ts: Date.now(), data }
        : {
            id: env.id,
            state: 'failed',
            ts: Date.now(),
            data,
            error: { code: 'NOT_CONFIRMED', message: `asked ${args.state}, device reports ${readBack}` },
          };
    // A redelivered command may still be answered while the test closes the client.
    client.publishAsync(topics.responses(node.nodeId), JSON.stringify(reply), { qos: 1 }).catch(() => {});
  });
  await client.subscribeAsync([topics.commands(node.nodeId)], { qos: 1 });
  await client.publishAsync(topics.status(node.nodeId), status(), { qos: 1 });
  const channel = (equipment: string, channel: string, label?: string) => ({
    equipment,
    channel,
    kind: 'relay',
    ...(label ? { label } : {}),
    capabilities: { switch: true, readBack: true },
    state: 'off',
  });
  const inventory = {
    batchId: `inv-${Date.now()}`,
    events: [
      {
        ts: Date.now(),
        kind: 'channels.inventory',
        severity: 'info',
        message: '4 switchable channel(s)',
        data: {
          channels: [
            channel('board', 'ch1', 'Water heater'),
            channel('board', 'ch2', 'Pool pump'),
            channel('board', 'ch3', 'Spare'),
            channel('plug', ''),
          ],
        },
      },
    ],
  };
  await client.publishAsync(topics.events(node.nodeId), JSON.stringify(inventory), { qos: 1 });
  return { client, states, seen, ctl };
}

for (const engine of ENGINES) {
  describe(`manual control on ${engine}`, () => {
    let hub: MqttTestHub;
    let site: Fixture;
    let other: Fixture;
    let installerOrg: string;
    let node: TestNode;
    let device: Awaited<ReturnType<typeof relayNode>>;
    const byLabel = new Map<string, string>(); // "board/ch1" → channel id
    const tokens = new Map<string, Actor>();
    const user = (role: Role, orgId: string): string => {
      const token = `test-${role}-${orgId}-${tokens.size}`;
      tokens.set(token, { kind: 'user', role, orgId, userId: crypto.randomUUID() });
      return token;
    };
    const as = (token: string) => (method: string, url: string, body?: unknown) =>
      hub.app.inject({
        method: method as 'GET',
        url,
        headers: { authorization: `Bearer ${token}` },
        ...(body !== undefined ? { payload: body as object } : {}),
      });
    const channel = async (id: string) => (await hub.admin('GET', `/api/v1/channels/${id}`)).json();
    const settled = (id: string) =>
      waitFor(
        async () => {
          const c = await channel(id);
          return c.status !== 'pending' && c;
        },
        10_000,
        'switch settled',
      );

    before(async () => {
      hub = await startMqttHub(engine);
      hub.app.bearerAuthenticators.push(async (token) => tokens.get(token));
      site = await createSite(hub);
      other = await createSite(hub, { name: 'Other' });
      const org = await hub.admin('POST', '/api/v1/orgs', { name: 'Sparks Ltd', kind: 'installer' });
      assert.equal(org.statusCode, 201, org.body);
      installerOrg = org.json().id;
      const grant = await hub.admin('POST', `/api/v1/sites/${site.siteId}/grants`, { orgId: installerOrg });
      assert.equal(grant.statusCode, 201, grant.body);
      node = await TestNode.enroll(hub, site.siteId);
      device = await relayNode(hub, node);
      const list = await waitFor(
        async () => {
          const r = (await hub.admin('GET', `/api/v1/sites/${site.siteId}/channels`)).json();
          return r.items?.length === 4 && r;
        },
        10_000,
        'inventory applied',
      );
      for (const c of list.items) byLabel.set(`${c.equipment}/${c.channel}`, c.id);
    });
    after(async () => {
      await device?.client.endAsync();
      await hub?.close();
    });

    it('registers every channel of the inventory with its capabilities and reported state', async () => {
      const list = (await hub.admin('GET', `/api/v1/sites/${site.siteId}/channels`)).json();
      const ch1 = list.items.find((c: { channel: string }) => c.channel === 'ch1');
      assert.equal(ch1.label, 'Water heater');
      assert.equal(ch1.kind, 'relay');
      assert.deepEqual(ch1.capabilities, { switch: true, readBack: true });
      assert.equal(ch1.reportedState, 'off');
      assert.equal(ch1.status, 'unknown');
      assert.equal(ch1.present, true);
      assert.deepEqual(list.control, { canSwitch: true });
      // The spine's equipment table is written from the inventory: one row per device.
      const eq = await hub.app.hub.db
        .selectFrom('equipment')
        .select(['key', 'kind'])
        .where('node_id', '=', node.nodeId)
        .orderBy('key')
        .execute();
      assert.deepEqual(eq, [
        { key: 'board', kind: 'relay' },
        { key: 'plug', kind: 'relay' },
      ]);
    });

    it('an owner switches a channel: pending, then confirmed by the read-back; audited', async () => {
      const owner = as(user('owner', site.orgId));
      const id = byLabel.get('board/ch1')!;
      const res = await owner('POST', `/api/v1/channels/${id}/switch`, { state: 'on' });
      assert.equal(res.statusCode, 202, res.body);
      assert.equal(res.json().desiredState, 'on');
      assert.ok(['pending', 'confirmed'].includes(res.json().status));
      const done = await settled(id);
      assert.equal(done.status, 'confirmed', JSON.stringify(done));
      assert.equal(done.reportedState, 'on');
      assert.equal(done.failureReason, null);
      const env = device.seen.at(-1)!;
      assert.deepEqual(env.args, { equipment: 'board', channel: 'ch1', state: 'on' });
      const entries = await hub.app.hub.db
        .selectFrom('audit_log')
        .select(['action', 'result', 'target_id'])
        .where('action', '=', 'equipment.switch')
        .where('target_id', '=', id)
        .execute();
      assert.deepEqual(entries, [{ action: 'equipment.switch', result: 'ok', target_id: id }]);
      // The single-channel plug is addressed without a channel.
      const plug = byLabel.get('plug/')!;
      assert.equal((await owner('POST', `/api/v1/channels/${plug}/switch`, { state: 'on' })).statusCode, 202);
      assert.equal((await settled(plug)).status, 'confirmed');
      assert.deepEqual(device.seen.at(-1)!.args, { equipment: 'plug', state: 'on' });
    });

    it('a device that does not follow the write: failed, with the mismatch as the reason', async () => {
      device.ctl.mode = 'stuck';
      try {
        const id = byLabel.get('board/ch2')!;
        const res = await hub.admin('POST', `/api/v1/channels/${id}/switch`, { state: 'on' });
        assert.equal(res.statusCode, 202, res.body);
        const done = await settled(id);
        assert.equal(done.status, 'failed');
        assert.equal(done.desiredState, 'on');
        assert.equal(done.reportedState, 'off');
        assert.match(done.failureReason, /State mismatch: asked on, device reports off/);
      } finally {
        device.ctl.mode = 'device';
      }
    });

    it('a viewer sees the state but cannot switch; the refusal is audited', async () => {
      const viewer = as(user('viewer', site.orgId));
      const list = await viewer('GET', `/api/v1/sites/${site.siteId}/channels`);
      assert.equal(list.statusCode, 200);
      assert.equal(list.json().items.length, 4);
      assert.deepEqual(list.json().control, { canSwitch: false, reason: 'Viewers see the state only' });
      const id = byLabel.get('board/ch1')!;
      const res = await viewer('POST', `/api/v1/channels/${id}/switch`, { state: 'off' });
      assert.equal(res.statusCode, 403, res.body);
      assert.equal(res.json().code, 'WF_FORBIDDEN');
      const bulk = await viewer('POST', `/api/v1/sites/${site.siteId}/channels/switch`, {
        state: 'off',
        channelIds: [id],
        confirm: true,
      });
      assert.equal(bulk.statusCode, 403);
      assert.equal((await channel(id)).reportedState, 'on');
      const denied = await hub.app.hub.db
        .selectFrom('audit_log')
        .select('result')
        .where('action', '=', 'equipment.switch')
        .where('result', '=', 'denied')
        .execute();
      assert.ok(denied.length >= 1);
    });

    it('an installer switches on granted sites only; other tenants get 404', async () => {
      const installer = as(user('installer', installerOrg));
      const id = byLabel.get('board/ch3')!;
      const res = await installer('POST', `/api/v1/channels/${id}/switch`, { state: 'on' });
      assert.equal(res.statusCode, 202, res.body);
      assert.equal((await settled(id)).status, 'confirmed');
      // The other site is not granted: not even its channel list.
      assert.equal((await installer('GET', `/api/v1/sites/${other.siteId}/channels`)).statusCode, 404);
      const stranger = as(user('installer', (await createSite(hub, { name: 'Third' })).orgId));
      assert.equal(
        (await stranger('POST', `/api/v1/channels/${id}/switch`, { state: 'off' })).statusCode,
        404,
      );
      assert.equal((await stranger('GET', `/api/v1/channels/${id}`)).statusCode, 404);
      const foreignOwner = as(user('owner', other.orgId));
      assert.equal(
        (await foreignOwner('POST', `/api/v1/channels/${id}/switch`, { state: 'off' })).statusCode,
        404,
      );
      assert.equal(
        (
          await foreignOwner('POST', `/api/v1/sites/${site.siteId}/channels/switch`, {
            state: 'off',
            channelIds: [id],
            confirm: true,
          })
        ).statusCode,
        404,
      );
      // Once the grant is revoked, the installer is out.
      const grants = (await hub.admin('GET', `/api/v1/sites/${site.siteId}/grants`)).json();
      const grantId = grants.find((g: { orgId: string }) => g.orgId === installerOrg)?.id;
      assert.ok(grantId, JSON.stringify(grants));
      const revoked = await hub.admin('DELETE', `/api/v1/sites/${site.siteId}/grants/${grantId}`);
      assert.ok([200, 204].includes(revoked.statusCode), revoked.body);
      assert.equal(
        (await installer('POST', `/api/v1/channels/${id}/switch`, { state: 'off' })).statusCode,
        404,
      );
    });

    it('an owner switches only while the org allows it; only its org admin changes that', async () => {
      const owner = as(user('owner', site.orgId));
      const orgAdmin = as(user('org_admin', site.orgId));
      const settings = `/api/v1/orgs/${site.orgId}/control-settings`;
      assert.deepEqual((await owner('GET', settings)).json(), { orgId: site.orgId, ownerControl: true });
      assert.equal((await owner('PUT', settings, { ownerControl: false })).statusCode, 403);
      assert.equal(
        (await as(user('org_admin', other.orgId))('PUT', settings, { ownerControl: false })).statusCode,
        404,
      );
      const off = await orgAdmin('PUT', settings, { ownerControl: false });
      assert.equal(off.statusCode, 200, off.body);
      const id = byLabel.get('board/ch1')!;
      const refused = await owner('POST', `/api/v1/channels/${id}/switch`, { state: 'off' });
      assert.equal(refused.statusCode, 403);
      assert.match(refused.json().message, /does not allow owners/);
      assert.equal(
        (await owner('GET', `/api/v1/sites/${site.siteId}/channels`)).json().control.canSwitch,
        false,
      );
      assert.equal((await orgAdmin('PUT', settings, { ownerControl: true })).statusCode, 200);
      assert.equal((await owner('POST', `/api/v1/channels/${id}/switch`, { state: 'off' })).statusCode, 202);
      assert.equal((await settled(id)).reportedState, 'off');
    });

    it('a bulk action needs its confirmation and reports per channel', async () => {
      const ids = [byLabel.get('board/ch1')!, byLabel.get('plug/')!];
      const unconfirmed = await hub.admin('POST', `/api/v1/sites/${site.siteId}/channels/switch`, {
        state: 'off',
        channelIds: ids,
      });
      assert.equal(unconfirmed.statusCode, 400, unconfirmed.body);
      const foreign = crypto.randomUUID();
      const res = await hub.admin('POST', `/api/v1/sites/${site.siteId}/channels/switch`, {
        state: 'off',
        channelIds: [...ids, foreign],
        confirm: true,
      });
      assert.equal(res.statusCode, 202, res.body);
      const results = res.json().results as { channelId: string; ok: boolean; error?: { code: string } }[];
      assert.deepEqual(
        results.map((r) => [r.channelId, r.ok, r.error?.code]),
        [
          [ids[0], true, undefined],
          [ids[1], true, undefined],
          [foreign, false, 'WF_NOT_FOUND'],
        ],
      );
      for (const id of ids) assert.equal((await settled(id)).reportedState, 'off');
    });

    it('rate limits switching one channel: 429 with a retry hint', async () => {
      const owner = as(user('owner', site.orgId));
      const id = byLabel.get('board/ch3')!;
      const codes: number[] = [];
      for (let i = 0; i < 12; i++) {
        const res = await owner('POST', `/api/v1/channels/${id}/switch`, { state: i % 2 ? 'on' : 'off' });
        codes.push(res.statusCode);
        if (res.statusCode === 429) {
          assert.equal(res.json().code, 'WF_RATE_LIMITED');
          break;
        }
      }
      assert.equal(codes.at(-1), 429, codes.join(','));
      assert.ok(codes.length <= 11, codes.join(','));
      // Another channel is not affected by this one's limit.
      const other = await owner('POST', `/api/v1/channels/${byLabel.get('board/ch2')!}/switch`, {
        state: 'off',
      });
      assert.equal(other.statusCode, 202, other.body);
    });
  });
}
