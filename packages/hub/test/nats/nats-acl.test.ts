// Issue #16 item 2 (c): over a real 3-server NATS cluster, a node speaking MQTT 3.1.1 to NATS's
// MQTT listener reaches only its own subjects (`nodes/{own id}/#` → `nodes.<id>.>`), as with the
// Mosquitto ACL; credentials come from the hub's generator and a new node is admitted by a
// config reload (SIGHUP), without restarting any server.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import mqtt, { type MqttClient } from 'mqtt';
import { natsAuthorization, syncNatsAuthFile } from '../../src/mqtt/nats-files.ts';
import { grantedQos, waitFor } from '../mqtt/mqtt-helpers.ts';
import { startNatsCluster, type TestNatsCluster } from '../mqtt/nats-cluster.ts';

const HUB = { username: 'wattfleet-hub', password: 'hub-secret-for-tests' };
const A = { id: 'node-a', password: 'secret-a' };
const B = { id: 'node-b', password: 'secret-b' };
const C = { id: 'node-c', password: 'secret-c' };

/** Settles within 6 s either way (a refused or stalled CONNECT must not hang the test). */
function connect(url: string, user: { id: string; password: string }): Promise<MqttClient> {
  const client = mqtt.connect(url, {
    username: user.id,
    password: user.password,
    clientId: `${user.id}-${Math.random().toString(36).slice(2, 8)}`,
    protocolVersion: 4,
    reconnectPeriod: 0,
    connectTimeout: 5000,
  });
  return new Promise((resolve, reject) => {
    const fail = (err: unknown) => {
      clearTimeout(timer);
      client.end(true);
      reject(err instanceof Error ? err : new Error(String(err)));
    };
    const timer = setTimeout(() => fail(new Error('no CONNACK')), 6000);
    client.once('connect', () => {
      clearTimeout(timer);
      resolve(client);
    });
    client.once('error', fail);
    client.once('close', () => fail(new Error('closed before CONNACK')));
  });
}

/** The cluster's MQTT listener answers once JetStream has a meta leader (it stores MQTT sessions). */
async function connectWhenReady(url: string, user: { id: string; password: string }): Promise<MqttClient> {
  return waitFor(
    async () => {
      try {
        return await connect(url, user);
      } catch {
        return undefined;
      }
    },
    30_000,
    `MQTT connect as ${user.id}`,
  );
}

describe('NATS cluster: per-node permissions over MQTT', () => {
  let cluster: TestNatsCluster;
  const clients: MqttClient[] = [];

  before(async () => {
    cluster = await startNatsCluster(natsAuthorization([A, B], HUB));
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.endAsync(true).catch(() => {})));
    if (process.env.NATS_TEST_LOG) console.error(cluster?.log());
    await cluster?.stop();
  });

  it('a node publishes and subscribes only under its own subjects', async () => {
    const a = await connectWhenReady(cluster.servers[0]!.mqttUrl, A);
    const b = await connectWhenReady(cluster.servers[1]!.mqttUrl, B);
    clients.push(a, b);
    assert.deepEqual(await grantedQos(b, [`nodes/${B.id}/#`], 1), [1]);
    assert.deepEqual(await grantedQos(a, [`nodes/${A.id}/#`], 1), [1]);
    // Subscribing to another node's namespace or to everything is refused (SUBACK 0x80).
    assert.deepEqual(await grantedQos(a, [`nodes/${B.id}/#`], 1), [128]);
    assert.deepEqual(await grantedQos(a, ['nodes/#'], 1), [128]);
    // Nor can it read the server's internal QoS 1 delivery subjects of other sessions.
    const internal = await grantedQos(a, ['$MQTT/sub/#', '#'], 1).catch(() => [128, 128]);
    assert.deepEqual(internal, [128, 128]);

    const seenByB: string[] = [];
    b.on('message', (topic, payload) => seenByB.push(`${topic} ${payload}`));
    const seenByA: string[] = [];
    a.on('message', (topic, payload) => seenByA.push(`${topic} ${payload}`));
    // A's publish into B's namespace must not arrive; B's own publish (sent after it) must, so
    // waiting for B's own message bounds the wait for the forbidden one.
    await a.publishAsync(`nodes/${B.id}/cmd`, 'forged', { qos: 0 }).catch(() => {});
    const a2 = await connectWhenReady(cluster.servers[0]!.mqttUrl, A);
    clients.push(a2);
    await b.publishAsync(`nodes/${B.id}/status`, 'own', { qos: 1 });
    await waitFor(() => seenByB.includes(`nodes/${B.id}/status own`), 10_000, 'B own message');
    await a2.publishAsync(`nodes/${A.id}/status`, 'own-a', { qos: 1 });
    await waitFor(() => seenByA.includes(`nodes/${A.id}/status own-a`), 10_000, 'A own message');
    assert.deepEqual(
      seenByB.filter((m) => m.includes('forged')),
      [],
    );
  });

  it('a node added to the fleet connects after a reload, without a restart', async () => {
    const pidsBefore = cluster.servers.map((s) => s.proc?.pid);
    await assert.rejects(connect(cluster.servers[2]!.mqttUrl, C));
    assert.equal(await syncNatsAuthFile(cluster.files, natsAuthorization([A, B, C], HUB)), true);
    const c = await connectWhenReady(cluster.servers[2]!.mqttUrl, C);
    clients.push(c);
    assert.deepEqual(await grantedQos(c, [`nodes/${C.id}/#`, `nodes/${A.id}/#`], 1), [1, 128]);
    assert.deepEqual(
      cluster.servers.map((s) => s.proc?.pid),
      pidsBefore,
    );
    // An unchanged fleet rewrites nothing and signals nobody.
    assert.equal(await syncNatsAuthFile(cluster.files, natsAuthorization([A, B, C], HUB)), false);
  });
});
