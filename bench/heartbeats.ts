// B: heartbeats at fleet scale. 100 k simulated nodes (rows inserted straight into the database,
// already online) each publish one NodeStatus every 10 s, i.e. 10 k heartbeats/s offered through a
// real Mosquitto (own config, free port) to the hub running as a CHILD process in external-broker
// mode, so its CPU is read from /proc/<pid>/stat (utime + stime) over the measured window.
//
// Load generator: 100 k MQTT users with 100 k connections would measure the load generator, not the
// hub. The bench's ACL instead has one privileged user, `bench-loadgen`, allowed to WRITE
// nodes/+/status (nothing else, no reads), publishing over 4 connections, paced at 10 k/s. Since the
// hub would rewrite the ACL without that user, the bench writes the password/ACL files itself and
// does not hand them to the hub (no MOSQUITTO_* env): node authentication is not what is measured.
//
// What the hub processed is read from the database, not trusted from the sender: every heartbeat
// carries uptimeS = 10 × (its sequence number + 1) for its node, the hub stores the newest status in
// nodes.last_status, so Σ uptimeS/10 over all nodes = heartbeats applied so far. hb_per_s is that
// sum's growth over the window; at the end every node must show its last heartbeat (none lost).
//
// Baseline in the same run, same offered load, same broker, same window: the naive handler
// (bench/_naive-heartbeats.ts, its own process): one UPDATE per heartbeat. ratio = ours/baseline
// heartbeats applied per second; the CPU of both is printed on the line before.
// `npm run bench -- heartbeats [window seconds = 30] [nodes = 100000]`.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { topics } from '@wattfleet/protocol';
import mqtt, { type MqttClient } from 'mqtt';
import pg from 'pg';
import { openDatabase } from '../packages/hub/src/storage/database.ts';
import { migrate } from '../packages/hub/src/storage/migrate.ts';
import { createPgDatabase } from '../packages/hub/test/helpers/engines.ts';
import { HubProcess } from '../packages/hub/test/helpers/hub-process.ts';
import { type BenchMosquitto, cpuSeconds, sleep, startBenchMosquitto, until } from './_mqtt.ts';

const HUB = { username: 'wattfleet-hub', password: 'bench-hub-secret' };
const LOADGEN = { username: 'bench-loadgen', password: 'bench-loadgen-secret' };
const PERIOD_S = 10;
const CONNECTIONS = 4;
const WARMUP_S = 5;
const NAIVE = fileURLToPath(new URL('./_naive-heartbeats.ts', import.meta.url));

const ACL = [
  'user wattfleet-hub',
  'topic readwrite nodes/#',
  'topic readwrite hub/#',
  '',
  '# The load generator stands in for 100 k nodes: it may only publish their heartbeats.',
  'user bench-loadgen',
  'topic write nodes/+/status',
  '',
].join('\n');

interface PhaseResult {
  hbPerS: number;
  cores: number;
  offeredPerS: number;
  drained: boolean;
  /** Sequence numbers not applied when the drain gave up (a lower bound of heartbeats lost). */
  missing: number;
  /** Seconds from the window's end until everything sent was applied (≈ flush interval when keeping up). */
  drainS: number;
  lastSeq: number;
}

/** A consumer process whose CPU we read. */
interface Consumer {
  pid: number;
}

async function heartbeatsApplied(pgc: pg.Client): Promise<number> {
  const { rows } = await pgc.query(
    `SELECT coalesce(sum((last_status->>'uptimeS')::bigint / ${PERIOD_S}), 0)::bigint AS n FROM nodes`,
  );
  return Number(rows[0].n);
}

function heartbeat(seq: number): string {
  return JSON.stringify({
    state: 'online',
    clock: Date.now(),
    agentVersion: '1.4.2',
    gitCommit: '3f9c2ab',
    osVersion: 'Debian GNU/Linux 12 (bookworm)',
    uptimeS: (seq + 1) * PERIOD_S,
    diskFreeBytes: 11_811_160_064,
    memFreeBytes: 1_288_490_188,
    memTotalBytes: 4_294_967_296,
    cpuTempC: 48.3,
    outboxDepth: 0,
  });
}

/**
 * Offers `rate` heartbeats/s for WARMUP_S + windowS: heartbeat j is node j mod N's number
 * seqBase + ⌊j / N⌋. CPU and applied heartbeats are sampled at the start and end of the window.
 */
