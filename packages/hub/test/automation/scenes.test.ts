// Scenes and switching safety on a real Mosquitto (with the hub's generated password and ACL
// files), both engines. Two relay nodes on one site answer RELAY_SET with their read-back; one goes
// offline: a scene's activation shows its target pending (the others confirmed) and it is
// delivered and confirmed when the node returns — or fails as expired once the scene's TTL has
// passed, and is then never delivered. Repeating an activation changes nothing. Who may activate
// (viewer never, installer on granted sites only, nobody across tenants). The safety limits
// (minimum on/off, switches per hour) hold against a source that would flap — manual and scene
// alike — measured on a pinned clock; a paused site refuses scenes but not manual switches.
// The real agent against real Modbus stand-ins is in packages/edge/test/scene-activation.test.ts.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type CommandEnvelope, type Role, topics } from '@wattfleet/protocol';
import type { MqttClient } from 'mqtt';
import type { Actor } from '../../src/auth/actor.ts';
import { switchClock } from '../../src/automation/automation.safety.ts';
import { startControlPlane } from '../../src/mqtt/control-plane.ts';
import { ENGINES } from '../helpers/engines.ts';
import { createSite, type Fixture, startTestHub, type TestHub, TestNode } from '../helpers/hub.ts';
import { HUB_USER, mosquittoFiles, startMosquitto, type TestMosquitto } from '../mqtt/mosquitto.ts';
import { connectNode, status, waitFor } from '../mqtt/mqtt-helpers.ts';

/** A node stand-in whose "device" holds relay states; it can go offline and come back. */
class RelayNode {
  client: MqttClient | undefined;
  readonly states = new Map<string, 'on' | 'off'>();
  readonly seen: CommandEnvelope[] = [];
  constructor(
    private readonly url: () => string,
    readonly node: TestNode,
    private readonly channels: string[],
  ) {}

  async online(withInventory = false): Promise<void> {
    const client = await connectNode(this.url(), this.node);
    this.client = client;
    client.on('message', (topic, payload) => {
      if (topic !== topics.commands(this.node.nodeId)) return;
      const env = JSON.parse(payload.toString()) as CommandEnvelope;
      if (env.type !== 'RELAY_SET') return;
      this.seen.push(env);
      const args = env.args as { equipment: string; channel?: string; state: 'on' | 'off' };
      this.states.set(args.channel ?? '', args.state);
      const data = {
        equipment: args.equipment,
        ...(args.channel ? { channel: args.channel } : {}),
        state: args.state,
      };
      client
        .publishAsync(
          topics.responses(this.node.nodeId),
          JSON.stringify({ id: env.id, state: 'succeeded', ts: Date.now(), data }),
          { qos: 1 },
        )
        .catch(() => {});
    });
    await client.subscribeAsync([topics.commands(this.node.nodeId)], { qos: 1 });
    await client.publishAsync(topics.status(this.node.nodeId), status(), { qos: 1 });
    if (!withInventory) return;
    const inventory = {
      batchId: `inv-${this.node.nodeId}`,
      events: [
        {
          ts: Date.now(),
          kind: 'channels.inventory',
          severity: 'info',
          message: `${this.channels.length} switchable channel(s)`,
          data: {
            channels: this.channels.map((channel) => ({
              equipment: 'board',
              channel,
              kind: 'relay',
              capabilities: { switch: true, readBack: true },
              state: 'off',
            })),
          },
        },
      ],
    };
    await client.publishAsync(topics.events(this.node.nodeId), JSON.stringify(inventory), { qos: 1 });
  }

  /** Says goodbye as the agent does on shutdown, then disconnects. */
  async offline(): Promise<void> {
    const client = this.client;
    if (!client) return;
    this.client = undefined;
    await client.publishAsync(
      topics.status(this.node.nodeId),
      JSON.stringify({ state: 'offline', clock: Date.now(), reason: 'shutdown' }),
      { qos: 1 },
    );
    await client.endAsync();
  }
}

interface TargetView {
  channelId: string;
  state: string;
  outcome: string;
  errorCode: string | null;
  reason: string | null;
  commandId: string | null;
}

