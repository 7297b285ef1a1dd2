// B: telemetry over MQTT through a real Mosquitto into PostgreSQL. The bench starts Mosquitto on a
// free port with its own config, and the hub as a child process in external-broker mode (MQTT_URL,
// hub credentials; the hub keeps Mosquitto's password/ACL files in sync and SIGHUPs it, as in a
// deployment). Four enrolled nodes publish QoS 1 batches of 500 samples with their own credentials.
// Baseline in the same run: `mosquitto_sub` (QoS 1, exits after N messages) draining the same
// messages from the same broker, i.e. what the broker and one consumer cost without any storage.
// Zero loss: the samples in the database must equal the samples sent, else the bench fails.
// Unit: messages per second (samples/s = messages/s × 500). `npm run bench -- mqtt-ingest [messages]`.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { generateNodeKeyPair, topics } from '@wattfleet/protocol';
import mqtt, { type MqttClient } from 'mqtt';
import pg from 'pg';
import { mosquittoAcl } from '../packages/hub/src/mqtt/mosquitto-files.ts';
import { createPgDatabase } from '../packages/hub/test/helpers/engines.ts';
import { HubProcess } from '../packages/hub/test/helpers/hub-process.ts';
import { type CopyChunk, rawCopyRate } from './_copy.ts';
import { BENCH_METRICS, BENCH_TOKEN, benchSite } from './_fleet.ts';
import { type BenchMosquitto, startBenchMosquitto, until } from './_mqtt.ts';

const HUB = { username: 'wattfleet-hub', password: 'bench-hub-secret' };
const MOSQUITTO_SUB = process.env.MOSQUITTO_SUB_BIN ?? '/usr/bin/mosquitto_sub';
const PER_MESSAGE = 500;
const NODES = 4;
const METRICS = BENCH_METRICS;

interface Node {
  nodeId: string;
  password: string;
}

async function enrollNodes(hub: HubProcess, n: number): Promise<Node[]> {
  const newCode = await benchSite(hub);
  const nodes: Node[] = [];
  for (let i = 0; i < n; i++) {
    const code = await newCode();
    const r = await fetch(`${hub.url}/api/v1/nodes/enroll`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ code, publicKey: generateNodeKeyPair().publicKey }),
    });
    if (!r.ok) throw new Error(`enroll: ${r.status} ${await r.text()}`);
    const body = (await r.json()) as { nodeId: string; mqtt: { password: string } };
    nodes.push({ nodeId: body.nodeId, password: body.mqtt.password });
  }
  return nodes;
}

/** One message: 500 samples, 10 metrics × 50 steps of 1 s, distinct per node and message. */
function payload(tag: string, t0: number, m: number): string {
  return JSON.stringify({
    batchId: `bench-${tag}-${m}`,
    samples: Array.from({ length: PER_MESSAGE }, (_, i) => ({
      metric: METRICS[i % METRICS.length],
      ts: t0 + (m * (PER_MESSAGE / METRICS.length) + Math.floor(i / METRICS.length)) * 1000,
      value: Math.round(Math.random() * 5000),
    })),
  });
}

/** Publishes every node's messages (QoS 1) concurrently; resolves when the broker acked them all. */
async function publishAll(clients: MqttClient[], nodes: Node[], perNode: string[][]): Promise<void> {
  await Promise.all(
    clients.map((client, i) =>
      Promise.all(
        perNode[i]!.map((p) => client.publishAsync(topics.telemetry(nodes[i]!.nodeId), p, { qos: 1 })),
      ),
    ),
  );
}