async function runPhase(
  clients: MqttClient[],
  ids: string[],
  pgc: pg.Client,
  consumer: Consumer,
  seqBase: number,
  windowS: number,
): Promise<PhaseResult> {
  const n = ids.length;
  const rate = n / PERIOD_S;
  const topicsById = ids.map((id) => topics.status(id));
  let sent = 0;
  let failed = 0;
  const started = performance.now();
  const total = Math.round(rate * (WARMUP_S + windowS));
  const timer = setInterval(() => {
    const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * rate));
    for (; sent < due; sent++) {
      const node = sent % n;
      clients[sent % clients.length]!.publish(
        topicsById[node]!,
        heartbeat(seqBase + Math.floor(sent / n)),
        { qos: 1 },
        (err) => {
          if (err) failed++;
        },
      );
    }
  }, 5);
  try {
    await sleep(WARMUP_S * 1000);
    const cpuA = cpuSeconds(consumer.pid);
    const tA = performance.now();
    const appliedA = await heartbeatsApplied(pgc);
    const sentA = sent;
    await sleep(windowS * 1000);
    const cpuB = cpuSeconds(consumer.pid);
    const tB = performance.now();
    const appliedB = await heartbeatsApplied(pgc);
    const sentB = sent;
    await until(() => sent >= total, 60_000, 'load generator');
    const loadEnd = performance.now();
    const seconds = (tB - tA) / 1000;
    if (failed) throw new Error(`${failed} heartbeats refused by the broker`);
    // Σ over nodes of (last sequence number + 1) once everything sent is applied.
    let expected = 0;
    for (let node = 0; node < n; node++) {
      const count = Math.floor((total - 1 - node) / n) + 1;
      expected += seqBase + count;
    }
    // A consumer slower than the offer has a backlog in the broker: wait while it makes progress
    // (up to 3 min) so that "lagging" and "lost" are told apart.
    let applied = await heartbeatsApplied(pgc);
    let lastProgress = Date.now();
    const deadline = Date.now() + 180_000;
    while (applied < expected && Date.now() < deadline && Date.now() - lastProgress < 10_000) {
      await sleep(500);
      const now = await heartbeatsApplied(pgc);
      if (now > applied) lastProgress = Date.now();
      applied = now;
    }
    const drained = applied === expected;
    const drainS = (performance.now() - loadEnd) / 1000;
    const missing = expected - applied;
    return {
      hbPerS: (appliedB - appliedA) / seconds,
      cores: (cpuB - cpuA) / seconds,
      offeredPerS: (sentB - sentA) / seconds,
      drained,
      missing,
      drainS,
      lastSeq: seqBase + Math.ceil(total / n) - 1,
    };
  } finally {
    clearInterval(timer);
  }
}

