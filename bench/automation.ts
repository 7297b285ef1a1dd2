// B-automation (issue #13): S sites (default 1,000) with one simulated node each and 10 schedules
// per site (10,000 runs) all due in the same minute, executed by the hub (the nodes announce no
// `edgeAutomation`, so every schedule stays on the hub). Last line:
//   automation: p99_late_ms=… ratio=… ingest_ratio_with_rules=… …
// - p99_late_ms: 99th percentile, over the runs, of (the node's `succeeded` for the RELAY_SET − the
//   due instant), i.e. executed lateness; issued lateness (command created − due) is printed too.
//   Goal ≤ 2,000 ms.
// - ratio: RELAY_SET commands issued per second by the schedule runner (runs / (last command
//   created − due instant)) against plain command creation through the same hub's API
//   (POST /nodes/:id/commands, 16 in flight) in the same run.
// - ingest_ratio_with_rules: B1-style signed HTTP ingest (batches of 500) from the sites' nodes
//   with two threshold-with-duration rules on live metrics per site, against the same ingest with
//   no rules, same run. Goal ≥ 0.9.
// Everything goes through the real API: orgs, sites (five time zones), enrollment (each simulated
// node from its own address via X-Forwarded-For on a TRUST_PROXY hub, as behind a proxy, since
// enrollment is limited per address), schedules, rules. The simulated nodes are MQTT clients on
// the hub's embedded broker that answer RELAY_SET as the agent's dispatcher does (delivered,
// running, succeeded with the read-back state as RelaySetResult) and register their channels with
// a `channels.inventory` event. The due minute is chosen from now: the next minute boundary at
// least LEAD_S ahead of the time the seed is expected to finish (measured on the first schedules),
// written in each site's zone, so nothing depends on the time of day.
// `npm run bench -- automation [sites]`; needs PostgreSQL on 127.0.0.1:5432.
import type { KeyObject } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { gzipSync } from 'node:zlib';
import {
  type CommandEnvelope,
  generateNodeKeyPair,
  nodeClientId,
  privateKeyFromPem,
  signRequest,
  topics,
} from '@wattfleet/protocol';
import mqtt, { type MqttClient } from 'mqtt';
import pg from 'pg';
import { createPgDatabase } from '../packages/hub/test/helpers/engines.ts';
import { HubProcess } from '../packages/hub/test/helpers/hub-process.ts';
import { BENCH_METRICS, BENCH_TOKEN } from './_fleet.ts';
import { cpuSeconds, sleep, until } from './_mqtt.ts';

const CHANNELS_PER_SITE = 10;
const SITES_PER_ORG = 50;
const ZONES = ['UTC', 'Europe/Berlin', 'America/New_York', 'Asia/Kolkata', 'Australia/Sydney'];
/** Seconds between the expected end of the seed and the due minute. */
const LEAD_S = 20;
const API_CONCURRENCY = 16;
const BASELINE_COMMANDS = 3000;
const PER_BATCH = 500;
const INGEST_BATCHES_PER_NODE = 2;

interface SimNode {
  siteId: string;
  timezone: string;
  nodeId: string;
  password: string;
  key: KeyObject;
  channels: string[]; // channel ids, ch0…ch9
  client?: MqttClient;
}

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

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });

