// B3 (issue 15.1): how fast the portal's dashboards answer over a year of data across 20 sites.
// Seed (bench/_dashboard-seed.ts, built once and kept): 20 sites × 365 days of 1-minute samples
// of the ten standard metrics, with their hourly/daily rollups and site days. Each run clones the
// seed (CREATE DATABASE … TEMPLATE), starts the real hub process on the clone and, logged in as
// the installer who sees all 20 sites, times the portal's real HTTP requests (browser
// accept-encoding, keep-alive) — site daily and monthly for a year, telemetry for a day, week,
// month and year at the automatic step, the fleet table and fleet totals, the CSV export of a
// month — each interleaved with the ideal SQL for the same answer on the same tables (one
// statement, superuser, no row-level security, epoch-ms timestamps) over one kept-alive
// connection. Per round: p50/p95/p99 of every request kind, ours and ideal; `ratio` is the
// worst ours/ideal p95 ratio of a round, `p95_ms` its worst p95, and the last line gives the
// medians over rounds. PGlite: the same in-process (the hub on an embedded PGlite, HTTP over
// loopback), with fewer sites (seeding PGlite through its single connection is slow).
// `npm run bench -- dashboard [rounds] [requests per kind per round]` (defaults 5, 40);
// DASHBOARD_SITES (20), DASHBOARD_PGLITE_SITES (4, 0 skips PGlite).
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { buildHub } from '../packages/hub/src/app.ts';
import { loadConfig } from '../packages/hub/src/config.ts';
import { type Database, openDatabase } from '../packages/hub/src/storage/database.ts';
import { migrate } from '../packages/hub/src/storage/migrate.ts';
import { addDays, localDate } from '../packages/hub/src/time/zoned.ts';
import { PG_ADMIN_URL } from '../packages/hub/test/helpers/engines.ts';
import { HubProcess } from '../packages/hub/test/helpers/hub-process.ts';
import {
  ensurePgSeed,
  SEED_VERSION,
  type SeedInfo,
  seed,
  USER_EMAIL,
  USER_PASSWORD,
} from './_dashboard-seed.ts';
import { BENCH_TOKEN } from './_fleet.ts';

const DAY_MS = 86_400_000;
const POWER = ['solar_w', 'load_w', 'grid_w', 'battery_w'];
/** What Chromium sends. */
const ACCEPT_ENCODING = 'gzip, deflate, br, zstd';

type Query = (text: string, params: unknown[]) => Promise<number>;

interface Kind {
  name: string;
  /** The portal's request for site i. */
  path: (i: number) => string;
  /** The ideal SQL for the same answer; returns rows read. */
  ideal: (q: Query, i: number) => Promise<number>;
}

