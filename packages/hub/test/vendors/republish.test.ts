// A virtual node's live readings leave the hub like an agent's, through a real Mosquitto: on
// nodes/{id}/live always, and on sites/{siteId}/live only for an account that opted in (PATCH
// siteTopic), for a home-automation client that may read nothing else. Mosquitto runs with the
// hub's generated ACL plus the sites/ lines (see ACL_FOR_SITE_TOPICS), which the generator in
// src/mqtt/mosquitto-files.ts does not write yet. Polls are driven with pinned times.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { type SiteLiveMessage, topics } from '@wattfleet/protocol';
import mqtt, { type MqttClient } from 'mqtt';
import { startControlPlane } from '../../src/mqtt/control-plane.ts';
import { mosquittoAcl } from '../../src/mqtt/mosquitto-files.ts';
import { hashMqttPassword } from '../../src/nodes/credentials.ts';
import { ENGINES } from '../helpers/engines.ts';
import { createSite, type TestHub } from '../helpers/hub.ts';
import { freePort, HUB_USER, mosquittoFiles, startMosquitto, type TestMosquitto } from '../mqtt/mosquitto.ts';
import { waitFor } from '../mqtt/mqtt-helpers.ts';
import { powersAt, SelectLiveStandIn } from '../stand-ins/select-live.ts';
import { atMinute, startVendorHub } from './helpers.ts';

const HOME = { username: 'home-automation', password: 'ha-secret-for-tests' };

/** The lines the hub's ACL needs for the site topic: the hub writes it, a reader gets read access. */
const ACL_FOR_SITE_TOPICS = (hubUser: string, siteId: string) =>
  [`user ${hubUser}`, 'topic write sites/#', `user ${HOME.username}`, `topic read sites/${siteId}/live`].join(
    '\n',
  );

interface Received {
  topic: string;
  payload: Record<string, unknown>;
}

async function subscriber(url: string, user: typeof HOME, filter: string): Promise<[MqttClient, Received[]]> {
  const got: Received[] = [];
  const client = await mqtt.connectAsync(url, {
    ...user,
    clientId: `test-${user.username}-${Math.random().toString(16).slice(2, 8)}`,
    reconnectPeriod: 0,
  });
  client.on('message', (topic, payload) => got.push({ topic, payload: JSON.parse(payload.toString()) }));
  await client.subscribeAsync(filter, { qos: 0 });
  return [client, got];
}

