// B-vendor: one hub polls N select.live accounts (default 5,000) on the local stand-in every
// minute for M minutes (default 3), then the same readings are pushed through signed HTTP ingest
// in the same run. Last line:
//   vendor-poll: on_time_pct=… hub_cpu_cores=… ratio=…
// - on_time_pct: share of the accounts' minute slots (slotOffset, the poller's own schedule) in
//   the window whose poll reached the stand-in within that minute, i.e. in [slot, slot + 60 s).
//   Goal ≥ 99.9.
// - hub_cpu_cores: the hub process's CPU seconds per wall second over the window. Goal ≤ 0.5.
// - ratio: stored samples per hub CPU-second through vendor polling, against the same readings
//   pushed through signed HTTP ingest (as fast as it takes them): 1 means polling a vendor cloud
//   costs the hub what receiving the same data from agents does; below 1, the polling overhead.
//   The raw rates of both paths are printed too.
// `npm run bench -- vendor-poll [accounts] [minutes]`; needs PostgreSQL on 127.0.0.1:5432.
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { gzipSync } from 'node:zlib';
import { generateNodeKeyPair, privateKeyFromPem, signRequest } from '@wattfleet/protocol';
import pg from 'pg';
import { slotOffset } from '../packages/hub/src/vendors/poll-policy.ts';
import { createPgDatabase } from '../packages/hub/test/helpers/engines.ts';
import { HubProcess } from '../packages/hub/test/helpers/hub-process.ts';
import { SelectLiveStandIn } from '../packages/hub/test/stand-ins/select-live.ts';
import { adminPost, BENCH_TOKEN } from './_fleet.ts';
import { cpuSeconds } from './_mqtt.ts';

const MINUTE = 60_000;
const ACCOUNTS_PER_SITE = 50;
// At most 20: enrollment is rate-limited to 20 per minute per address.
const HTTP_NODES = 20;
const PER_BATCH = 500;
const CREATE_CONCURRENCY = 32;
const HTTP_CONCURRENCY = 16;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs `fn` over `items` with `n` in flight. */
async function pool<T>(items: T[], n: number, fn: (item: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < items.length) {
        const i = next++;
        await fn(items[i]!, i);
      }
    }),
  );
}

interface Row {
  node_id: string;
  equipment: string;
  metric: string;
  ts: Date;
  value: number;
}

/** Signed, gzipped batches (prepared before the clock starts); samples per second and hub cores. */
async function pushSigned(hub: HubProcess, rows: Row[]): Promise<{ rate: number; cores: number }> {
  const newCode = await siteCodes(hub, 'HTTP ingest site');
  const nodes: { nodeId: string; key: import('node:crypto').KeyObject }[] = [];
  for (let i = 0; i < HTTP_NODES; i++) {
    const pair = generateNodeKeyPair();
    const r = await fetch(`${hub.url}/api/v1/nodes/enroll`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ code: await newCode(), publicKey: pair.publicKey }),
    });
    if (!r.ok) throw new Error(`enroll: ${r.status} ${await r.text()}`);
    nodes.push({
      nodeId: ((await r.json()) as { nodeId: string }).nodeId,
      key: privateKeyFromPem(pair.privateKeyPem),
    });
  }
  // Virtual node k's readings go to HTTP node k % HTTP_NODES, each account shifted by its own
  // milliseconds so two accounts' readings on one node never share a (metric, ts).
  const index = new Map<string, number>();
  const byNode = new Map<number, { metric: string; equipment: string; ts: number; value: number }[]>();
  for (const r of rows) {
    let k = index.get(r.node_id);
    if (k === undefined) {
      k = index.size;
      index.set(r.node_id, k);
    }
    const target = k % HTTP_NODES;
    const list = byNode.get(target) ?? [];
    list.push({
      metric: r.metric,
      equipment: r.equipment,
      ts: r.ts.getTime() + Math.floor(k / HTTP_NODES),
      value: r.value,
    });
    byNode.set(target, list);
  }
  const url = '/api/v1/ingest/telemetry';
  const prepared: { body: Buffer; headers: Record<string, string> }[] = [];
  for (const [target, samples] of byNode) {
    const node = nodes[target]!;
    for (let i = 0; i < samples.length; i += PER_BATCH) {
      const batch = { batchId: `http-${target}-${i}`, samples: samples.slice(i, i + PER_BATCH) };
      const body = gzipSync(JSON.stringify(batch));
      prepared.push({ body, headers: signRequest(node.key, node.nodeId, 'POST', url, body) });
    }
  }
  const agent = new http.Agent({ keepAlive: true, maxSockets: HTTP_CONCURRENCY });
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
  let stored = 0;
  const cpu0 = cpuSeconds(hub.pid!);
  const started = performance.now();
  await pool(prepared, HTTP_CONCURRENCY, async ({ body, headers }) => {
    const res = await post(body, headers);
    if (res.status !== 200) throw new Error(`ingest ${res.status} ${res.text}`);
    stored += (JSON.parse(res.text) as { stored: number }).stored;
  });
  const seconds = (performance.now() - started) / 1000;
  agent.destroy();
  const cores = (cpuSeconds(hub.pid!) - cpu0) / seconds;
  if (stored !== rows.length) throw new Error(`HTTP ingest stored ${stored} of ${rows.length} samples`);
  return { rate: stored / seconds, cores };
}