function kinds(info: SeedInfo): Kind[] {
  const site = (i: number) => info.sites[i % info.sites.length]!;
  const lastDay = (i: number) => localDate(info.end - 1, site(i).timezone);
  const firstDay = (i: number) => addDays(lastDay(i), -364);
  const lastMonth = (i: number) => lastDay(i).slice(0, 7);
  const firstMonth = (i: number) => addDays(`${lastMonth(i)}-15`, -334).slice(0, 7);
  const telemetry = (days: number, metrics?: string[]) => ({
    path: (i: number) =>
      `/api/v1/sites/${site(i).id}/telemetry?from=${new Date(info.end - days * DAY_MS).toISOString()}` +
      `&to=${new Date(info.end).toISOString()}&step=auto${metrics ? `&metrics=${metrics.join(',')}` : ''}`,
    ideal: (q: Query, i: number) => {
      const table = days <= 1 ? 'raw' : days <= 62 ? 'rollup_hourly' : 'rollup_daily';
      const metricFilter = metrics ? `AND s.metric = ANY($4)` : '';
      const params: unknown[] = [site(i).id, new Date(info.end - days * DAY_MS), new Date(info.end)];
      if (metrics) params.push(metrics);
      if (table === 'raw') {
        return q(
          `SELECT s.node_id, s.equipment, s.metric, s.kind, (extract(epoch FROM x.ts) * 1000)::float8 AS t, x.value
           FROM series s JOIN samples x ON x.series_id = s.id
           WHERE s.site_id = $1 AND x.ts >= $2 AND x.ts < $3 ${metricFilter}
           ORDER BY s.metric, s.equipment, x.ts`,
          params,
        );
      }
      return q(
        `SELECT s.node_id, s.equipment, s.metric, s.kind, (extract(epoch FROM r.bucket) * 1000)::float8 AS t,
                r.sum / nullif(r.count, 0) AS avg, r.min, r.max, r.energy_wh
         FROM series s JOIN ${table} r ON r.series_id = s.id
         WHERE s.site_id = $1 AND r.bucket >= $2 AND r.bucket < $3 ${metricFilter}
         ORDER BY s.metric, s.equipment, r.bucket`,
        params,
      );
    },
  });
  return [
    {
      name: 'daily_year',
      path: (i) => `/api/v1/sites/${site(i).id}/daily?from=${firstDay(i)}&to=${lastDay(i)}`,
      ideal: (q, i) =>
        q(
          'SELECT *, day::text AS day FROM site_daily WHERE site_id = $1 AND day BETWEEN $2 AND $3 ORDER BY site_daily.day',
          [site(i).id, firstDay(i), lastDay(i)],
        ),
    },
    {
      name: 'monthly_year',
      path: (i) => `/api/v1/sites/${site(i).id}/monthly?from=${firstMonth(i)}&to=${lastMonth(i)}`,
      ideal: (q, i) =>
        q(
          `SELECT m.month, m.*, t.rate FROM (
             SELECT to_char(day, 'YYYY-MM') AS month, count(*) AS days, count(*) FILTER (WHERE coverage > 0) AS with_data,
               sum(solar_wh) AS solar, sum(load_wh) AS load, sum(import_wh) AS imp, sum(export_wh) AS exp,
               sum(charge_wh) AS chg, sum(discharge_wh) AS dis, sum(solar_to_load_wh) AS s2l,
               sum(battery_solar_to_load_wh) AS bs2l, sum(solar_export_wh) AS sexp, max(peak_demand_kw) AS peak,
               max(peak_load_kw) AS peak_load, sum(cost) AS cost, sum(baseline_cost) AS base, sum(savings) AS sav,
               min(currency) AS currency
             FROM site_daily WHERE site_id = $1 AND day BETWEEN $2 AND $3 GROUP BY 1) m
           LEFT JOIN LATERAL (
             SELECT (definition ->> 'demandChargePerKw')::float8 AS rate FROM tariff_versions
             WHERE site_id = $1 AND valid_from <= (to_date(m.month, 'YYYY-MM') + interval '1 month - 1 day')::date
             ORDER BY valid_from DESC LIMIT 1) t ON true
           ORDER BY m.month`,
          [site(i).id, `${firstMonth(i)}-01`, lastDay(i)],
        ),
    },
    { name: 'telemetry_day', ...telemetry(1, POWER) },
    { name: 'telemetry_week', ...telemetry(7, POWER) },
    { name: 'telemetry_month', ...telemetry(30, POWER) },
    { name: 'telemetry_year', ...telemetry(365, POWER) },
    { name: 'csv_month', ...telemetry(30) },
    {
      name: 'fleet_sites',
      path: () => '/api/v1/fleet/sites',
      ideal: (q) =>
        q(
          `SELECT s.id, s.name, s.timezone, s.status, s.org_id, s.installer_org_id, o.name AS installer_name,
             (SELECT json_agg(json_build_object('id', n.id, 'name', n.name, 'status', n.status, 'active', n.active,
                'last_seen_at', n.last_seen_at, 'agent_version', n.agent_version) ORDER BY n.name)
              FROM nodes n WHERE n.site_id = s.id) AS nodes,
             (SELECT json_agg(json_build_object('severity', a.severity, 'rule', a.rule))
              FROM alerts a WHERE a.site_id = s.id AND a.state <> 'resolved') AS alerts
           FROM sites s LEFT JOIN orgs o ON o.id = s.installer_org_id
           WHERE s.installer_org_id = $1 ORDER BY s.name`,
          [info.installerOrgId],
        ),
    },
    {
      name: 'fleet_totals',
      path: () =>
        `/api/v1/installers/${info.installerOrgId}/fleet?from=${new Date(info.end - 30 * DAY_MS).toISOString().slice(0, 10)}` +
        `&to=${new Date(info.end - DAY_MS).toISOString().slice(0, 10)}`,
      ideal: (q) =>
        q(
          `SELECT d.site_id, s.grid_intensity_g_per_kwh, count(*) AS days, sum(solar_wh), sum(load_wh), sum(import_wh),
             sum(export_wh), sum(charge_wh), sum(discharge_wh), sum(solar_to_load_wh), sum(battery_solar_to_load_wh),
             sum(solar_export_wh), max(peak_demand_kw), max(peak_load_kw), sum(cost), sum(baseline_cost), sum(savings),
             (SELECT count(*) FROM alerts a WHERE a.site_id = s.id AND a.state <> 'resolved') AS alerts,
             bool_or(EXISTS (SELECT 1 FROM nodes n WHERE n.site_id = s.id AND n.status = 'online')) AS online
           FROM sites s JOIN site_daily d ON d.site_id = s.id
           WHERE (s.installer_org_id = $1 OR s.org_id = $1) AND d.day BETWEEN $2 AND $3 GROUP BY d.site_id, s.id`,
          [
            info.installerOrgId,
            new Date(info.end - 30 * DAY_MS).toISOString().slice(0, 10),
            new Date(info.end - DAY_MS).toISOString().slice(0, 10),
          ],
        ),
    },
  ];
}

