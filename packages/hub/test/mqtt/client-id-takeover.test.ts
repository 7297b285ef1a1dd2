// Issue 19.1, the attack as an enrolled node would run it: node A logs in with its own credentials
// but node B's client id (`wf-node-<B>`, clean=false), hoping to take over B's session — disconnect
// B, fire B's last will (B shown offline), and receive B's queued commands (CONFIG_PUSH config
// included). On the embedded broker the CONNECT is refused (identifier rejected); on a real
// Mosquitto started with the hub's node-listener settings A's id is replaced by its username, so
// A only ever reaches its own session. Either way B stays connected and online, and B's queued
// command waits for B alone. Both brokers, both engines.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type NodeStatus, nodeClientId, topics } from '@wattfleet/protocol';
import mqtt, { type MqttClient } from 'mqtt';
import { startControlPlane } from '../../src/mqtt/control-plane.ts';
import { ENGINES } from '../helpers/engines.ts';
import { createSite, startTestHub, type TestHub, TestNode } from '../helpers/hub.ts';
import { freePort, HUB_USER, mosquittoFiles, startMosquitto, type TestMosquitto } from './mosquitto.ts';
import { connectNode, nodeRow, sleep, status, waitFor } from './mqtt-helpers.ts';

const SECRET_CONFIG = 'hub:\n  url: https://hub.example\n# secret: victim-only\n';

interface Setup {
  hub: TestHub;
  /** Where nodes connect. */
  nodeUrl: string;
  /** True when the broker refuses a foreign client id; false when it replaces it (Mosquitto). */
  refuses: boolean;
  /** Called once the nodes are enrolled (Mosquitto starts with them in its password file). */
  ready(): Promise<void>;
  close(): Promise<void>;
}

async function aedesSetup(engine: (typeof ENGINES)[number]): Promise<Setup> {
  const hub = await startTestHub(engine, {
    host: '127.0.0.1',
    mqttPort: 0,
    mqttUrl: undefined,
    controlPlane: { heartbeatFlushMs: 100, sweepIntervalMs: 200, offlineAfterS: 60 },
  });
  const cp = await startControlPlane(hub.app);
  return { hub, nodeUrl: cp.brokerUrl!, refuses: true, ready: async () => {}, close: () => hub.close() };
}

async function mosquittoSetup(engine: (typeof ENGINES)[number]): Promise<Setup> {
  const { dir, files } = mosquittoFiles();
  const hub = await startTestHub(engine, {
    mqttUrl: `mqtt://127.0.0.1:${await freePort()}`,
    controlPlane: {
      username: HUB_USER.username,
      password: HUB_USER.password,
      mosquitto: files,
      heartbeatFlushMs: 100,
      sweepIntervalMs: 200,
      offlineAfterS: 60,
      mosquittoSyncMs: 60_000,
    },
  });
  let broker: TestMosquitto | undefined;
  return {
    hub,
    get nodeUrl() {
      return broker!.nodeUrl!;
    },
    refuses: false,
    async ready() {
      await hub.app.controlPlane.syncMosquitto();
      broker = await startMosquitto(dir, files, [], { nodeListener: true });
      // The hub logs in on its own listener; nodes use the one with the node settings.
      hub.app.hub.config.mqttUrl = broker.url;
      await startControlPlane(hub.app);
    },
    async close() {
      await hub.close();
      await broker?.stop();
    },
  };
}

/** Connects like the agent: its own client id, a persistent session, a retained offline will. */
async function connectAgent(url: string, node: TestNode): Promise<MqttClient> {
  const offline: NodeStatus = { state: 'offline', clock: Date.now(), reason: 'connection lost' };
  const client = await connectNode(url, node, {
    clientId: nodeClientId(node.nodeId),
    clean: false,
    will: {
      topic: topics.status(node.nodeId),
      payload: Buffer.from(JSON.stringify(offline)),
      qos: 1,
      retain: true,
    },
  });
  await client.subscribeAsync(topics.commands(node.nodeId), { qos: 1 });
  return client;
}

const BROKERS = [
  ['embedded aedes', aedesSetup],
  ['Mosquitto', mosquittoSetup],
] as const;