export async function main(args: string[]): Promise<void> {
  const messages = Number(args[0] ?? 2000);
  const perNodeCount = Math.ceil(messages / NODES);
  const total = perNodeCount * NODES;
  const db = await createPgDatabase();
  let broker: BenchMosquitto | undefined;
  let hub: HubProcess | undefined;
  const clients: MqttClient[] = [];
  const pgc = new pg.Client({ connectionString: db.url });
  pgc.on('error', () => {});
  try {
    // The hub's own ACL; the password file starts with the hub alone and the hub adds the nodes.
    broker = await startBenchMosquitto([HUB], mosquittoAcl(HUB.username));
    hub = new HubProcess(
      {
        DATABASE_URL: db.url,
        PORT: '0',
        HOST: '127.0.0.1',
        MQTT_URL: broker.url,
        MQTT_USERNAME: HUB.username,
        MQTT_PASSWORD: HUB.password,
        MOSQUITTO_PASSWORD_FILE: broker.passwordFile,
        MOSQUITTO_ACL_FILE: broker.aclFile,
        MOSQUITTO_PID_FILE: broker.pidFile,
        MOSQUITTO_SYNC_MS: '200',
        WATTFLEET_ADMIN_TOKEN: BENCH_TOKEN,
        LOG_LEVEL: 'warn',
        WATTFLEET_DEMO: '0',
        INGEST_NODE_RATE_PER_MINUTE: '1000000',
      },
      process.env.BENCH_PROFILE ? ['--cpu-prof', '--cpu-prof-dir=/tmp/wattfleet-prof'] : [],
    );
    await hub.start();
    const nodes = await enrollNodes(hub, NODES);
    // The hub writes the nodes into the password file and reloads Mosquitto within MOSQUITTO_SYNC_MS.
    for (const [i, node] of nodes.entries()) {
      const client = await until(
        () =>
          mqtt
            .connectAsync(broker!.url, {
              username: node.nodeId,
              password: node.password,
              clientId: `bench-node-${i}`,
              protocolVersion: 4,
              reconnectPeriod: 0,
              connectTimeout: 5000,
            })
            .catch(() => undefined),
        20_000,
        'node credentials at the broker',
      );
      clients.push(client);
    }
    await pgc.connect();
    const t0 = Date.now() - 2 * 86_400_000;
    const warmT0 = t0 - 86_400_000;
    const batchCount = async () =>
      (await pgc.query('SELECT count(*)::int AS n FROM ingest_batches')).rows[0].n as number;

    // Warm-up (not measured): one message per node creates the series and the day's partition.
    await publishAll(
      clients,
      nodes,
      nodes.map((_, i) => [payload(`warm-${i}`, warmT0, 0)]),
    );
    await until(async () => (await batchCount()) >= NODES, 60_000, 'warm-up batches');

    // Prepared before the clock starts: we measure broker + hub + database, not JSON.stringify.
    const perNode = nodes.map((_, i) =>
      Array.from({ length: perNodeCount }, (_, m) => payload(`n${i}`, t0, m)),
    );
    const bytes = perNode[0]![0]!.length;

    const h0 = performance.now();
    await publishAll(clients, nodes, perNode);
    await until(async () => (await batchCount()) >= NODES + total, 600_000, 'all batches stored');
    const oursSeconds = (performance.now() - h0) / 1000;
    const stored = (await pgc.query('SELECT count(*)::int AS n FROM samples')).rows[0].n as number;
    const expected = (NODES + total) * PER_MESSAGE;
    if (stored !== expected) throw new Error(`loss: ${stored} samples stored, ${expected} sent`);
    // The hub leaves; only mosquitto_sub consumes the baseline round.
    await hub.stop();

    // Baseline: mosquitto_sub (hub's credentials, QoS 1) drains the same messages from the same broker.
    const sub = spawn(
      MOSQUITTO_SUB,
      [
        ...['-h', '127.0.0.1', '-p', String(broker.port), '-u', HUB.username, '-P', HUB.password],
        ...['-i', 'bench-baseline', '-q', '1', '-t', topics.allNodes('telemetry'), '-C', String(total)],
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let subErr = '';
    sub.stderr!.on('data', (d) => {
      subErr += d;
    });
    const subExit = once(sub, 'exit');
    // Publishing starts once the broker logged the subscription (else the first messages would miss it).
    await until(
      () => /bench-baseline 1 nodes\/\+\/telemetry/.test(broker!.log()),
      10_000,
      'baseline subscribe',
    );
    const b0 = performance.now();
    await publishAll(clients, nodes, perNode);
    const [code] = (await subExit) as [number | null];
    const baselineSeconds = (performance.now() - b0) / 1000;
    if (code !== 0) throw new Error(`mosquitto_sub exited ${code}: ${subErr}`);

    const ours = total / oursSeconds;
    const baseline = total / baselineSeconds;
    // Context: raw COPY of the same rows into the same (emptied) table. Storing is the floor of
    // the hub's cost; mosquitto_sub stores nothing.
    await pgc.query('TRUNCATE samples');
    const copy = await rawCopyRate(
      db.url,
      perNode.flatMap((msgs, i) =>
        msgs.map((m) => ({
          nodeId: nodes[i]!.nodeId,
          samples: (JSON.parse(m) as { samples: CopyChunk['samples'] }).samples,
        })),
      ),
    );
    console.log(
      `${total} QoS 1 messages of ${PER_MESSAGE} samples (${bytes} bytes JSON) from ${NODES} nodes; unit: messages/s`,
    );
    console.log(
      `hub → PostgreSQL: ${Math.round(ours)} msg/s = ${Math.round(ours * PER_MESSAGE)} samples/s, ` +
        `${stored} samples stored of ${expected} sent (no loss); mosquitto_sub drain: ${Math.round(baseline)} msg/s`,
    );
    console.log(
      `raw COPY of the same rows: ${Math.round(copy)} rows/s; hub over MQTT reaches ${((ours * PER_MESSAGE) / copy).toFixed(3)} of it`,
    );
    console.log(
      `mqtt-ingest: ratio=${(ours / baseline).toFixed(3)} ours=${Math.round(ours)} baseline=${Math.round(baseline)} copy_ratio=${((ours * PER_MESSAGE) / copy).toFixed(3)}`,
    );
  } catch (err) {
    console.error('mqtt-ingest benchmark failed:', err);
    if (broker) console.error(broker.log().split('\n').slice(-20).join('\n'));
    throw err;
  } finally {
    for (const c of clients) await c.endAsync().catch(() => {});
    await pgc.end().catch(() => {});
    await hub?.kill();
    await broker?.stop();
    await db.drop();
  }
}