for (const engine of ENGINES) {
  describe(`scenes and switching safety on ${engine} with mosquitto`, () => {
    let hub: TestHub;
    let broker: TestMosquitto;
    let site: Fixture;
    let installerOrg: string;
    let a: RelayNode;
    let b: RelayNode;
    const ch = new Map<string, string>(); // "a/ch1" → channel id
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
    const nodeStatus = async (nodeId: string) =>
      (await hub.admin('GET', `/api/v1/nodes/${nodeId}`)).json().status;
    const activation = async (id: string) => {
      const res = await hub.admin('GET', `/api/v1/scene-activations/${id}`);
      assert.equal(res.statusCode, 200, res.body);
      return res.json() as {
        status: string;
        sceneVersion: number;
        settledAt: string | null;
        targets: TargetView[];
      };
    };
    const target = (act: { targets: TargetView[] }, key: string) =>
      act.targets.find((t) => t.channelId === ch.get(key))!;
    const createScene = async (name: string, targets: [string, 'on' | 'off'][], ttlS?: number) => {
      const res = await hub.admin('POST', `/api/v1/sites/${site.siteId}/scenes`, {
        name,
        ...(ttlS ? { ttlS } : {}),
        targets: targets.map(([k, state]) => ({ channelId: ch.get(k)!, state })),
      });
      assert.equal(res.statusCode, 201, res.body);
      return res.json() as { id: string; version: number };
    };
    const goOffline = async (node: RelayNode) => {
      await node.offline();
      await waitFor(async () => (await nodeStatus(node.node.nodeId)) === 'offline', 10_000, 'node offline');
    };

    before(async () => {
      const { dir, files } = mosquittoFiles();
      hub = await startTestHub(engine, {
        mqttUrl: 'mqtt://127.0.0.1:1', // replaced below once the broker has its port
        controlPlane: {
          username: HUB_USER.username,
          password: HUB_USER.password,
          mosquitto: files,
          heartbeatFlushMs: 100,
          sweepIntervalMs: 200,
        },
      });
      hub.app.bearerAuthenticators.push(async (token) => tokens.get(token));
      site = await createSite(hub);
      const org = await hub.admin('POST', '/api/v1/orgs', { name: 'Sparks Ltd', kind: 'installer' });
      installerOrg = org.json().id;
      assert.equal(
        (await hub.admin('POST', `/api/v1/sites/${site.siteId}/grants`, { orgId: installerOrg })).statusCode,
        201,
      );
      const nodeA = await TestNode.enroll(hub, site.siteId);
      const nodeB = await TestNode.enroll(hub, site.siteId);
      await hub.app.controlPlane.syncMosquitto();
      broker = await startMosquitto(dir, files);
      hub.app.hub.config.mqttUrl = broker.url;
      await startControlPlane(hub.app);
      a = new RelayNode(() => broker.url, nodeA, ['ch1', 'ch2', 'ch3', 'ch4']);
      b = new RelayNode(() => broker.url, nodeB, ['ch1', 'ch2']);
      await a.online(true);
      await b.online(true);
      const list = await waitFor(
        async () => {
          const r = (await hub.admin('GET', `/api/v1/sites/${site.siteId}/channels`)).json();
          return r.items?.length === 6 && r;
        },
        10_000,
        'inventories applied',
      );
      for (const c of list.items as { nodeId: string; channel: string; id: string }[])
        ch.set(`${c.nodeId === nodeA.nodeId ? 'a' : 'b'}/${c.channel}`, c.id);
      await waitFor(async () => (await nodeStatus(nodeB.nodeId)) === 'online', 10_000, 'node B online');
    });
    after(async () => {
      switchClock.now = () => Date.now();
      await a?.offline().catch(() => {});
      await b?.offline().catch(() => {});
      await hub?.close();
      await broker?.stop();
    });

    it('one offline node: a partial result at once, its target delivered and confirmed when it returns', async () => {
      const scene = await createScene('Evening', [
        ['a/ch1', 'on'],
        ['a/ch2', 'on'],
        ['b/ch1', 'on'],
      ]);
      assert.equal(scene.version, 1);
      await goOffline(b);
      const res = await hub.admin('POST', `/api/v1/scenes/${scene.id}/activate`);
      assert.equal(res.statusCode, 202, res.body);
      assert.equal(res.json().targets.length, 3);
      assert.equal(target(res.json(), 'b/ch1').outcome, 'pending');
      // The online node's targets confirm; the offline one's keeps waiting.
      const partial = await waitFor(
        async () => {
          const act = await activation(res.json().id);
          return target(act, 'a/ch1').outcome === 'confirmed' && target(act, 'a/ch2').outcome === 'confirmed'
            ? act
            : undefined;
        },
        10_000,
        'online targets confirmed',
      );
      assert.equal(partial.status, 'pending');
      assert.equal(target(partial, 'b/ch1').outcome, 'pending');
      assert.ok(target(partial, 'b/ch1').commandId);
      assert.equal(partial.settledAt, null);
      assert.equal(b.seen.length, 0, 'nothing reached the offline node');

      await b.online();
      const done = await waitFor(
        async () => {
          const act = await activation(res.json().id);
          return act.settledAt !== null ? act : undefined;
        },
        15_000,
        'activation settled',
      );
      assert.equal(done.status, 'succeeded', JSON.stringify(done));
      assert.ok(done.settledAt);
      assert.equal(b.states.get('ch1'), 'on');
      assert.deepEqual(b.seen.at(-1)?.args, { equipment: 'board', channel: 'ch1', state: 'on' });
      // Every automatic switch names the scene and its version (audit and the channel itself).
      const entry = await hub.app.hub.db
        .selectFrom('audit_log')
        .select(['details'])
        .where('action', '=', 'equipment.switch')
        .where('target_id', '=', ch.get('b/ch1')!)
        .executeTakeFirstOrThrow();
      const details = (typeof entry.details === 'string' ? JSON.parse(entry.details) : entry.details) as {
        origin: string;
        automation: { kind: string; id: string; name: string; version: number };
      };
      assert.equal(details.origin, 'scene');
      assert.deepEqual(
        { kind: details.automation.kind, id: details.automation.id, version: details.automation.version },
        { kind: 'scene', id: scene.id, version: 1 },
      );
      const channel = (await hub.admin('GET', `/api/v1/channels/${ch.get('b/ch1')}`)).json();
      assert.equal(channel.desiredBy, 'scene:Evening');
      const settled = await hub.app.hub.db
        .selectFrom('audit_log')
        .select(['result'])
        .where('action', '=', 'scene.activation_settled')
        .where('target_id', '=', scene.id)
        .execute();
      assert.deepEqual(settled, [{ result: 'ok' }]);

      // Repeating it is idempotent: everything is already in its state, nothing is sent.
      const sentBefore = a.seen.length + b.seen.length;
      const again = await hub.admin('POST', `/api/v1/scenes/${scene.id}/activate`);
      assert.equal(again.statusCode, 202, again.body);
      assert.equal(again.json().status, 'succeeded');
      assert.deepEqual(
        again.json().targets.map((t: TargetView) => t.outcome),
        ['unchanged', 'unchanged', 'unchanged'],
      );
      assert.equal(a.seen.length + b.seen.length, sentBefore);
      const history = (await hub.admin('GET', `/api/v1/scenes/${scene.id}/activations`)).json();
      assert.equal(history.items.length, 2);
    });

    it("a target whose node stays away past the scene's TTL fails as expired and is never delivered", async () => {
      const created = await createScene('Night', [
        ['a/ch2', 'off'],
        ['b/ch2', 'on'],
      ]);
      // An edit is a new version; activations name the version that acted.
      const edited = await hub.admin('PUT', `/api/v1/scenes/${created.id}`, {
        name: 'Night',
        ttlS: 60,
        targets: [
          { channelId: ch.get('a/ch2')!, state: 'off' },
          { channelId: ch.get('b/ch2')!, state: 'on' },
        ],
      });
      assert.equal(edited.statusCode, 200, edited.body);
      assert.equal(edited.json().version, 2);
      await goOffline(b);
      const res = await hub.admin('POST', `/api/v1/scenes/${created.id}/activate`);
      assert.equal(res.statusCode, 202, res.body);
      assert.equal(res.json().sceneVersion, 2);
      const commandId = target(res.json(), 'b/ch2').commandId!;
      const cmd = (await hub.admin('GET', `/api/v1/nodes/${b.node.nodeId}/commands/${commandId}`)).json();
      const ttl = Date.parse(cmd.expiresAt) - Date.parse(cmd.createdAt);
      assert.ok(Math.abs(ttl - 60_000) < 1000, `the scene's TTL: ${ttl}`);
      // The hub's expiry runs as it would a minute later.
      await hub.app.controlPlane.commands.expireDue(Date.parse(cmd.expiresAt) + 1000);
      const done = await waitFor(
        async () => {
          const act = await activation(res.json().id);
          return act.settledAt !== null ? act : undefined;
        },
        10_000,
        'activation settled',
      );
      assert.equal(done.status, 'partial', JSON.stringify(done));
      assert.equal(target(done, 'a/ch2').outcome, 'confirmed');
      assert.equal(target(done, 'b/ch2').outcome, 'failed');
      assert.match(target(done, 'b/ch2').reason ?? '', /expired/);
      const audited = await hub.app.hub.db
        .selectFrom('audit_log')
        .select(['result', 'details'])
        .where('action', '=', 'scene.activation_settled')
        .where('target_id', '=', created.id)
        .executeTakeFirstOrThrow();
      assert.equal(audited.result, 'failed');
      assert.match(JSON.stringify(audited.details), /partial/);

      const seen = b.seen.length;
      await b.online();
      await waitFor(async () => (await nodeStatus(b.node.nodeId)) === 'online', 10_000, 'node B back');
      // Something sent now is delivered at once; the expired one, had it been, would have come first.
      const probe = await hub.admin('POST', `/api/v1/channels/${ch.get('b/ch1')}/switch`, { state: 'off' });
      assert.equal(probe.statusCode, 202, probe.body);
      await waitFor(() => b.seen.length > seen, 10_000, 'probe delivered');
      // (A copy of an earlier, succeeded command may arrive again: delivery is at least once.)
      assert.ok(
        b.seen.slice(seen).some((e) => (e.args as { state: string; channel: string }).state === 'off'),
        'probe delivered',
      );
      assert.ok(!b.seen.some((e) => e.id === commandId), 'the expired command was never sent to the node');
      assert.equal(b.states.get('ch2'), undefined, 'the expired switch never reached the device');
    });

    it('viewers cannot activate or edit; installers only on granted sites; other tenants get 404', async () => {
      const scene = await createScene('Away', [['a/ch4', 'on']]);
      const viewer = as(user('viewer', site.orgId));
      assert.equal((await viewer('GET', `/api/v1/sites/${site.siteId}/scenes`)).statusCode, 200);
      assert.equal((await viewer('GET', `/api/v1/scenes/${scene.id}`)).statusCode, 200);
      const refused = await viewer('POST', `/api/v1/scenes/${scene.id}/activate`);
      assert.equal(refused.statusCode, 403, refused.body);
      assert.equal(refused.json().code, 'WF_FORBIDDEN');
      assert.equal(
        (
          await viewer('POST', `/api/v1/sites/${site.siteId}/scenes`, {
            name: 'X',
            targets: [{ channelId: ch.get('a/ch4'), state: 'on' }],
          })
        ).statusCode,
        403,
      );
      assert.equal((await viewer('DELETE', `/api/v1/scenes/${scene.id}`)).statusCode, 403);
      const denied = await hub.app.hub.db
        .selectFrom('audit_log')
        .select('result')
        .where('action', '=', 'scene.activate')
        .where('target_id', '=', scene.id)
        .execute();
      assert.deepEqual(denied, [{ result: 'denied' }]);

      const installer = as(user('installer', installerOrg));
      const ok = await installer('POST', `/api/v1/scenes/${scene.id}/activate`);
      assert.equal(ok.statusCode, 202, ok.body);

      const other = await createSite(hub, { name: 'Other' });
      const stranger = as(user('owner', other.orgId));
      for (const [method, url] of [
        ['GET', `/api/v1/scenes/${scene.id}`],
        ['POST', `/api/v1/scenes/${scene.id}/activate`],
        ['GET', `/api/v1/scenes/${scene.id}/activations`],
        ['GET', `/api/v1/scene-activations/${ok.json().id}`],
        ['GET', `/api/v1/sites/${site.siteId}/scenes`],
      ] as const)
        assert.equal((await stranger(method, url)).statusCode, 404, `${method} ${url}`);
      // A foreign channel cannot be put into a scene: 400 naming the target.
      const otherScene = await as(user('owner', other.orgId))(
        'POST',
        `/api/v1/sites/${other.siteId}/scenes`,
        {
          name: 'Steal',
          targets: [{ channelId: ch.get('a/ch4'), state: 'off' }],
        },
      );
      assert.equal(otherScene.statusCode, 400, otherScene.body);
      assert.equal(otherScene.json().problems[0].path, '/body/targets/0/channelId');

      // Once the grant is revoked, the installer is out.
      const grants = (await hub.admin('GET', `/api/v1/sites/${site.siteId}/grants`)).json();
      const grantId = grants.find((g: { orgId: string }) => g.orgId === installerOrg)?.id;
      assert.ok(grantId);
      await hub.admin('DELETE', `/api/v1/sites/${site.siteId}/grants/${grantId}`);
      assert.equal((await installer('POST', `/api/v1/scenes/${scene.id}/activate`)).statusCode, 404);
    });

    it('min on/off and switches per hour hold against a source that would flap, manual or scene', async () => {
      const id = ch.get('a/ch3')!;
      const owner = as(user('owner', site.orgId));
      const limits = { minOnS: 600, minOffS: 300, maxSwitchesPerHour: 4 };
      assert.equal((await owner('PUT', `/api/v1/channels/${id}/limits`, limits)).statusCode, 403);
      const bad = await hub.admin('PUT', `/api/v1/channels/${id}/limits`, { ...limits, minOnS: -1 });
      assert.equal(bad.statusCode, 400);
      const set = await hub.admin('PUT', `/api/v1/channels/${id}/limits`, limits);
      assert.equal(set.statusCode, 200, set.body);
      assert.deepEqual(set.json().limits, limits);
      const flapOff = await createScene('Flap off', [['a/ch3', 'off']]);

      const t0 = Date.now();
      const at = (s: number) => {
        switchClock.now = () => t0 + s * 1000;
      };
      const sw = async (state: 'on' | 'off') => owner('POST', `/api/v1/channels/${id}/switch`, { state });
      const refusedUntil = async (state: 'on' | 'off', limit: string, allowedS: number) => {
        const res = await sw(state);
        assert.equal(res.statusCode, 409, res.body);
        assert.equal(res.json().code, 'WF_CONFLICT');
        assert.equal(res.json().limit, limit);
        assert.equal(res.json().allowedAt, new Date(t0 + allowedS * 1000).toISOString());
      };
      try {
        at(0);
        assert.equal((await sw('on')).statusCode, 202);
        at(60);
        await refusedUntil('off', 'min_on', 600);
        // A scene meets the same limit: its target is refused, the activation says why.
        const act = await hub.admin('POST', `/api/v1/scenes/${flapOff.id}/activate`);
        assert.equal(act.statusCode, 202);
        assert.equal(act.json().status, 'failed');
        assert.equal(act.json().targets[0].outcome, 'refused');
        assert.equal(act.json().targets[0].errorCode, 'WF_CONFLICT');
        assert.match(act.json().targets[0].reason, /at least 10 min/);
        at(600);
        assert.equal((await sw('off')).statusCode, 202);
        at(700);
        await refusedUntil('on', 'min_off', 900);
        at(900);
        assert.equal((await sw('on')).statusCode, 202);
        at(1500);
        const viaScene = await hub.admin('POST', `/api/v1/scenes/${flapOff.id}/activate`);
        assert.equal(viaScene.json().targets[0].outcome === 'refused', false, viaScene.body);
        // Four changes within the hour: the fifth waits until the first is an hour old.
        at(2100);
        await refusedUntil('on', 'max_switches_per_hour', 3600);
        at(3601);
        assert.equal((await sw('on')).statusCode, 202);
        const refusals = await hub.app.hub.db
          .selectFrom('audit_log')
          .select('result')
          .where('action', '=', 'equipment.switch')
          .where('target_id', '=', id)
          .where('result', '=', 'denied')
          .execute();
        assert.equal(refusals.length, 4, 'every refusal is audited');
      } finally {
        switchClock.now = () => Date.now();
      }
      const done = await waitFor(
        async () => {
          const c = (await hub.admin('GET', `/api/v1/channels/${id}`)).json();
          return c.status !== 'pending' && c;
        },
        10_000,
        'last switch settled',
      );
      assert.equal(done.reportedState, 'on');
    });

    it('a paused site refuses scenes but not manual switches; only those who may switch pause it', async () => {
      const scene = await createScene('Pause test', [['a/ch4', 'off']]);
      const owner = as(user('owner', site.orgId));
      const viewer = as(user('viewer', site.orgId));
      const url = `/api/v1/sites/${site.siteId}/automation`;
      assert.equal((await viewer('GET', url)).json().paused, false);
      assert.equal((await viewer('PUT', url, { paused: true })).statusCode, 403);
      const paused = await owner('PUT', url, { paused: true, reason: 'holiday' });
      assert.equal(paused.statusCode, 200, paused.body);
      assert.equal(paused.json().paused, true);
      assert.equal(paused.json().reason, 'holiday');
      const act = await hub.admin('POST', `/api/v1/scenes/${scene.id}/activate`);
      assert.equal(act.statusCode, 202);
      assert.equal(act.json().targets[0].outcome, 'refused');
      assert.match(act.json().targets[0].reason, /paused/);
      const manual = await owner('POST', `/api/v1/channels/${ch.get('a/ch4')}/switch`, { state: 'off' });
      assert.equal(manual.statusCode, 202, manual.body);
      assert.equal((await owner('PUT', url, { paused: false })).statusCode, 200);
      const resumed = await hub.admin('POST', `/api/v1/scenes/${scene.id}/activate`);
      assert.notEqual(resumed.json().targets[0].outcome, 'refused');
    });
  });
}