for (const engine of ENGINES) {
  for (const [brokerName, setup] of BROKERS) {
    describe(`client-id take-over on ${brokerName}, ${engine}`, () => {
      let s: Setup;
      let attacker: TestNode;
      let victim: TestNode;
      const clients: MqttClient[] = [];

      before(async () => {
        s = await setup(engine);
        const site = await createSite(s.hub);
        attacker = await TestNode.enroll(s.hub, site.siteId);
        victim = await TestNode.enroll(s.hub, site.siteId);
        await s.ready();
      });
      after(async () => {
        for (const c of clients) await c.endAsync(true).catch(() => {});
        await s?.close();
      });

      /**
       * The attacker's CONNECT with the victim's id. The harm is asserted by the callers whatever
       * the broker answers; `refused` records the answer for the brokers that must refuse.
       */
      async function takeOver(): Promise<{ client: MqttClient | undefined; refused: boolean }> {
        try {
          const client = await connectNode(s.nodeUrl, attacker, {
            clientId: nodeClientId(victim.nodeId),
            clean: false,
          });
          clients.push(client);
          return { client, refused: false };
        } catch (err) {
          assert.match(String(err), /Identifier rejected/i);
          return { client: undefined, refused: true };
        }
      }

      it('cannot disconnect the victim or fire its last will', async () => {
        const b = await connectAgent(s.nodeUrl, victim);
        clients.push(b);
        let bClosed = false;
        b.on('close', () => {
          bClosed = true;
        });
        await b.publishAsync(topics.status(victim.nodeId), status(), { qos: 1 });
        await waitFor(
          async () => (await nodeRow(s.hub, victim.nodeId)).status === 'online',
          10_000,
          'victim online',
        );

        const { refused } = await takeOver();
        // A marker through B's own connection proves B is still the session holder.
        const got: string[] = [];
        b.on('message', (t) => got.push(t));
        await b.subscribeAsync(topics.events(victim.nodeId), { qos: 1 });
        await b.publishAsync(topics.events(victim.nodeId), 'marker', { qos: 1 });
        await waitFor(() => got.includes(topics.events(victim.nodeId)), 5000, 'victim marker');
        await sleep(300);
        assert.equal(bClosed, false, 'the victim was disconnected');
        assert.equal(b.connected, true);
        const row = await nodeRow(s.hub, victim.nodeId);
        assert.equal(row.status, 'online', `victim shown ${row.status} (${row.status_reason})`);
        assert.equal(refused, s.refuses);
        await b.endAsync();
      });

      it("never receives the victim's queued commands; the victim gets them on return", async () => {
        // B holds a persistent session with its commands subscription, then goes away.
        const b = await connectAgent(s.nodeUrl, victim);
        await b.endAsync();
        const created = await s.hub.admin('POST', `/api/v1/nodes/${victim.nodeId}/commands`, {
          type: 'CONFIG_PUSH',
          args: { config: SECRET_CONFIG },
        });
        assert.equal(created.statusCode, 201, created.body);
        const commandId = created.json().id as string;
        await waitFor(
          async () =>
            (
              await s.hub.app.hub.db
                .selectFrom('commands')
                .select('published_at')
                .where('id', '=', commandId)
                .executeTakeFirstOrThrow()
            ).published_at,
          10_000,
          'command published to the broker',
        );

        const { client: a, refused } = await takeOver();
        const stolen: string[] = [];
        if (a) {
          a.on('message', (topic, payload) => stolen.push(`${topic} ${payload}`));
          // Even asking for it explicitly gets nothing of B's.
          await a.subscribeAsync(['#', topics.commands(victim.nodeId)], { qos: 1 }).catch(() => {});
          await a.subscribeAsync(topics.live(attacker.nodeId), { qos: 1 });
          await a.publishAsync(topics.live(attacker.nodeId), 'own-marker', { qos: 1 });
          await waitFor(() => stolen.some((m) => m.includes('own-marker')), 5000, 'attacker own marker');
          await sleep(300);
          await a.endAsync();
        }
        assert.ok(
          !stolen.some((m) => m.includes(victim.nodeId) || m.includes('victim-only')),
          stolen.join('\n'),
        );

        // B returns to its session: the command was kept for it.
        // Listening before CONNECT: a broker sends the queued messages right after CONNACK.
        const envelopes: { id: string; args?: { config?: string } }[] = [];
        const back = mqtt.connect(s.nodeUrl, {
          username: victim.nodeId,
          password: victim.mqttPassword,
          clientId: nodeClientId(victim.nodeId),
          clean: false,
          protocolVersion: 4,
          reconnectPeriod: 0,
        });
        clients.push(back);
        back.on('message', (topic, payload) => {
          if (topic === topics.commands(victim.nodeId)) envelopes.push(JSON.parse(payload.toString()));
        });
        const env = await waitFor(() => envelopes.find((e) => e.id === commandId), 10_000, 'queued command');
        assert.equal(env.args?.config, SECRET_CONFIG);
        assert.equal(refused, s.refuses);
      });
    });
  }
}
