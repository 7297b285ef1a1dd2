// B1: signed HTTP telemetry batches of 500 samples into PostgreSQL through a running hub process,
// against raw COPY of the same rows into the same table in the same run. Also reports PGlite.
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { generateNodeKeyPair, privateKeyFromPem, signRequest } from '@wattfleet/protocol';
import pg from 'pg';
import { createPgDatabase } from '../packages/hub/test/helpers/engines.ts';
import { HubProcess } from '../packages/hub/test/helpers/hub-process.ts';
import { rawCopyRate } from './_copy.ts';
import { BENCH_METRICS, BENCH_TOKEN, benchSite } from './_fleet.ts';
import { cpuSeconds } from './_mqtt.ts';

const PER_BATCH = 500;
const ROUNDS = 3;
/** Requests in flight, as from many nodes at once. */
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const METRICS = BENCH_METRICS;

interface Batch {
  batchId: string;
  samples: { metric: string; ts: number; value: number }[];
}

function makeBatches(nodeIndex: number, count: number, t0: number): Batch[] {
  const out: Batch[] = [];
  let step = 0;
  for (let b = 0; b < count; b++) {
    const samples = [];
    for (let i = 0; i < PER_BATCH; i++) {
      const metric = METRICS[i % METRICS.length]!;
      if (i % METRICS.length === 0) step++;
      samples.push({ metric, ts: t0 + step * 1000, value: Math.round(Math.random() * 5000) });
    }
    out.push({ batchId: `bench-${nodeIndex}-${b}-${t0}`, samples });
  }
  return out;
}

async function setupNodes(hub: HubProcess, n: number) {
  const newCode = await benchSite(hub);
  const nodes = [];
  for (let i = 0; i < n; i++) {
    const code = await newCode();
    const pair = generateNodeKeyPair();
    const r = await fetch(`${hub.url}/api/v1/nodes/enroll`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ code, publicKey: pair.publicKey }),
    });
    const body = (await r.json()) as { nodeId: string };
    nodes.push({ nodeId: body.nodeId, key: privateKeyFromPem(pair.privateKeyPem) });
  }
  return nodes;
}

/** Sends all batches with `concurrency` requests in flight; returns samples per second. */
async function sendAll(
  hub: HubProcess,
  work: { node: { nodeId: string; key: import('node:crypto').KeyObject }; batch: Batch }[],
  concurrency: number,
) {
  const url = '/api/v1/ingest/telemetry';
  // Bodies are prepared (gzipped and signed, as the agent does) before the clock starts: we
  // measure the hub, not the client's gzip and Ed25519 signing (well within the ±5 min window).
  const prepared = work.map(({ node, batch }) => {
    const body = gzipSync(JSON.stringify(batch));
    return { body, signature: signRequest(node.key, node.nodeId, 'POST', url, body) };
  });
  // Plain node:http with kept-alive sockets: a lighter load generator than fetch, so more of the
  // machine's two cores are left to the hub and PostgreSQL being measured.
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const { hostname, port } = new URL(hub.url);
  const post = (body: Buffer, signature: Record<string, string>) =>
    new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = http.request(
        {
          agent,
          hostname,
          port,
          path: url,
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'content-encoding': 'gzip',
            'content-length': body.length,
            ...signature,
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }),
          );
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < prepared.length) {
        const { body, signature } = prepared[next++]!;
        const res = await post(body, signature);
        const answer = JSON.parse(res.text) as { status?: string };
        if (res.status !== 200 || answer.status !== 'stored')
          throw new Error(`ingest ${res.status} ${res.text}`);
      }
    }),
  );
  agent.destroy();
  const seconds = (performance.now() - started) / 1000;
  return (work.length * PER_BATCH) / seconds;
}

