// B6: device-to-browser latency of live values. 1,000 simulated sites (one node each) publish a
// live snapshot every 2 s over MQTT (QoS 0, as the agent does) through a real Mosquitto (own
// config, free port) to the hub running as a child process in external-broker mode; 200 WebSocket
// clients (what 200 browsers would open), one per owner user, each authenticate with their own
// login token and subscribe to their org's 5 sites on /api/v1/realtime. Latency is publish → the
// client's receipt of that snapshot's `node.live` event.
//
// Baseline, same run, same messages, same process clock: a bare MQTT subscriber on nodes/+/live
// (what the broker alone costs). ratio = our p99 / the baseline's p99.
//
// The load generator is one privileged MQTT user allowed to WRITE nodes/+/live only (1,000 MQTT
// connections would measure the load generator), so the bench writes the password/ACL files
// itself and does not hand them to the hub. Orgs, sites and users are made through the real API;
// nodes are rows (enrollment is not what is measured). Every snapshot sent must reach its one
// client (none lost) and the baseline; a missing one is reported.
// `npm run bench -- live-latency [window seconds = 20] [rounds = 3] [sites = 1000] [clients = 200]`.
import { topics } from '@wattfleet/protocol';
import mqtt, { type MqttClient } from 'mqtt';
import pg from 'pg';
import WebSocket from 'ws';
import { openDatabase } from '../packages/hub/src/storage/database.ts';
import { migrate } from '../packages/hub/src/storage/migrate.ts';
import { createPgDatabase } from '../packages/hub/test/helpers/engines.ts';
import { HubProcess } from '../packages/hub/test/helpers/hub-process.ts';
import { adminPost, BENCH_TOKEN } from './_fleet.ts';
import { type BenchMosquitto, cpuSeconds, startBenchMosquitto, until } from './_mqtt.ts';

const HUB = { username: 'wattfleet-hub', password: 'bench-hub-secret' };
const LOADGEN = { username: 'bench-loadgen', password: 'bench-loadgen-secret' };
const BASELINE = { username: 'bench-baseline', password: 'bench-baseline-secret' };
const PERIOD_MS = 2000;
const WARMUP_S = 4;
const PASSWORD = 'bench-owner-password-0123';

const ACL = [
  'user wattfleet-hub',
  'topic readwrite nodes/#',
  'topic readwrite hub/#',
  '',
  '# The load generator stands in for 1,000 nodes: it may only publish their live snapshots.',
  'user bench-loadgen',
  'topic write nodes/+/live',
  '',
  '# The baseline: a bare subscriber to the same messages.',
  'user bench-baseline',
  'topic read nodes/+/live',
  '',
].join('\n');

interface Fleet {
  /** Node ids, index = site index. */
  nodes: string[];
  /** Per client: its login token and its sites' ids. */
  clients: { token: string; siteIds: string[] }[];
}