export async function main(args: string[]): Promise<void> {
  const windowS = Number(args[0] ?? 30);
  const n = Number(args[1] ?? 100_000);
  const db = await createPgDatabase();
  let broker: BenchMosquitto | undefined;
  let hub: HubProcess | undefined;
  let naive: ReturnType<typeof spawn> | undefined;
  const clients: MqttClient[] = [];
  const f = (x: number) => Math.round(x);
  const pgc = new pg.Client({ connectionString: db.url });
  pgc.on('error', () => {});
  try {
    const database = await openDatabase({ databaseUrl: db.url, poolSize: 2 });
    await migrate(database);
    await database.close();
    await pgc.connect();
    const org = await pgc.query(`INSERT INTO orgs (name, kind) VALUES ('Bench', 'operator') RETURNING id`);
    const site = await pgc.query(
      `INSERT INTO sites (org_id, name, timezone) VALUES ($1, 'Bench site', 'UTC') RETURNING id`,
      [org.rows[0].id],
    );
    // Already online and just seen: the window measures steady state, not 100 k online transitions.
    const { rows } = await pgc.query<{ id: string }>(
      `INSERT INTO nodes (site_id, name, status, status_reason, status_changed_at, last_seen_at)
       SELECT $1, 'sim-' || g, 'online', 'heartbeat', now(), now() FROM generate_series(1, $2::int) g
       RETURNING id`,
      [site.rows[0].id, n],
    );
    const ids = rows.map((r) => r.id);
    await pgc.query('VACUUM ANALYZE nodes');

    broker = await startBenchMosquitto([HUB, LOADGEN], ACL);
    for (let i = 0; i < CONNECTIONS; i++) {
      clients.push(
        await mqtt.connectAsync(broker.url, {
          ...LOADGEN,
          clientId: `bench-loadgen-${i}`,
          protocolVersion: 4,
          reconnectPeriod: 0,
        }),
      );
    }

    hub = new HubProcess(
      {
        DATABASE_URL: db.url,
        PORT: '0',
        HOST: '127.0.0.1',
        MQTT_URL: broker.url,
        MQTT_USERNAME: HUB.username,
        MQTT_PASSWORD: HUB.password,
        LOG_LEVEL: 'warn',
        WATTFLEET_DEMO: '0',
      },
      process.env.BENCH_PROFILE ? ['--cpu-prof', '--cpu-prof-dir=/tmp/wattfleet-prof'] : [],
    );
    await hub.start();
    const phaseStart = new Date();
    const ours = await runPhase(clients, ids, pgc, { pid: hub.pid! }, 0, windowS);
    if (!ours.drained) {
      console.error(`hub output (tail):\n${hub.output.slice(-4000)}`);
      const drops = broker
        .log()
        .split('\n')
        .filter((l) => /drop/i.test(l));
      console.error(`broker lines about drops: ${drops.length}\n${drops.slice(-5).join('\n')}`);
    }
    const seen = (
      await pgc.query('SELECT count(*)::int AS n FROM nodes WHERE last_seen_at >= $1', [phaseStart])
    ).rows[0].n as number;
    await hub.stop();
    // Every node must have been heard; a backlog left after the drain is reported, not hidden.
    if (seen !== n)
      throw new Error(`hub missed nodes: ${seen}/${n} seen (${f(ours.hbPerS)} hb/s in the window)`);

    naive = spawn(process.execPath, ['--import', 'tsx', NAIVE], {
      env: {
        ...process.env,
        MQTT_URL: broker.url,
        MQTT_USERNAME: HUB.username,
        MQTT_PASSWORD: HUB.password,
        DATABASE_URL: db.url,
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const naiveExit = once(naive, 'exit');
    let naiveOut = '';
    naive.stdout!.on('data', (d) => {
      naiveOut += d;
    });
    await until(() => naiveOut.includes('ready') || naive!.exitCode !== null, 30_000, 'naive handler');
    if (naive.exitCode !== null) throw new Error('naive handler exited');
    const base = await runPhase(clients, ids, pgc, { pid: naive.pid! }, ours.lastSeq + 1, windowS);
    naive.kill('SIGTERM');
    await naiveExit;

    console.log(
      `${n} nodes × 1 heartbeat / ${PERIOD_S} s = ${f(ours.offeredPerS)} hb/s offered over ${windowS} s ` +
        `(after ${WARMUP_S} s warm-up), ${CONNECTIONS} load-generator connections, QoS 1`,
    );
    console.log(
      `hub (child process): ${f(ours.hbPerS)} hb/s applied on ${ours.cores.toFixed(3)} cores ` +
        `(${f(ours.hbPerS / ours.cores)} hb per CPU-second), every node seen, ` +
        (ours.drained
          ? `all applied ${ours.drainS.toFixed(1)} s after the load stopped`
          : `${ours.missing} heartbeats still not applied ${ours.drainS.toFixed(0)} s after the load stopped`) +
        `; goal 10000 hb/s on ≤ 0.35 core: ` +
        `${ours.hbPerS >= 0.98 * 10_000 && ours.cores <= 0.35 ? 'met' : 'NOT met'}`,
    );
    console.log(
      `baseline (one UPDATE per heartbeat): ${f(base.hbPerS)} hb/s applied on ${base.cores.toFixed(3)} cores ` +
        `(${f(base.hbPerS / base.cores)} hb per CPU-second, PostgreSQL's CPU not included)` +
        `${base.drained ? '' : `, ${base.missing} heartbeats never applied`}`,
    );
    console.log(
      `heartbeats: hb_per_s=${f(ours.hbPerS)} hub_cpu_cores=${ours.cores.toFixed(3)} ratio=${(ours.hbPerS / base.hbPerS).toFixed(3)}`,
    );
  } catch (err) {
    console.error('heartbeats benchmark failed:', err);
    if (broker) console.error(broker.log().split('\n').slice(-20).join('\n'));
    throw err;
  } finally {
    for (const c of clients) await c.endAsync().catch(() => {});
    await pgc.end().catch(() => {});
    if (naive && naive.exitCode === null && !naive.signalCode) {
      const exited = once(naive, 'exit');
      naive.kill('SIGKILL');
      await exited;
    }
    await hub?.kill();
    await broker?.stop();
    await db.drop();
  }
}