export async function main(args: string[]): Promise<void> {
  const batchesPerNode = Number(args[0] ?? 100);
  const nodeCount = 4;
  const db = await createPgDatabase();
  const hub = new HubProcess(
    {
      DATABASE_URL: db.url,
      PORT: '0',
      HOST: '127.0.0.1',
      MQTT_PORT: '0',
      WATTFLEET_ADMIN_TOKEN: BENCH_TOKEN,
      LOG_LEVEL: 'warn',
      WATTFLEET_DEMO: '0',
      INGEST_NODE_RATE_PER_MINUTE: '1000000',
    },
    // BENCH_PROFILE=1 writes a CPU profile of the hub process to /tmp/wattfleet-prof.
    process.env.BENCH_PROFILE ? ['--cpu-prof', '--cpu-prof-dir=/tmp/wattfleet-prof'] : [],
  );
  try {
    await hub.start();
    const nodes = await setupNodes(hub, nodeCount);
    const t0 = Date.now() - 2 * 86_400_000;
    // Warm-up: creates the series, caches and JIT paths on both sides (not measured).
    const warm = nodes.flatMap((node, i) =>
      makeBatches(100 + i, 20, t0 - 86_400_000).map((batch) => ({ node, batch })),
    );
    await sendAll(hub, warm, CONCURRENCY);

    // Rounds of (hub, then raw COPY of the same rows) close together in time, each into an empty
    // table: this machine is shared, so one pair can be skewed by a neighbour; the median of the
    // rounds' ratios is reported, and every round is printed.
    const client = new pg.Client({ connectionString: db.url });
    client.on('error', () => {});
    await client.connect();
    await client.query('TRUNCATE samples');
    const rounds: { ours: number; baseline: number; cores: number }[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const work = nodes.flatMap((node, i) =>
        makeBatches(i + 10 * r, batchesPerNode, t0).map((batch) => ({ node, batch })),
      );
      const cpu0 = cpuSeconds(hub.pid!);
      const started = performance.now();
      const ours = await sendAll(hub, work, CONCURRENCY);
      const cores = (cpuSeconds(hub.pid!) - cpu0) / ((performance.now() - started) / 1000);
      const stored = (await client.query('SELECT count(*)::int AS n FROM samples')).rows[0].n as number;
      if (stored !== work.length * PER_BATCH)
        throw new Error(`stored ${stored}, expected ${work.length * PER_BATCH}`);
      await client.query('TRUNCATE samples');
      const baseline = await rawCopyRate(
        db.url,
        work.map(({ node, batch }) => ({ nodeId: node.nodeId, samples: batch.samples })),
      );
      await client.query('TRUNCATE samples');
      rounds.push({ ours, baseline, cores });
      console.log(
        `round ${r + 1}: ${Math.round(ours)} samples/s through the hub (hub process on ${cores.toFixed(2)} cores), raw COPY ${Math.round(baseline)} rows/s, ratio ${(ours / baseline).toFixed(3)}`,
      );
    }
    await client.end();
    await hub.stop();
    const mid = [...rounds].sort((x, y) => x.ours / x.baseline - y.ours / y.baseline)[
      Math.floor(ROUNDS / 2)
    ]!;
    const { ours, baseline } = mid;

    const pgliteRate = await pgliteFigure(Math.min(batchesPerNode, 40));
    console.log(`pglite: ${Math.round(pgliteRate)} samples/s through the hub`);
    console.log(
      `ingest: ratio=${(ours / baseline).toFixed(3)} ours=${Math.round(ours)} baseline=${Math.round(baseline)} pglite=${Math.round(pgliteRate)}`,
    );
  } catch (err) {
    console.error('ingest benchmark failed:', err);
    throw err;
  } finally {
    await hub.kill();
    await db.drop();
  }
}

async function pgliteFigure(batchesPerNode: number): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'wf-bench-pglite-'));
  const hub = new HubProcess({
    WATTFLEET_DATA_DIR: dir,
    PORT: '0',
    HOST: '127.0.0.1',
    MQTT_PORT: '0',
    WATTFLEET_ADMIN_TOKEN: BENCH_TOKEN,
    LOG_LEVEL: 'warn',
    WATTFLEET_DEMO: '0',
    INGEST_NODE_RATE_PER_MINUTE: '1000000',
  });
  try {
    await hub.start();
    const nodes = await setupNodes(hub, 2);
    const t0 = Date.now() - 2 * 86_400_000;
    const warm = nodes.map((node, i) => ({ node, batch: makeBatches(100 + i, 1, t0 - 86_400_000)[0]! }));
    await sendAll(hub, warm, 2);
    const work = nodes.flatMap((node, i) =>
      makeBatches(i, batchesPerNode, t0).map((batch) => ({ node, batch })),
    );
    return await sendAll(hub, work, 4);
  } finally {
    await hub.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}