async function seed(hub: HubProcess, pgc: pg.Client, sites: number, clients: number): Promise<Fleet> {
  const perClient = Math.ceil(sites / clients);
  const fleet: Fleet = { nodes: [], clients: [] };
  const siteIds: string[] = [];
  const users: { email: string; siteIds: string[] }[] = [];
  for (let c = 0; c < clients; c++) {
    const org = await adminPost(hub, '/orgs', { name: `Household ${c}`, kind: 'household' });
    const mine: string[] = [];
    for (let s = 0; s < perClient && siteIds.length < sites; s++) {
      const site = await adminPost(hub, '/sites', {
        orgId: org.id,
        name: `Home ${c}-${s}`,
        timezone: 'Europe/Berlin',
      });
      mine.push(site.id!);
      siteIds.push(site.id!);
    }
    const email = `owner${c}@bench.wattfleet.local`;
    await adminPost(hub, '/users', {
      orgId: org.id,
      email,
      role: 'owner',
      password: PASSWORD,
      mustChangePassword: false,
    });
    users.push({ email, siteIds: mine });
  }
  const { rows } = await pgc.query<{ id: string; site_id: string }>(
    `INSERT INTO nodes (site_id, name, status, status_reason, status_changed_at, last_seen_at)
     SELECT s, 'sim-' || i, 'online', 'heartbeat', now(), now()
       FROM unnest($1::uuid[]) WITH ORDINALITY AS t(s, i)
     RETURNING id, site_id`,
    [siteIds],
  );
  const bySite = new Map(rows.map((r) => [r.site_id, r.id]));
  fleet.nodes = siteIds.map((s) => bySite.get(s)!);
  for (const [i, u] of users.entries()) {
    // 200 browsers come from 200 addresses: the login limit is per address (the hub trusts the
    // bench as its proxy, TRUST_PROXY=1), so each login names its own.
    const r = await fetch(`${hub.url}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-forwarded-for': `10.0.${i >> 8}.${i & 255}` },
      body: JSON.stringify({ email: u.email, password: PASSWORD, refreshIn: 'body' }),
    });
    if (!r.ok) throw new Error(`login ${u.email}: ${r.status} ${await r.text()}`);
    const { accessToken } = (await r.json()) as { accessToken: string };
    fleet.clients.push({ token: accessToken, siteIds: u.siteIds });
  }
  return fleet;
}

/** Opens a realtime socket, authenticates, subscribes; resolves once the hub confirmed the sites. */
async function openClient(
  hubUrl: string,
  client: { token: string; siteIds: string[] },
  onLive: (nodeId: string, ts: number) => void,
): Promise<WebSocket> {
  const ws = new WebSocket(`${hubUrl.replace(/^http/, 'ws')}/api/v1/realtime`);
  await new Promise<void>((resolve, reject) => {
    ws.once('error', reject);
    ws.once('open', () => resolve());
  });
  const subscribed = new Promise<void>((resolve, reject) => {
    ws.on('message', (raw) => {
      const msg = JSON.parse(raw.toString()) as {
        type: string;
        event?: string;
        data?: { nodeId: string; snapshot: { ts: number } };
        siteIds?: string[];
        code?: string;
      };
      if (msg.type === 'ready') ws.send(JSON.stringify({ type: 'subscribe', siteIds: client.siteIds }));
      else if (msg.type === 'subscribed' && msg.siteIds?.length === client.siteIds.length) resolve();
      else if (msg.type === 'error') reject(new Error(`realtime: ${msg.code}`));
      else if (msg.type === 'event' && msg.event === 'node.live' && msg.data)
        onLive(msg.data.nodeId, msg.data.snapshot.ts);
    });
  });
  ws.send(JSON.stringify({ type: 'auth', token: client.token }));
  await subscribed;
  return ws;
}

function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

interface Round {
  sent: number;
  ours: number[];
  base: number[];
  lostOurs: number;
  lostBase: number;
  hubCores: number;
}

/**
 * Publishes every node's snapshot once per PERIOD_MS, spread evenly, for WARMUP_S + windowS;
 * latencies of snapshots sent inside the window are kept. Snapshot ts values are unique per node
 * and round, so (node, ts) names one message; the send time is the bench's monotonic clock.
 */
async function runRound(
  loadgen: MqttClient,
  fleet: Fleet,
  hubPid: number,
  windowS: number,
  listen: (handler: { ours: (n: string, ts: number) => void; base: (n: string, ts: number) => void }) => void,
  tsBase: number,
): Promise<Round> {
  const n = fleet.nodes.length;
  const liveTopics = fleet.nodes.map((id) => topics.live(id));
  const sentAt = new Map<string, { t: number; measured: boolean; ours: boolean; base: boolean }>();
  const ours: number[] = [];
  const base: number[] = [];
  let measuring = false;
  listen({
    ours: (nodeId, ts) => {
      const m = sentAt.get(`${nodeId}:${ts}`);
      if (!m || m.ours) return;
      m.ours = true;
      if (m.measured) ours.push(performance.now() - m.t);
    },
    base: (nodeId, ts) => {
      const m = sentAt.get(`${nodeId}:${ts}`);
      if (!m || m.base) return;
      m.base = true;
      if (m.measured) base.push(performance.now() - m.t);
    },
  });
  const rate = n / (PERIOD_MS / 1000);
  const total = Math.round(rate * (WARMUP_S + windowS));
  const started = performance.now();
  let sent = 0;
  let cpuA = 0;
  let tA = 0;
  const timer = setInterval(() => {
    const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * rate));
    if (!measuring && performance.now() - started >= WARMUP_S * 1000) {
      measuring = true;
      cpuA = cpuSeconds(hubPid);
      tA = performance.now();
    }
    for (; sent < due; sent++) {
      const node = sent % n;
      const ts = tsBase + sent; // unique per message; a plausible epoch-ms value
      const nodeId = fleet.nodes[node]!;
      sentAt.set(`${nodeId}:${ts}`, { t: performance.now(), measured: measuring, ours: false, base: false });
      const w = 1000 + (sent % 4000);
      loadgen.publish(
        liveTopics[node]!,
        JSON.stringify({
          ts,
          values: { solar_w: w, load_w: 800, grid_w: 800 - w, battery_w: 0, battery_soc: 55 },
        }),
        { qos: 0 },
      );
    }
  }, 5);
  await until(() => sent >= total, (WARMUP_S + windowS) * 1000 + 30_000, 'load generator');
  clearInterval(timer);
  const hubCores = (cpuSeconds(hubPid) - cpuA) / ((performance.now() - tA) / 1000);
  // Give stragglers a moment, then count what never arrived.
  const measured = [...sentAt.values()].filter((m) => m.measured);
  await until(() => measured.every((m) => m.ours && m.base), 5_000, 'last snapshots').catch(() => {});
  return {
    sent: measured.length,
    ours: ours.sort((a, b) => a - b),
    base: base.sort((a, b) => a - b),
    lostOurs: measured.filter((m) => !m.ours).length,
    lostBase: measured.filter((m) => !m.base).length,
    hubCores,
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function main(args: string[]): Promise<void> {
  const windowS = Number(args[0] ?? 20);
  const rounds = Number(args[1] ?? 3);
  const sites = Number(args[2] ?? 1000);
  const clientCount = Number(args[3] ?? 200);
  const db = await createPgDatabase();
  let broker: BenchMosquitto | undefined;
  let hub: HubProcess | undefined;
  const mqttClients: MqttClient[] = [];
  const sockets: WebSocket[] = [];
  const pgc = new pg.Client({ connectionString: db.url });
  pgc.on('error', () => {});
  try {
    const database = await openDatabase({ databaseUrl: db.url, poolSize: 2 });
    await migrate(database);
    await database.close();
    await pgc.connect();
    broker = await startBenchMosquitto([HUB, LOADGEN, BASELINE], ACL);
    hub = new HubProcess(
      {
        DATABASE_URL: db.url,
        PORT: '0',
        HOST: '127.0.0.1',
        MQTT_URL: broker.url,
        MQTT_USERNAME: HUB.username,
        MQTT_PASSWORD: HUB.password,
        WATTFLEET_ADMIN_TOKEN: BENCH_TOKEN,
        LOG_LEVEL: 'warn',
        WATTFLEET_DEMO: '0',
        TRUST_PROXY: '1',
      },
      process.env.BENCH_PROFILE ? ['--cpu-prof', '--cpu-prof-dir=/tmp/wattfleet-prof'] : [],
    );
    await hub.start();
    const fleet = await seed(hub, pgc, sites, clientCount);

    let handler: { ours: (n: string, ts: number) => void; base: (n: string, ts: number) => void } = {
      ours: () => {},
      base: () => {},
    };
    for (const c of fleet.clients) {
      sockets.push(await openClient(hub.url, c, (nodeId, ts) => handler.ours(nodeId, ts)));
    }
    const baseline = await mqtt.connectAsync(broker.url, {
      ...BASELINE,
      clientId: 'bench-baseline',
      protocolVersion: 4,
      reconnectPeriod: 0,
    });
    mqttClients.push(baseline);
    baseline.on('message', (topic, payload) => {
      const nodeId = topic.split('/')[1]!;
      handler.base(nodeId, (JSON.parse(payload.toString()) as { ts: number }).ts);
    });
    await baseline.subscribeAsync('nodes/+/live', { qos: 0 });
    const loadgen = await mqtt.connectAsync(broker.url, {
      ...LOADGEN,
      clientId: 'bench-loadgen',
      protocolVersion: 4,
      reconnectPeriod: 0,
    });
    mqttClients.push(loadgen);

    const results: { p50: number; p99: number; baseP99: number; ratio: number; lost: number }[] = [];
    const tsBase = Date.now();
    for (let r = 0; r < rounds; r++) {
      const round = await runRound(
        loadgen,
        fleet,
        hub.pid!,
        windowS,
        (h) => {
          handler = h;
        },
        tsBase + r * 10_000_000,
      );
      const p50 = percentile(round.ours, 50);
      const p99 = percentile(round.ours, 99);
      const baseP50 = percentile(round.base, 50);
      const baseP99 = percentile(round.base, 99);
      const ratio = p99 / baseP99;
      results.push({ p50, p99, baseP99, ratio, lost: round.lostOurs });
      console.log(
        `round ${r + 1}: ${round.sent} snapshots in ${windowS} s (${Math.round(round.sent / windowS)}/s) → ` +
          `${clientCount} WebSocket clients: p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms, ` +
          `max ${round.ours.at(-1)?.toFixed(1)} ms, lost ${round.lostOurs}; bare MQTT subscriber: ` +
          `p50 ${baseP50.toFixed(1)} ms, p99 ${baseP99.toFixed(1)} ms, lost ${round.lostBase}; ` +
          `hub ${round.hubCores.toFixed(3)} cores; ratio ${ratio.toFixed(2)}`,
      );
    }
    const p99 = median(results.map((r) => r.p99));
    const ratio = median(results.map((r) => r.ratio));
    const lost = results.reduce((a, r) => a + r.lost, 0);
    console.log(
      `median of ${rounds} rounds; goals p99 ≤ 100 ms and ratio ≤ 2: ` +
        `${p99 <= 100 ? 'p99 met' : 'p99 NOT met'}, ${ratio <= 2 ? 'ratio met' : 'ratio NOT met'}`,
    );
    console.log(
      `live-latency: p99_ms=${p99.toFixed(1)} ratio=${ratio.toFixed(2)} ` +
        `p50_ms=${median(results.map((r) => r.p50)).toFixed(1)} ` +
        `baseline_p99_ms=${median(results.map((r) => r.baseP99)).toFixed(1)} lost=${lost} ` +
        `sites=${sites} clients=${clientCount} rounds=${rounds}`,
    );
  } catch (err) {
    console.error('live-latency benchmark failed:', err);
    if (hub) console.error(hub.output.slice(-3000));
    throw err;
  } finally {
    for (const s of sockets) s.terminate();
    for (const c of mqttClients) await c.endAsync().catch(() => {});
    await pgc.end().catch(() => {});
    await hub?.kill();
    await broker?.stop();
    await db.drop();
  }
}
