// The external-broker mode against a real Mosquitto: the hub writes the password and ACL files,
// Mosquitto enforces them (a node only within nodes/{own id}/# plus reading hub/broadcast), the
// hub keeps them in sync as nodes are enrolled and deactivated (SIGHUP reload), and logs in
// with its own user and shared subscriptions. Both engines.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { topics } from '@wattfleet/protocol';
import type { MqttClient } from 'mqtt';
import { startControlPlane } from '../../src/mqtt/control-plane.ts';
import { ENGINES } from '../helpers/engines.ts';
import { batchId, createSite, startTestHub, type TestHub, TestNode } from '../helpers/hub.ts';
import { HUB_USER, mosquittoFiles, startMosquitto, type TestMosquitto } from './mosquitto.ts';
import { connectNode, grantedQos, sleep, waitFor } from './mqtt-helpers.ts';

for (const engine of ENGINES) {
  describe(`Mosquitto files and ACL on ${engine}`, () => {
    let hub: TestHub;
    let broker: TestMosquitto;
    let a: TestNode;
    let b: TestNode;
    const clients: MqttClient[] = [];

    before(async () => {
      const { dir, files } = mosquittoFiles();
      const port = await import('./mosquitto.ts').then((m) => m.freePort());
      hub = await startTestHub(engine, {
        mqttUrl: `mqtt://127.0.0.1:${port}`,
        controlPlane: {
          username: HUB_USER.username,
          password: HUB_USER.password,
          mosquitto: files,
          heartbeatFlushMs: 100,
          sweepIntervalMs: 200,
          mosquittoSyncMs: 60_000,
        },
      });
      const site = await createSite(hub);
      a = await TestNode.enroll(hub, site.siteId);
      b = await TestNode.enroll(hub, site.siteId);
      assert.equal(await hub.app.controlPlane.syncMosquitto(), true);
      broker = await startMosquitto(dir, files);
      // The test's broker took whatever free port it found; point the hub at it.
      hub.app.hub.config.mqttUrl = broker.url;
      await startControlPlane(hub.app);
    });
    after(async () => {
      for (const c of clients) await c.endAsync(true).catch(() => {});
      await hub?.close();
      await broker?.stop();
    });

    it('writes the node hashes as they are and the per-node ACL', () => {
      const passwd = readFileSync(broker.files.passwordFile, 'utf8');
      assert.match(passwd, new RegExp(`^${a.nodeId}:\\$7\\$`, 'm'));
      assert.match(passwd, new RegExp(`^${HUB_USER.username}:\\$7\\$`, 'm'));
      const acl = readFileSync(broker.files.aclFile, 'utf8');
      assert.match(acl, /^pattern readwrite nodes\/%u\/#$/m);
      assert.match(acl, /^pattern read hub\/broadcast$/m);
    });

    it('authenticates nodes by their own password only', async () => {
      await assert.rejects(connectNode(broker.url, { nodeId: a.nodeId, mqttPassword: 'wrong' }));
      await assert.rejects(connectNode(broker.url, { nodeId: a.nodeId, mqttPassword: b.mqttPassword }));
      const ok = await connectNode(broker.url, a);
      await ok.endAsync();
    });

    it('keeps a node inside nodes/{own id}/#, for publish and subscribe', async () => {
      const ca = await connectNode(broker.url, a);
      const cb = await connectNode(broker.url, b);
      clients.push(ca, cb);
      // Mosquitto 2.0 may grant a foreign filter (0x80 from newer versions); either way the read ACL
      // is applied to every delivery, which is what the assertions below check.
      const foreign = await grantedQos(ca, [`nodes/${b.nodeId}/#`]);
      assert.ok(foreign[0] === 128 || foreign[0] === 1, String(foreign));
      assert.deepEqual(await grantedQos(ca, [`nodes/${a.nodeId}/commands`, 'hub/broadcast']), [1, 1]);
      // Subscribing to '#' is granted by Mosquitto, but delivers only what the ACL lets A read.
      const aGot: string[] = [];
      ca.on('message', (t) => aGot.push(t));
      await ca.subscribeAsync('#', { qos: 1 });
      const bGot: string[] = [];
      cb.on('message', (t) => bGot.push(t));
      await cb.subscribeAsync(`nodes/${b.nodeId}/#`, { qos: 1 });

      const received = hub.app.controlPlane.stats.telemetry.received;
      await ca.publishAsync(topics.commands(b.nodeId), '{"forged":true}', { qos: 1 });
      await ca.publishAsync(
        topics.telemetry(b.nodeId),
        JSON.stringify({ batchId: batchId(), samples: [{ metric: 'solar_w', ts: Date.now(), value: 1 }] }),
        { qos: 1 },
      );
      await cb.publishAsync(topics.events(b.nodeId), 'marker-b', { qos: 1 });
      await waitFor(() => bGot.includes(topics.events(b.nodeId)), 5000, 'marker');
      await ca.publishAsync(topics.live(a.nodeId), 'marker-a', { qos: 1 });
      await waitFor(() => aGot.includes(topics.live(a.nodeId)), 5000, 'own marker');
      await sleep(200);
      assert.deepEqual(bGot, [topics.events(b.nodeId)]);
      assert.ok(!aGot.some((t) => t.includes(b.nodeId)), JSON.stringify(aGot));
      assert.equal(hub.app.controlPlane.stats.telemetry.received, received);
    });

    it('lets a newly enrolled node in after the sync reloads Mosquitto, and shuts a deactivated one out', async () => {
      const c = await TestNode.enroll(hub, a.siteId);
      await assert.rejects(connectNode(broker.url, c));
      assert.equal(await hub.app.controlPlane.syncMosquitto(), true);
      const client = await waitFor(() => connectNode(broker.url, c).catch(() => undefined), 10_000, 'reload');
      await client.endAsync();
      assert.equal((await hub.admin('POST', `/api/v1/nodes/${c.nodeId}/deactivate`)).statusCode, 200);
      assert.equal(await hub.app.controlPlane.syncMosquitto(), true);
      await waitFor(
        () =>
          connectNode(broker.url, c).then(
            async (cl) => {
              await cl.endAsync();
              return false;
            },
            () => true,
          ),
        10_000,
        'refusal after reload',
      );
      assert.equal(await hub.app.controlPlane.syncMosquitto(), false);
    });
  });
}