function api(hub: HubProcess) {
  return async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const r = await fetch(`${hub.url}/api/v1${path}`, {
      method,
      headers: {
        authorization: `Bearer ${BENCH_TOKEN}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...headers,
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${await r.text()}`);
    // biome-ignore lint/suspicious/noExplicitAny: bench glue reads a few known fields
    return (await r.json()) as any;
  };
}

/** Site-local HH:MM of an instant. */
function localHhMm(ms: number, timezone: string): string {
  const parts = new Intl.DateTimeFormat('en-GB', {
    timeZone: timezone,
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).formatToParts(new Date(ms));
  const get = (t: string) => parts.find((p) => p.type === t)!.value;
  return `${get('hour')}:${get('minute')}`;
}

/** The agent's side of RELAY_SET, as packages/edge's dispatcher and relay-set handler answer it. */
async function connectSim(url: string, n: SimNode): Promise<void> {
  const client = await mqtt.connectAsync(url, {
    username: n.nodeId,
    password: n.password,
    clientId: nodeClientId(n.nodeId),
    protocolVersion: 4,
    reconnectPeriod: 0,
    connectTimeout: 30_000,
  });
  const states = new Map<string, 'on' | 'off'>();
  const send = (body: Record<string, unknown>) =>
    client.publishAsync(topics.responses(n.nodeId), JSON.stringify({ ts: Date.now(), ...body }), { qos: 1 });
  client.on('message', (topic, payload) => {
    if (topic !== topics.commands(n.nodeId)) return;
    const env = JSON.parse(payload.toString()) as CommandEnvelope;
    if (env.type !== 'RELAY_SET') return;
    const args = env.args as { equipment: string; channel?: string; state: 'on' | 'off' | 'toggle' };
    const key = args.channel ?? '';
    (async () => {
      await send({ id: env.id, state: 'delivered' });
      await send({ id: env.id, state: 'running' });
      const wanted = args.state === 'toggle' ? (states.get(key) === 'on' ? 'off' : 'on') : args.state;
      states.set(key, wanted);
      await send({
        id: env.id,
        state: 'succeeded',
        data: {
          equipment: args.equipment,
          ...(args.channel ? { channel: args.channel } : {}),
          state: wanted,
        },
      });
    })().catch(() => {});
  });
  await client.subscribeAsync([topics.commands(n.nodeId)], { qos: 1 });
  await client.publishAsync(
    topics.status(n.nodeId),
    JSON.stringify({ state: 'online', clock: Date.now(), agentVersion: '1.2.3' }),
    { qos: 1 },
  );
  // No edgeAutomation in the capabilities: the hub executes these channels' schedules.
  const channels = Array.from({ length: CHANNELS_PER_SITE }, (_, c) => ({
    equipment: 'board',
    channel: `ch${c}`,
    kind: 'relay',
    capabilities: { switch: true, readBack: true },
    state: 'off',
  }));
  await client.publishAsync(
    topics.events(n.nodeId),
    JSON.stringify({
      batchId: `inv-${n.nodeId}`,
      events: [
        {
          ts: Date.now(),
          kind: 'channels.inventory',
          severity: 'info',
          message: `${channels.length} switchable channel(s)`,
          data: { channels },
        },
      ],
    }),
    { qos: 1 },
  );
  n.client = client;
}

const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;

/** Signed, gzipped batches from the nodes, 16 in flight; samples per second. */
async function ingest(hub: HubProcess, nodes: SimNode[], t0: number, tag: string): Promise<number> {
  const url = '/api/v1/ingest/telemetry';
  const prepared: { body: Buffer; headers: Record<string, string> }[] = [];
  for (const n of nodes) {
    for (let b = 0; b < INGEST_BATCHES_PER_NODE; b++) {
      const samples = Array.from({ length: PER_BATCH }, (_, i) => {
        const metric = BENCH_METRICS[i % BENCH_METRICS.length]!;
        const step = b * (PER_BATCH / BENCH_METRICS.length) + Math.floor(i / BENCH_METRICS.length);
        // battery_soc between 30 and 90, grid_w around ±3 kW: the rules watch, rarely fire.
        const value =
          metric === 'battery_soc' ? 30 + Math.random() * 60 : Math.round(Math.random() * 6000 - 3000);
        return { metric, ts: t0 + step * 1000, value };
      });
      const body = gzipSync(JSON.stringify({ batchId: `${tag}-${n.nodeId}-${b}`, samples }));
      prepared.push({ body, headers: signRequest(n.key, n.nodeId, 'POST', url, body) });
    }
  }
  const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
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
  const started = performance.now();
  await pool(prepared, 16, async ({ body, headers }) => {
    const res = await post(body, headers);
    if (res.status !== 200) throw new Error(`ingest ${res.status} ${res.text}`);
  });
  const seconds = (performance.now() - started) / 1000;
  agent.destroy();
  return (prepared.length * PER_BATCH) / seconds;
}

export async function main(args: string[]): Promise<void> {
  const siteCount = Number(args[0] ?? 1000);
  const mqttPort = await freePort();
  const db = await createPgDatabase();
  const hub = new HubProcess(
    {
      DATABASE_URL: db.url,
      PORT: '0',
      HOST: '127.0.0.1',
      MQTT_PORT: String(mqttPort),
      WATTFLEET_ADMIN_TOKEN: BENCH_TOKEN,
      LOG_LEVEL: 'warn',
      WATTFLEET_DEMO: '0',
      INGEST_NODE_RATE_PER_MINUTE: '1000000',
      TRUST_PROXY: '1',
    },
    process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [],
  );
  // A loaded machine (shared by several benches) can take more than the default minute to start it.
  hub.startTimeoutMs = 180_000;
  const nodes: SimNode[] = [];
  const pgc = new pg.Client({ connectionString: db.url });
  pgc.on('error', () => {});
  try {
    await hub.start();
    await pgc.connect();
    const call = api(hub);
    const tSeed = performance.now();
    const orgs: string[] = [];
    for (let o = 0; o < Math.ceil(siteCount / SITES_PER_ORG); o++)
      orgs.push((await call('POST', '/orgs', { name: `Automation bench ${o}`, kind: 'operator' })).id);
    const idx = Array.from({ length: siteCount }, (_, i) => i);
    await pool(idx, API_CONCURRENCY, async (i) => {
      const timezone = ZONES[i % ZONES.length]!;
      const site = await call('POST', '/sites', {
        orgId: orgs[Math.floor(i / SITES_PER_ORG)],
        name: `Automation site ${i}`,
        timezone,
        latitude: 48,
        longitude: 11,
      });
      const code = (await call('POST', `/sites/${site.id}/enrollment-codes`, {})).code;
      const pair = generateNodeKeyPair();
      // One address per node (a /8 of private addresses): enrollment is limited per address.
      const ip = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
      const enrolled = await call(
        'POST',
        '/nodes/enroll',
        { code, publicKey: pair.publicKey, name: `sim ${i}` },
        { 'x-forwarded-for': ip },
      );
      nodes[i] = {
        siteId: site.id,
        timezone,
        nodeId: enrolled.nodeId,
        password: enrolled.mqtt.password,
        key: privateKeyFromPem(pair.privateKeyPem),
        channels: [],
      };
    });
    console.log(`${siteCount} sites and nodes in ${((performance.now() - tSeed) / 1000).toFixed(1)} s`);
    const mqttUrl = `mqtt://127.0.0.1:${mqttPort}`;
    await pool(nodes, 32, (n) => connectSim(mqttUrl, n));
    await pool(nodes, API_CONCURRENCY, async (n) => {
      const list = await until(
        async () => {
          const r = await call('GET', `/sites/${n.siteId}/channels`);
          return r.items.length === CHANNELS_PER_SITE ? r.items : undefined;
        },
        60_000,
        `channels of site ${n.siteId}`,
      );
      const byName = new Map((list as { channel: string; id: string }[]).map((c) => [c.channel, c.id]));
      n.channels = Array.from({ length: CHANNELS_PER_SITE }, (_, c) => byName.get(`ch${c}`)!);
    });
    console.log(`${siteCount} nodes connected, channels registered`);

    // Schedules: the first site's ten measure the creation rate, which sets the due minute.
    const work = nodes.flatMap((n) => n.channels.map((channelId, c) => ({ n, channelId, c })));
    const tCreate = performance.now();
    const probe = work.slice(0, Math.min(200, work.length));
    let due = 0;
    const create = async (w: (typeof work)[number]) => {
      const s = await call('POST', `/sites/${w.n.siteId}/schedules`, {
        channelId: w.channelId,
        name: `Bench ${w.c}`,
        priority: 1,
        rule: {
          days: { kind: 'weekly', weekdays: [1, 2, 3, 4, 5, 6, 7] },
          start: { at: localHhMm(due, w.n.timezone) },
          action: 'on',
        },
      });
      if (s.executorNodeId !== null) throw new Error(`schedule ${s.id} is executed by a node`);
    };
    // The probe's schedules are due far ahead first, then moved with the others below.
    due = Date.now() + 6 * 3_600_000;
    due -= due % 60_000;
    await pool(probe, API_CONCURRENCY, create);
    const perSchedule = (performance.now() - tCreate) / probe.length;
    await pgc.query('DELETE FROM schedules');
    const expectedEnd = Date.now() + perSchedule * work.length * 1.5;
    due = Math.ceil((expectedEnd + LEAD_S * 1000) / 60_000) * 60_000;
    console.log(
      `creating ${work.length} schedules (${perSchedule.toFixed(1)} ms each in the probe), due ${new Date(due).toISOString()}`,
    );
    await pool(work, API_CONCURRENCY, create);
    const created = Date.now();
    console.log(`schedules created in ${((performance.now() - tCreate) / 1000).toFixed(1)} s`);
    if (created > due - 2000)
      throw new Error('the seed ran past the due minute; rerun (the machine is slow)');

    // The runs: wait for every run of the due minute to be recorded and its command to finish.
    const cpu0 = cpuSeconds(hub.pid!);
    await sleep(due - Date.now());
    const wall0 = performance.now();
    // BENCH_WAIT_S caps the wait (default 15 min): runs not finished by then count as that late.
    const waitMs = Number(process.env.BENCH_WAIT_S ?? 900) * 1000;
    for (;;) {
      const { rows } = await pgc.query<{ n: number; open: number }>(
        `SELECT count(*)::int AS n,
                count(*) FILTER (WHERE r.outcome = 'running' OR c.state NOT IN ('succeeded','failed','expired','cancelled'))::int AS open
           FROM schedule_runs r LEFT JOIN commands c ON c.id = r.command_id
          WHERE r.due_at = $1`,
        [new Date(due)],
      );
      if (rows[0]!.n === work.length && rows[0]!.open === 0) break;
      if (Date.now() - due > waitMs) {
        console.log(
          `only ${rows[0]!.n - rows[0]!.open} of ${work.length} runs finished ${waitMs / 1000} s after due`,
        );
        break;
      }
      await sleep(200);
    }
    const runCores = (cpuSeconds(hub.pid!) - cpu0) / ((performance.now() - wall0) / 1000);
    const { rows: runs } = await pgc.query<{ outcome: string; issued: Date | null; executed: Date | null }>(
      `SELECT r.outcome, c.created_at AS issued,
              (SELECT min(t.at) FROM command_transitions t
                WHERE t.command_id = c.id AND t.to_state = 'succeeded') AS executed
         FROM schedule_runs r LEFT JOIN commands c ON c.id = r.command_id
        WHERE r.due_at = $1`,
      [new Date(due)],
    );
    // Not done or not confirmed (yet): as late as the wait cap, so the percentiles do not flatter.
    const notDone = runs.filter((r) => r.outcome !== 'done' || !r.executed);
    if (notDone.length > 0)
      console.log(
        `${notDone.length} runs not done and confirmed, e.g. ${JSON.stringify(notDone.slice(0, 3))}`,
      );
    const missing = work.length - runs.length;
    const capped = (t: Date | null) => (t ? t.getTime() - due : waitMs);
    const issuedLate = [...runs.map((r) => capped(r.issued)), ...Array(missing).fill(waitMs)].sort(
      (a, b) => a - b,
    );
    const execLate = [
      ...runs.map((r) => capped(r.outcome === 'done' ? r.executed : null)),
      ...Array(missing).fill(waitMs),
    ].sort((a, b) => a - b);
    const scheduleRate = (work.length - notDone.length - missing) / (Math.max(1, issuedLate.at(-1)!) / 1000);
    console.log(
      `runs: ${work.length - notDone.length - missing} of ${work.length} done; issued late p50=${pct(issuedLate, 50)} p99=${pct(issuedLate, 99)} max=${issuedLate.at(-1)} ms; executed late p50=${pct(execLate, 50)} p99=${pct(execLate, 99)} max=${execLate.at(-1)} ms; ${Math.round(scheduleRate)} commands/s; hub on ${runCores.toFixed(2)} cores`,
    );

    // Baseline: plain command creation through the API, the same RELAY_SETs to the same nodes.
    const baseWork = Array.from({ length: Math.min(BASELINE_COMMANDS, work.length) }, (_, i) => work[i]!);
    const tBase = performance.now();
    await pool(baseWork, API_CONCURRENCY, async (w) => {
      await call('POST', `/nodes/${w.n.nodeId}/commands`, {
        type: 'RELAY_SET',
        args: { equipment: 'board', channel: `ch${w.c}`, state: 'off' },
      });
    });
    const baseRate = baseWork.length / ((performance.now() - tBase) / 1000);
    console.log(
      `baseline: ${baseWork.length} commands through POST /nodes/:id/commands at ${Math.round(baseRate)}/s`,
    );

    // Ingest without and with rules: every site's node sends, the rules watch every site.
    const t0 = Date.now() - 3_600_000;
    await ingest(hub, nodes, t0 - 3_600_000, 'warm'); // series, caches, JIT paths
    const without = await ingest(hub, nodes, t0, 'plain');
    await pool(nodes, API_CONCURRENCY, async (n) => {
      await call('POST', `/sites/${n.siteId}/rules`, {
        name: 'Low battery: shed ch9',
        trigger: {
          type: 'metric',
          metric: 'battery_soc',
          op: 'below',
          threshold: 20,
          forS: 300,
          hysteresis: 5,
        },
        actions: [{ type: 'set_channel', channelId: n.channels[9], state: 'off' }],
      });
      await call('POST', `/sites/${n.siteId}/rules`, {
        name: 'Export surplus: ch8 on',
        trigger: {
          type: 'metric',
          metric: 'grid_w',
          op: 'below',
          threshold: -2500,
          forS: 120,
          hysteresis: 200,
        },
        actions: [{ type: 'set_channel', channelId: n.channels[8], state: 'on' }],
      });
    });
    const withRules = await ingest(hub, nodes, t0 + 600_000, 'rules');
    const ingestRatio = withRules / without;
    console.log(
      `ingest: ${Math.round(without)} samples/s without rules, ${Math.round(withRules)} with ${nodes.length * 2} rules`,
    );
    console.log(
      `automation: p99_late_ms=${pct(execLate, 99)} ratio=${(scheduleRate / baseRate).toFixed(3)} ingest_ratio_with_rules=${ingestRatio.toFixed(3)} runs=${runs.length} p99_issued_ms=${pct(issuedLate, 99)} p50_late_ms=${pct(execLate, 50)} schedule_cmds_s=${Math.round(scheduleRate)} api_cmds_s=${Math.round(baseRate)} ingest_s=${Math.round(without)} ingest_rules_s=${Math.round(withRules)}`,
    );
  } catch (err) {
    console.error('automation benchmark failed:', err);
    console.error(`hub output (tail):\n${hub.output.slice(-8000)}`);
    throw err;
  } finally {
    await Promise.all(nodes.map((n) => n?.client?.endAsync(true).catch(() => {})));
    await pgc.end().catch(() => {});
    if (process.env.BENCH_CPU_PROF) await hub.stop();
    await hub.kill();
    await db.drop();
  }
}
