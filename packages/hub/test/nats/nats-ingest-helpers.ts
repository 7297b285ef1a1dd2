// Shared by the NATS loss-window tests: hub processes with BROKER=nats on PostgreSQL against a
// real 3-server cluster (nats-cluster.ts), nodes enrolled through the hub and admitted to NATS by
// the hub's authorization generator + reload, and an MQTT-scripted node publisher that sends
// numbered QoS 1 batches the way the agent's uplink does (a batch counts once PUBACKed).
import assert from 'node:assert/strict';
import { generateNodeKeyPair, topics } from '@wattfleet/protocol';
import type { MqttClient } from 'mqtt';
import { natsAuthorization, syncNatsAuthFile } from '../../src/mqtt/nats-files.ts';
import { ADMIN_TOKEN } from '../helpers/hub.ts';
import { HubProcess } from '../helpers/hub-process.ts';
import { adminApi } from '../mqtt/ingest-broker.ts';
import { freePort, HUB_USER } from '../mqtt/mosquitto.ts';
import { connectNode, sleep, waitFor } from '../mqtt/mqtt-helpers.ts';
import { startNatsCluster, type TestNatsCluster } from '../mqtt/nats-cluster.ts';

export const PER_BATCH = 10;

export function startCluster(): Promise<TestNatsCluster> {
  return startNatsCluster(natsAuthorization([], HUB_USER));
}

export async function natsHub(
  cluster: TestNatsCluster,
  databaseUrl: string,
  hubId: string,
): Promise<HubProcess> {
  const hub = new HubProcess({
    DATABASE_URL: databaseUrl,
    HOST: '127.0.0.1',
    PORT: String(await freePort()),
    HUB_ID: hubId,
    BROKER: 'nats',
    NATS_URL: cluster.servers.map((s) => s.clientUrl).join(','),
    NATS_MQTT_URL: cluster.servers[0]!.mqttUrl,
    NATS_USER: HUB_USER.username,
    NATS_PASSWORD: HUB_USER.password,
    NATS_STREAM: 'WF_TEST',
    NATS_REPLICAS: '3',
    // A batch held by a SIGKILLed hub comes back after this long.
    NATS_ACK_WAIT_S: '3',
    MQTT_INGEST_CONNECTIONS: '4',
    WATTFLEET_ADMIN_TOKEN: ADMIN_TOKEN,
    WATTFLEET_DEMO: '0',
    LOG_LEVEL: 'warn',
  });
  hub.startTimeoutMs = 120_000;
  return hub;
}

export interface ScriptedNode {
  nodeId: string;
  mqttPassword: string;
  client?: MqttClient;
  sent: number;
}

/** Enrolls `n` nodes through the hub and admits them to NATS (generator + SIGHUP reload). */
export async function enrollNodes(
  hub: HubProcess,
  cluster: TestNatsCluster,
  n: number,
): Promise<ScriptedNode[]> {
  const admin = adminApi(() => hub.url);
  const org = await admin('/orgs', { name: 'Nats', kind: 'household' });
  const site = await admin('/sites', { orgId: org.id, name: 'Roof', timezone: 'UTC' });
  const nodes: ScriptedNode[] = [];
  for (let i = 0; i < n; i++) {
    const { code } = await admin(`/sites/${site.id}/enrollment-codes`, {});
    const res = await fetch(`${hub.url}/api/v1/nodes/enroll`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ code, publicKey: generateNodeKeyPair().publicKey }),
    });
    const enrolled = (await res.json()) as { nodeId: string; mqtt: { password: string } };
    assert.equal(res.status, 200, JSON.stringify(enrolled));
    nodes.push({ nodeId: enrolled.nodeId, mqttPassword: enrolled.mqtt.password, sent: 0 });
  }
  await syncNatsAuthFile(
    cluster.files,
    natsAuthorization(
      nodes.map((x) => ({ id: x.nodeId, password: x.mqttPassword })),
      HUB_USER,
    ),
  );
  for (const node of nodes)
    node.client = await waitFor(
      () => connectNode(cluster.servers[0]!.mqttUrl, node, { reconnectPeriod: 500 }).catch(() => undefined),
      20_000,
      'node login at NATS MQTT',
    );
  return nodes;
}

/** Publishes numbered batches (values 0, 1, 2 … per node) until `running()` is false. */
export function publishUntil(nodes: ScriptedNode[], running: () => boolean, t0: number): Promise<unknown> {
  return Promise.all(
    nodes.map(async (node, n) => {
      for (let b = 0; running(); b++) {
        const batch = {
          batchId: `nats-${n}-${b}`,
          samples: Array.from({ length: PER_BATCH }, (_, i) => ({
            metric: 'solar_w',
            ts: t0 + (b * PER_BATCH + i) * 100,
            value: b * PER_BATCH + i,
          })),
        };
        await node.client!.publishAsync(topics.telemetry(node.nodeId), JSON.stringify(batch), { qos: 1 });
        node.sent = b + 1;
        await sleep(100);
      }
    }),
  );
}

/** Every node's samples stored exactly once: count and sum 0 + 1 + … + (n − 1). */
export async function assertExactlyOnce(
  count: (q: string) => Promise<number>,
  query: (q: string) => Promise<{ node_id: string; n: number; total: string }[]>,
  nodes: ScriptedNode[],
  why: string,
): Promise<number> {
  const batches = nodes.reduce((a, n) => a + n.sent, 0);
  await waitFor(
    async () => (await count('SELECT count(*)::int AS n FROM ingest_batches')) >= batches,
    90_000,
    `all ${batches} batches stored; ${why}`,
  );
  await sleep(1000);
  assert.equal(await count('SELECT count(*)::int AS n FROM ingest_batches'), batches, why);
  const rows = await query(
    `SELECT r.node_id, count(*)::int AS n, sum(s.value)::bigint::text AS total
     FROM samples s JOIN series r ON r.id = s.series_id GROUP BY r.node_id`,
  );
  const byNode = new Map(rows.map((r) => [r.node_id, r]));
  for (const [i, node] of nodes.entries()) {
    const samples = node.sent * PER_BATCH;
    const row = byNode.get(node.nodeId);
    assert.equal(row?.n, samples, `node ${i}: samples stored = sent; ${why}`);
    assert.equal(row?.total, String((samples * (samples - 1)) / 2), `node ${i}: values; ${why}`);
  }
  return batches;
}