for (const engine of ENGINES) {
  describe(`vendor live readings over MQTT on ${engine}`, () => {
    const cloud = new SelectLiveStandIn();
    let hub: TestHub;
    let broker: TestMosquitto;
    let siteId: string;
    let accountId: string;
    let nodeId: string;
    const clients: MqttClient[] = [];
    /** One poll at minute `minute` of a pinned hour, for the hub and the stand-in alike. */
    const pollAt = (minute: number) => {
      cloud.clock = () => atMinute(minute);
      return hub.app.vendors.poller.pollNow(accountId, atMinute(minute));
    };

    before(async () => {
      cloud.maintenance = false;
      await cloud.start();
      cloud.addUser('owner@example.test', 'pw-one');
      cloud.addSystem('1001', 'owner@example.test');
      const port = await freePort();
      hub = await startVendorHub(
        engine,
        { selectLive: cloud.url },
        {
          mqttUrl: `mqtt://127.0.0.1:${port}`,
          controlPlane: {
            username: HUB_USER.username,
            password: HUB_USER.password,
            heartbeatFlushMs: 100,
            sweepIntervalMs: 200,
          },
        },
      );
      siteId = (await createSite(hub)).siteId;
      const created = await hub.admin('POST', `/api/v1/sites/${siteId}/vendor-accounts`, {
        vendor: 'select_live',
        externalId: '1001',
        credentials: { email: 'owner@example.test', password: 'pw-one' },
      });
      assert.equal(created.statusCode, 201, created.body);
      accountId = created.json().id;
      nodeId = created.json().nodeId;
      // The files are written here, not by the hub's sync (which would drop the sites/ lines).
      const { dir, files } = mosquittoFiles();
      writeFileSync(
        files.passwordFile,
        `${HUB_USER.username}:${hashMqttPassword(HUB_USER.password)}\n${HOME.username}:${hashMqttPassword(HOME.password)}\n`,
      );
      writeFileSync(
        files.aclFile,
        `${mosquittoAcl(HUB_USER.username)}\n${ACL_FOR_SITE_TOPICS(HUB_USER.username, siteId)}\n`,
      );
      broker = await startMosquitto(dir, files);
      hub.app.hub.config.mqttUrl = broker.url;
      await startControlPlane(hub.app);
    });

    after(async () => {
      for (const c of clients) await c.endAsync(true).catch(() => {});
      await hub?.close();
      await broker?.stop();
      await cloud.stop();
    });

    it('goes out on nodes/{id}/live like an agent snapshot, and on the site topic only after opting in', async () => {
      const [nodeSub, nodeGot] = await subscriber(broker.url, HUB_USER, topics.live(nodeId));
      const [homeSub, homeGot] = await subscriber(broker.url, HOME, topics.siteLive(siteId));
      clients.push(nodeSub, homeSub);

      // Not opted in: the node topic only.
      const first = await pollAt(10);
      assert.equal(first?.outcome, 'ok');
      const m10 = Math.floor(atMinute(10) / 60_000);
      await waitFor(() => nodeGot.length === 1, 10_000, 'node live message');
      assert.equal(nodeGot[0]!.topic, `nodes/${nodeId}/live`);
      const values = nodeGot[0]!.payload.values as Record<string, number>;
      assert.equal(values.load_w, powersAt(m10).load);
      assert.equal(values.solar_w, powersAt(m10).solar);

      const bad = await hub.admin('PATCH', `/api/v1/vendor-accounts/${accountId}`, { siteTopic: 'yes' });
      assert.equal(bad.statusCode, 400, bad.body);
      assert.match(bad.body, /siteTopic/);
      const on = await hub.admin('PATCH', `/api/v1/vendor-accounts/${accountId}`, { siteTopic: true });
      assert.equal(on.statusCode, 200, on.body);
      assert.equal(on.json().settings.siteTopic, true);

      const second = await pollAt(20);
      assert.equal(second?.outcome, 'ok');
      await waitFor(() => homeGot.length === 1 && nodeGot.length === 2, 10_000, 'site live message');
      // The first message on the site topic is the opted-in poll's: the earlier one never went there.
      const site = homeGot[0]!.payload as unknown as SiteLiveMessage;
      assert.equal(homeGot[0]!.topic, `sites/${siteId}/live`);
      assert.deepEqual(
        { siteId: site.siteId, nodeId: site.nodeId, accountId: site.accountId },
        { siteId, nodeId, accountId },
      );
      const m20 = Math.floor(atMinute(20) / 60_000);
      assert.equal(site.values.load_w, powersAt(m20).load);
      assert.equal(site.ts, nodeGot[1]!.payload.ts);

      // Opting out again stops the site topic; the node topic goes on.
      const off = await hub.admin('PATCH', `/api/v1/vendor-accounts/${accountId}`, { siteTopic: false });
      assert.equal(off.statusCode, 200, off.body);
      await pollAt(30);
      await pollAt(40);
      await waitFor(() => nodeGot.length === 4, 10_000, 'node live messages');
      // Re-enable and poll once more: the next site message is that one (nothing from 30 or 40).
      await hub.admin('PATCH', `/api/v1/vendor-accounts/${accountId}`, { siteTopic: true });
      await pollAt(41);
      await waitFor(() => homeGot.length === 2, 10_000, 'second site live message');
      assert.equal(homeGot[1]!.payload.ts, atMinute(41));
    });

    it('the home-automation user reads nothing of the node topics', async () => {
      // Subscribed to nodes/# as well as its site topic: each poll publishes the node topic first
      // and the site topic after it, so once the site message is here any node message would be.
      const [spy, got] = await subscriber(broker.url, HOME, 'nodes/#');
      await spy.subscribeAsync(topics.siteLive(siteId), { qos: 0 });
      clients.push(spy);
      await pollAt(42);
      await waitFor(() => got.length > 0, 10_000, 'site message');
      assert.deepEqual(
        got.map((m) => m.topic),
        [`sites/${siteId}/live`],
      );
    });
  });
}