interface Timed {
  ms: number;
  bytes: number;
}

/** A keep-alive GET client, as one browser tab (one request at a time). */
function httpClient(base: string, token: () => string) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const { hostname, port } = new URL(base);
  const get = (path: string) =>
    new Promise<Timed>((resolve, reject) => {
      const t0 = performance.now();
      const req = http.request(
        {
          agent,
          hostname,
          port,
          path,
          method: 'GET',
          headers: { authorization: `Bearer ${token()}`, 'accept-encoding': ACCEPT_ENCODING },
        },
        (res) => {
          let bytes = 0;
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => {
            bytes += c.length;
            if (res.statusCode !== 200) chunks.push(c);
          });
          res.on('end', () => {
            const ms = performance.now() - t0;
            if (res.statusCode !== 200)
              reject(
                new Error(`GET ${path}: ${res.statusCode} ${Buffer.concat(chunks).toString().slice(0, 500)}`),
              );
            else resolve({ ms, bytes });
          });
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end();
    });
  return { get, close: () => agent.destroy() };
}

async function login(base: string): Promise<string> {
  const r = await fetch(`${base}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: USER_EMAIL, password: USER_PASSWORD }),
  });
  if (!r.ok) throw new Error(`login: ${r.status} ${await r.text()}`);
  return ((await r.json()) as { accessToken: string }).accessToken;
}

const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

interface KindRound {
  ours: { p50: number; p95: number; p99: number };
  ideal: { p50: number; p95: number; p99: number };
  bytes: number;
}
interface Round {
  kinds: Map<string, KindRound>;
  ratio: number;
  p95: number;
}

async function measure(
  label: string,
  base: string,
  query: Query,
  info: SeedInfo,
  rounds: number,
  perKind: number,
): Promise<Round[]> {
  const list = kinds(info);
  let token = await login(base);
  const client = httpClient(base, () => token);
  const out: Round[] = [];
  try {
    // Warm-up (not measured): JIT, caches and the pages both sides touch.
    for (const k of list) {
      for (let i = 0; i < Math.min(perKind, info.sites.length); i++) {
        await client.get(k.path(i));
        await k.ideal(query, i);
      }
    }
    for (let r = 1; r <= rounds; r++) {
      token = await login(base); // access tokens last 15 minutes
      const round = new Map<string, KindRound>();
      for (const k of list) {
        const ours: number[] = [];
        const ideal: number[] = [];
        let bytes = 0;
        for (let i = 0; i < perKind; i++) {
          const a = await client.get(k.path(i));
          ours.push(a.ms);
          bytes += a.bytes;
          const t0 = performance.now();
          await k.ideal(query, i);
          ideal.push(performance.now() - t0);
        }
        ours.sort((x, y) => x - y);
        ideal.sort((x, y) => x - y);
        const stats = (xs: number[]) => ({ p50: pct(xs, 50), p95: pct(xs, 95), p99: pct(xs, 99) });
        round.set(k.name, { ours: stats(ours), ideal: stats(ideal), bytes: Math.round(bytes / perKind) });
      }
      const ratio = Math.max(...[...round.values()].map((k) => k.ours.p95 / k.ideal.p95));
      const p95 = Math.max(...[...round.values()].map((k) => k.ours.p95));
      out.push({ kinds: round, ratio, p95 });
      console.log(`${label} round ${r}: ratio=${ratio.toFixed(2)} p95_ms=${p95.toFixed(1)}`);
      for (const [name, k] of round) {
        console.log(
          `  ${name.padEnd(16)} ours p50/p95/p99 ${k.ours.p50.toFixed(1)}/${k.ours.p95.toFixed(1)}/${k.ours.p99.toFixed(1)} ms` +
            `  ideal ${k.ideal.p50.toFixed(1)}/${k.ideal.p95.toFixed(1)}/${k.ideal.p99.toFixed(1)} ms` +
            `  p95 ratio ${(k.ours.p95 / k.ideal.p95).toFixed(2)}  ${k.bytes} B`,
        );
      }
    }
  } finally {
    client.close();
  }
  return out;
}

/** Medians over rounds: per kind its p95 (ours, ideal), and the worst of those. */
function summary(rounds: Round[]) {
  const names = [...rounds[0]!.kinds.keys()];
  const per = names.map((n) => ({
    name: n,
    ours: median(rounds.map((r) => r.kinds.get(n)!.ours.p95)),
    ideal: median(rounds.map((r) => r.kinds.get(n)!.ideal.p95)),
  }));
  const worstRatio = per.reduce((w, k) => (k.ours / k.ideal > w.ours / w.ideal ? k : w));
  const worstP95 = per.reduce((w, k) => (k.ours > w.ours ? k : w));
  return {
    ratio: median(rounds.map((r) => r.ratio)),
    p95: median(rounds.map((r) => r.p95)),
    worstRatio,
    worstP95,
    per,
  };
}

async function pgRun(sites: number, rounds: number, perKind: number) {
  const seedDb = await ensurePgSeed(PG_ADMIN_URL, sites, console.log);
  const runDb = `wf_bench_dashboard_run_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${runDb} TEMPLATE ${seedDb}`);
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${runDb}`;
  const hub = new HubProcess(
    {
      DATABASE_URL: url.toString(),
      PORT: '0',
      HOST: '127.0.0.1',
      MQTT_PORT: '0',
      WATTFLEET_ADMIN_TOKEN: BENCH_TOKEN,
      LOG_LEVEL: 'warn',
      WATTFLEET_DEMO: '0',
    },
    process.env.BENCH_PROFILE ? ['--cpu-prof', '--cpu-prof-dir=/tmp/wattfleet-prof'] : [],
  );
  const client = new pg.Client({ connectionString: url.toString() });
  client.on('error', () => {});
  try {
    // The seed was analysed; CREATE DATABASE … TEMPLATE copies its statistics with it.
    await client.connect();
    const info = (await client.query('SELECT info FROM bench_seed')).rows[0].info as SeedInfo;
    await hub.start();
    const firstAnswerMs = await firstAnswer(hub.url, info);
    const query: Query = async (text, params) => (await client.query(text, params)).rowCount ?? 0;
    return { info, firstAnswerMs, rounds: await measure('postgres', hub.url, query, info, rounds, perKind) };
  } finally {
    await client.end().catch(() => {});
    await hub.stop().catch(() => hub.kill());
    await admin.query(`DROP DATABASE IF EXISTS ${runDb} WITH (FORCE)`);
    await admin.end();
  }
}

/**
 * Issue 15.4 on a year of data: milliseconds from the hub's "running at" line (it listens) to its
 * first 200 for a portal read (a site's daily energy for the year), asked every 20 ms.
 */
async function firstAnswer(base: string, info: SeedInfo): Promise<number> {
  const t0 = performance.now();
  const site = info.sites[0]!;
  const to = new Date(info.end).toISOString().slice(0, 10);
  const from = new Date(info.end - 364 * DAY_MS).toISOString().slice(0, 10);
  for (;;) {
    const r = await fetch(`${base}/api/v1/sites/${site.id}/daily?from=${from}&to=${to}`, {
      headers: { authorization: `Bearer ${BENCH_TOKEN}` },
    }).catch(() => undefined);
    if (r?.ok) {
      await r.arrayBuffer();
      return performance.now() - t0;
    }
    await r?.arrayBuffer();
    if (performance.now() - t0 > 60_000) throw new Error(`no answer within 60 s (last status ${r?.status})`);
    await new Promise((res) => setTimeout(res, 20));
  }
}

/** The PGlite seed, kept in the temp dir like the PostgreSQL one; each run works on a copy. */
async function pgliteSeedDir(sites: number): Promise<string> {
  const dir = join(tmpdir(), `wf-bench-dashboard-seed-v${SEED_VERSION}-${sites}-pglite`);
  if (existsSync(dir)) return dir;
  console.log(`seed: building ${dir} (${sites} sites)`);
  const building = `${dir}-building`;
  rmSync(building, { recursive: true, force: true });
  const database = await openDatabase({ dataDir: building });
  try {
    await migrate(database);
    await seed(database, sites, console.log);
  } finally {
    await database.close();
  }
  renameSync(building, dir);
  return dir;
}

async function pgliteRun(sites: number, rounds: number, perKind: number) {
  const seedDir = await pgliteSeedDir(sites);
  const dir = mkdtempSync(join(tmpdir(), 'wf-bench-dashboard-pglite-'));
  cpSync(seedDir, dir, { recursive: true });
  let database: Database | undefined;
  const config = loadConfig({}, { adminToken: BENCH_TOKEN, logLevel: 'warn', host: '127.0.0.1', port: 0 });
  try {
    database = await openDatabase({ dataDir: dir });
    await migrate(database);
    const pglite = database.pglite!;
    const info = (await pglite.query<{ info: SeedInfo }>('SELECT info FROM bench_seed')).rows[0]!.info;
    const app = await buildHub({ config, database, logger: false });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = app.server.address() as { port: number };
    try {
      // The hub's pool is PGlite's one connection: the ideal SQL queues behind it like any query.
      const query: Query = async (text, params) => (await database!.pool.query(text, params)).rowCount ?? 0;
      return {
        info,
        rounds: await measure('pglite', `http://127.0.0.1:${port}`, query, info, rounds, perKind),
      };
    } finally {
      await app.close();
    }
  } finally {
    await database?.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function main(args: string[]): Promise<void> {
  const rounds = Number(args[0] ?? 5);
  const perKind = Number(args[1] ?? 40);
  const sites = Number(process.env.DASHBOARD_SITES ?? 20);
  const pgliteSites = Number(process.env.DASHBOARD_PGLITE_SITES ?? 4);
  const pgr = await pgRun(sites, rounds, perKind);
  const p = summary(pgr.rounds);
  console.log(
    `postgres median: ${p.per.map((k) => `${k.name}=${k.ours.toFixed(1)}/${k.ideal.toFixed(1)}`).join(' ')} (p95 ms ours/ideal)`,
  );
  let pgliteTail = '';
  if (pgliteSites > 0) {
    const lr = await pgliteRun(pgliteSites, rounds, perKind);
    const l = summary(lr.rounds);
    console.log(
      `pglite median: ${l.per.map((k) => `${k.name}=${k.ours.toFixed(1)}/${k.ideal.toFixed(1)}`).join(' ')} (p95 ms ours/ideal)`,
    );
    pgliteTail = ` pglite_ratio=${l.ratio.toFixed(2)} pglite_p95_ms=${l.p95.toFixed(1)} pglite_worst=${l.worstP95.name} pglite_sites=${pgliteSites}`;
  }
  console.log(
    `dashboard: ratio=${p.ratio.toFixed(2)} p95_ms=${p.p95.toFixed(1)} worst_ratio_kind=${p.worstRatio.name} ` +
      `worst_p95_kind=${p.worstP95.name} first_answer_ms=${Math.round(pgr.firstAnswerMs)} sites=${sites} days=365 rounds=${rounds} requests=${perKind}${pgliteTail}`,
  );
}