/** A fresh org and site (UTC); a function making one enrollment code for it, and its id. */
async function siteCodes(hub: HubProcess, name: string): Promise<() => Promise<string>> {
  const org = await adminPost(hub, '/orgs', { name, kind: 'operator' });
  const site = await adminPost(hub, '/sites', { orgId: org.id, name, timezone: 'UTC' });
  return async () => (await adminPost(hub, `/sites/${site.id}/enrollment-codes`, {})).code!;
}

export async function main(args: string[]): Promise<void> {
  const count = Number(args[0] ?? 5000);
  const minutes = Number(args[1] ?? 3);
  const cloud = new SelectLiveStandIn();
  // The maintenance window (minutes 48–52 of the hour) would fail polls whatever the hub does.
  cloud.maintenance = false;
  await cloud.start();
  const db = await createPgDatabase();
  const hub = new HubProcess(
    {
      DATABASE_URL: db.url,
      PORT: '0',
      HOST: '127.0.0.1',
      MQTT_PORT: '0',
      WATTFLEET_ADMIN_TOKEN: BENCH_TOKEN,
      WATTFLEET_SECRETS_KEY: randomBytes(32).toString('base64'),
      SELECT_LIVE_URL: cloud.url,
      LOG_LEVEL: 'warn',
      WATTFLEET_DEMO: '0',
      INGEST_NODE_RATE_PER_MINUTE: '1000000',
    },
    // BENCH_CPU_PROF=<dir>: a V8 CPU profile of the hub, to see where polling spends its time.
    process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [],
  );
  try {
    await hub.start();
    // Accounts: each add logs in and reads the system once (the connection test), then the
    // poller takes it up at once and settles into its minute slot.
    const sites: string[] = [];
    for (let s = 0; s < Math.ceil(count / ACCOUNTS_PER_SITE); s++) {
      const org = await adminPost(hub, '/orgs', { name: `Vendor bench ${s}`, kind: 'household' });
      sites.push(
        (await adminPost(hub, '/sites', { orgId: org.id, name: `Vendor site ${s}`, timezone: 'UTC' })).id!,
      );
    }
    const systems = Array.from({ length: count }, (_, i) => String(100_000 + i));
    for (const n of systems) {
      cloud.addUser(`owner${n}@example.test`, `pw-${n}`);
      cloud.addSystem(n, `owner${n}@example.test`);
    }
    const accountOf = new Map<string, string>();
    const t0 = performance.now();
    await pool(systems, CREATE_CONCURRENCY, async (n, i) => {
      const a = await adminPost(hub, `/sites/${sites[Math.floor(i / ACCOUNTS_PER_SITE)]}/vendor-accounts`, {
        vendor: 'select_live',
        externalId: n,
        credentials: { email: `owner${n}@example.test`, password: `pw-${n}` },
      });
      accountOf.set(n, a.id!);
    });
    console.log(`${count} accounts added in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

    // One minute for every account to be taken up and reach its slot; the window starts on a
    // minute boundary so the readings stored in it are exactly those of its polls.
    const windowStart = (Math.floor(Date.now() / MINUTE) + 2) * MINUTE;
    const windowEnd = windowStart + minutes * MINUTE;
    await sleep(windowStart - Date.now());
    const cpu0 = cpuSeconds(hub.pid!);
    const wall0 = performance.now();
    await sleep(windowEnd - Date.now());
    const cores = (cpuSeconds(hub.pid!) - cpu0) / ((performance.now() - wall0) / 1000);
    // The last slots of the window have until a minute after it to be polled.
    await sleep(windowEnd + MINUTE + 2_000 - Date.now());

    // On time: each account's slots in the window against the polls the stand-in saw.
    const arrivals = new Map<string, number[]>();
    for (const r of cloud.requests) {
      const m = /^\/dashboard\/hfdata\/(\d+)$/.exec(r.path);
      if (!m || r.status !== 200) continue;
      const list = arrivals.get(m[1]!) ?? [];
      list.push(r.at);
      arrivals.set(m[1]!, list);
    }
    let slots = 0;
    let onTime = 0;
    for (const n of systems) {
      const offset = slotOffset(accountOf.get(n)!);
      const seen = arrivals.get(n) ?? [];
      for (let s = windowStart - MINUTE + offset; s < windowEnd; s += MINUTE) {
        if (s < windowStart) continue;
        slots++;
        if (seen.some((t) => t >= s && t < s + MINUTE)) onTime++;
      }
    }
    const onTimePct = (100 * onTime) / slots;

    const client = new pg.Client({ connectionString: db.url });
    client.on('error', () => {});
    await client.connect();
    const { rows } = await client.query<Row>(
      `SELECT s2.node_id, s2.equipment, s2.metric, s.ts, s.value
         FROM samples s JOIN series s2 ON s2.id = s.series_id
         JOIN vendor_accounts va ON va.node_id = s2.node_id
        WHERE s.ts >= $1 AND s.ts < $2`,
      [new Date(windowStart), new Date(windowEnd)],
    );
    await client.end();
    const windowS = (windowEnd - windowStart) / 1000;
    const vendorRate = rows.length / windowS;
    console.log(
      `polling: ${slots} slots, ${onTime} on time (${onTimePct.toFixed(3)} %), ${rows.length} samples stored (${Math.round(vendorRate)}/s) on ${cores.toFixed(3)} hub cores`,
    );
    const signed = await pushSigned(hub, rows);
    console.log(
      `signed HTTP ingest of the same ${rows.length} readings: ${Math.round(signed.rate)} samples/s on ${signed.cores.toFixed(2)} hub cores`,
    );
    const ratio = vendorRate / cores / (signed.rate / signed.cores);
    console.log(
      `vendor-poll: on_time_pct=${onTimePct.toFixed(2)} hub_cpu_cores=${cores.toFixed(3)} ratio=${ratio.toFixed(3)} accounts=${count} vendor_samples_s=${Math.round(vendorRate)} http_samples_s=${Math.round(signed.rate)}`,
    );
  } catch (err) {
    console.error('vendor-poll benchmark failed:', err);
    console.error(`hub output (tail):\n${hub.output.slice(-8000)}`);
    throw err;
  } finally {
    // SIGTERM first: the hub writes its CPU profile (BENCH_CPU_PROF) only on a clean exit.
    if (process.env.BENCH_CPU_PROF) await hub.stop();
    await hub.kill();
    await db.drop();
    await cloud.stop();
  }
}
