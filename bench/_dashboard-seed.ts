// The dashboard bench's data (B3): N sites × one year of 1-minute samples of the ten standard
// metrics, loaded in bulk. Entities go through the real API (orgs, sites, users, tariffs, node
// enrollment, one signed ingest batch per node that creates its series); the year of data does not
// go through ingest and the rollup queue (hours of work on this machine) but is computed here
// with the hub's own pure functions on the same points: computeBucket (rollups/compute.ts) for
// every hourly and local-daily rollup, computeDay + dayCost (analytics) for every site day, with
// the previous day's battery ledger, as the jobs do. Raw samples are kept for the retention
// window only (RETENTION_RAW_DAYS default, 30 days), as a year-old deployment has them. The seed
// then checks itself against the real jobs: the last days of two sites are queued and recomputed
// by drainRollups and processDirtyDays, and every recomputed row must equal the bulk one.
import { gzipSync } from 'node:zlib';
import { generateNodeKeyPair, metricKind, privateKeyFromPem, signRequest } from '@wattfleet/protocol';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { computeDay } from '../packages/hub/src/analytics/energy-day.ts';
import { markDays, processDirtyDays } from '../packages/hub/src/analytics/site-day.service.ts';
import { buildHub } from '../packages/hub/src/app.ts';
import { loadConfig } from '../packages/hub/src/config.ts';
import type { HubContext } from '../packages/hub/src/context.ts';
import { type BucketStats, computeBucket, type Point } from '../packages/hub/src/rollups/compute.ts';
import { drainRollups } from '../packages/hub/src/rollups/rollup.job.ts';
import type { Database } from '../packages/hub/src/storage/database.ts';
import { migrate } from '../packages/hub/src/storage/migrate.ts';
import { ensurePartitionsForRange } from '../packages/hub/src/storage/partitions.ts';
import { dayCost, type TariffDefinition } from '../packages/hub/src/tariffs/tariff-cost.ts';
import { addDays, localDate, localDayBounds } from '../packages/hub/src/time/zoned.ts';
import { BENCH_METRICS, BENCH_TOKEN } from './_fleet.ts';

/** Bump when what the seed writes changes: a stored seed of another version is rebuilt. */
export const SEED_VERSION = 1;
export const DAYS = 365;
export const RAW_DAYS = 30;
export const USER_EMAIL = 'installer@bench.test';
export const USER_PASSWORD = 'bench installer password';
const MIN_MS = 60_000;
const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
const MAX_GAP_MS = 900_000;
/** As site-day.service.ts: the flows a site day is computed from, and its margin either side. */
const FLOW_METRICS = [
  'solar_w',
  'load_w',
  'grid_w',
  'battery_w',
  'solar_wh',
  'load_wh',
  'grid_import_wh',
  'grid_export_wh',
];
const DAY_MARGIN_MS = 6 * HOUR_MS;

export const TARIFF: TariffDefinition = {
  currency: 'EUR',
  importRate: 0.3,
  periods: [{ name: 'peak', weekdays: [1, 2, 3, 4, 5], from: '17:00', to: '21:00', rate: 0.42 }],
  exportRate: 0.08,
  dailyCharge: 0.5,
  demandChargePerKw: 9.5,
};

export interface SeedInfo {
  version: number;
  /** Epoch ms of the first sample; the data runs to `end` (exclusive), a UTC midnight. */
  start: number;
  end: number;
  installerOrgId: string;
  sites: { id: string; nodeId: string; timezone: string; tariffId: string }[];
  check: string;
}

/** A deterministic pseudo-random number in [0, 1) for (a, b). */
function noise(a: number, b: number): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(b + 0x7f4a7c15, 0xc2b2ae35);
  h ^= h >>> 13;
  h = Math.imul(h, 0x27d4eb2f);
  h ^= h >>> 16;
  return (h >>> 0) / 4294967296;
}

/** One site's year, per metric a Point[] of one sample a minute from `start`. */
function generateSite(siteIndex: number, start: number, days: number): Map<string, Point[]> {
  const n = days * 1440;
  const out = new Map<string, Point[]>(BENCH_METRICS.map((m) => [m, new Array<Point>(n)]));
  const get = (m: string) => out.get(m)!;
  const [solarW, loadW, gridW, batteryW, soc, volt, solarWh, loadWh, impWh, expWh] = BENCH_METRICS.map(get);
  const peakW = 4000 + (siteIndex % 5) * 1500;
  const capWh = 10_000;
  let charge = capWh / 2;
  const counters = [1e5 * (siteIndex + 1), 2e5, 3e5, 4e4];
  for (let i = 0; i < n; i++) {
    const ts = start + i * MIN_MS;
    const dayOfYear = Math.floor(i / 1440);
    const hour = ((ts % DAY_MS) / HOUR_MS + 24) % 24;
    const season = 0.55 + 0.45 * Math.cos(((dayOfYear - 172) / 365) * 2 * Math.PI);
    const cloud = 0.6 + 0.4 * noise(siteIndex, dayOfYear * 24 + Math.floor(hour));
    const sun = Math.max(0, Math.sin(((hour - 6) / 12) * Math.PI));
    const solar = Math.round(peakW * season * sun * cloud);
    const load = Math.round(
      350 + 250 * Math.sin(((hour - 13) / 24) * 2 * Math.PI) + 900 * noise(i, siteIndex),
    );
    let battery = 0; // positive = discharge
    const surplus = solar - load;
    if (surplus > 0 && charge < capWh * 0.95) battery = -Math.min(surplus, 3000);
    else if (surplus < 0 && charge > capWh * 0.1) battery = Math.min(-surplus, 3000);
    charge -= battery / 60;
    const grid = load - solar - battery;
    solarW![i] = { ts, value: solar };
    loadW![i] = { ts, value: load };
    gridW![i] = { ts, value: grid };
    batteryW![i] = { ts, value: battery };
    soc![i] = { ts, value: Math.round((charge / capWh) * 1000) / 10 };
    volt![i] = { ts, value: Math.round((230 + 6 * (noise(siteIndex, i) - 0.5)) * 10) / 10 };
    counters[0]! += solar / 60;
    counters[1]! += load / 60;
    counters[2]! += Math.max(0, grid) / 60;
    counters[3]! += Math.max(0, -grid) / 60;
    solarWh![i] = { ts, value: Math.round(counters[0]! * 1000) / 1000 };
    loadWh![i] = { ts, value: Math.round(counters[1]! * 1000) / 1000 };
    impWh![i] = { ts, value: Math.round(counters[2]! * 1000) / 1000 };
    expWh![i] = { ts, value: Math.round(counters[3]! * 1000) / 1000 };
  }
  return out;
}

/** The points of [from, to) plus the nearest one each side, as the rollup job reads them. */
function around(points: Point[], start: number, from: number, to: number): Point[] {
  const i0 = Math.max(0, Math.ceil((from - start) / MIN_MS) - 1);
  const i1 = Math.min(points.length, Math.ceil((to - start) / MIN_MS) + 1);
  return i0 >= i1 ? [] : points.slice(i0, i1);
}

/** Points of [from, to) only (the site-day read). */
function within(points: Point[], start: number, from: number, to: number): Point[] {
  const i0 = Math.max(0, Math.ceil((from - start) / MIN_MS));
  const i1 = Math.min(points.length, Math.ceil((to - start) / MIN_MS));
  return i0 >= i1 ? [] : points.slice(i0, i1);
}

const iso = (ms: number) => new Date(ms).toISOString();
const cell = (v: unknown) => (v === null || v === undefined ? '\\N' : String(v));

function statCells(s: BucketStats): string[] {
  return [
    s.count,
    s.sum,
    s.min,
    s.max,
    s.first,
    s.last,
    s.firstTs === null ? null : iso(s.firstTs),
    s.lastTs === null ? null : iso(s.lastTs),
    s.energyWh,
    s.resets,
  ].map(cell);
}
const STATS = 'count, sum, min, max, first, last, first_ts, last_ts, energy_wh, resets';

/**
 * COPY text rows into a table. PGlite: the same rows as JSON through the hub's own (single)
 * connection (jsonb_populate_recordset), never beside it: PGlite's direct COPY from a blob,
 * interleaved with that connection's queries, left a query unanswered.
 */
async function copyRows(database: Database, table: string, columns: string, lines: string[]): Promise<void> {
  const names = columns.split(',').map((c) => c.trim());
  const chunk = database.pglite ? 20_000 : 200_000;
  for (let i = 0; i < lines.length; i += chunk) {
    const part = lines.slice(i, i + chunk);
    if (database.pglite) {
      const records = part.map((line) =>
        Object.fromEntries(line.split('\t').map((v, k) => [names[k]!, v === '\\N' ? null : v])),
      );
      await sql`
        INSERT INTO ${sql.table(table)} (${sql.join(names.map((n) => sql.ref(n)))})
        SELECT ${sql.join(names.map((n) => sql.ref(n)))}
        FROM jsonb_populate_recordset(NULL::${sql.table(table)}, ${JSON.stringify(records)}::jsonb)`.execute(
        database.db,
      );
    } else {
      const text = `${part.join('\n')}\n`;
      const { from: copyFrom } = await import('pg-copy-streams');
      const { Readable } = await import('node:stream');
      const { pipeline } = await import('node:stream/promises');
      const client = await database.pool.connect();
      try {
        await pipeline(
          Readable.from([text]),
          client.query(copyFrom(`COPY ${table} (${columns}) FROM STDIN`)),
        );
      } finally {
        client.release();
      }
    }
  }
}

async function api(app: FastifyInstance, method: string, url: string, body?: unknown) {
  const r = await app.inject({
    method: method as 'GET',
    url: `/api/v1${url}`,
    headers: { authorization: `Bearer ${BENCH_TOKEN}` },
    ...(body !== undefined ? { payload: body as object } : {}),
  });
  if (r.statusCode >= 300) throw new Error(`${method} ${url}: ${r.statusCode} ${r.body}`);
  return r.json() as Record<string, string>;
}

/** Seeds a migrated, empty database. `log` reports progress. */
export async function seed(
  database: Database,
  siteCount: number,
  log: (line: string) => void = () => {},
): Promise<SeedInfo> {
  const t0 = performance.now();
  await migrate(database);
  const config = loadConfig({}, { adminToken: BENCH_TOKEN, logLevel: 'warn' });
  const app = await buildHub({ config, database, logger: false });
  await app.ready();
  const hub = (app as unknown as { hub: HubContext }).hub;
  try {
    const end = Math.floor(Date.now() / DAY_MS) * DAY_MS;
    const start = end - DAYS * DAY_MS;
    const installer = await api(app, 'POST', '/orgs', { name: 'Bench Installer', kind: 'installer' });
    const owner = await api(app, 'POST', '/orgs', { name: 'Bench Households', kind: 'operator' });
    await api(app, 'POST', '/users', {
      orgId: installer.id,
      role: 'installer',
      email: USER_EMAIL,
      password: USER_PASSWORD,
      mustChangePassword: false,
    });
    const sites: SeedInfo['sites'] = [];
    for (let s = 0; s < siteCount; s++) {
      const timezone = s % 2 === 0 ? 'UTC' : 'Europe/Berlin';
      const site = await api(app, 'POST', '/sites', {
        orgId: owner.id,
        installerOrgId: installer.id,
        name: `Bench site ${String(s + 1).padStart(2, '0')}`,
        timezone,
        latitude: 52.5,
        longitude: 13.4,
      });
      const tariff = await api(app, 'POST', `/sites/${site.id}/tariffs`, {
        validFrom: localDate(start, timezone),
        name: 'Bench tariff',
        definition: TARIFF,
      });
      const code = await api(app, 'POST', `/sites/${site.id}/enrollment-codes`, {});
      const pair = generateNodeKeyPair();
      const enrolled = await app.inject({
        method: 'POST',
        url: '/api/v1/nodes/enroll',
        payload: { code: code.code, publicKey: pair.publicKey, name: `bench agent ${s + 1}` },
      });
      if (enrolled.statusCode !== 200) throw new Error(`enroll: ${enrolled.body}`);
      const nodeId = enrolled.json().nodeId as string;
      // One real batch creates the node's series (kinds as ingest assigns them); its samples go.
      const url = '/api/v1/ingest/telemetry';
      const bytes = gzipSync(
        JSON.stringify({
          batchId: `bench-seed-${s}`,
          samples: BENCH_METRICS.map((metric) => ({ metric, ts: Date.now() - MIN_MS, value: 1 })),
        }),
      );
      const ingested = await app.inject({
        method: 'POST',
        url,
        headers: {
          'content-type': 'application/json',
          'content-encoding': 'gzip',
          ...signRequest(privateKeyFromPem(pair.privateKeyPem), nodeId, 'POST', url, bytes),
        },
        payload: bytes,
      });
      if (ingested.statusCode !== 200) throw new Error(`ingest: ${ingested.body}`);
      sites.push({ id: site.id!, nodeId, timezone, tariffId: tariff.id! });
    }
    await sql`DELETE FROM samples`.execute(hub.db);
    await sql`DELETE FROM rollup_dirty`.execute(hub.db);
    await sql`DELETE FROM rollup_hourly`.execute(hub.db);
    await sql`DELETE FROM rollup_daily`.execute(hub.db);
    await sql`DELETE FROM site_daily_dirty`.execute(hub.db);
    await sql`DELETE FROM site_daily`.execute(hub.db);
    const rawFrom = end - RAW_DAYS * DAY_MS;
    await ensurePartitionsForRange(hub.db, rawFrom, end - 1);
    log(`seed: entities in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

    for (let s = 0; s < sites.length; s++) {
      const t1 = performance.now();
      const site = sites[s]!;
      const series = (
        await sql<{ id: number; metric: string; kind: 'power' | 'energy' | 'gauge' | 'state' }>`
          SELECT id, metric, kind FROM series WHERE node_id = ${site.nodeId}`.execute(hub.db)
      ).rows;
      for (const r of series) {
        if (r.kind !== metricKind(r.metric)) throw new Error(`series kind of ${r.metric}`);
      }
      const data = generateSite(s, start, DAYS);
      const raw: string[] = [];
      const hourly: string[] = [];
      const daily: string[] = [];
      for (const r of series) {
        const points = data.get(r.metric)!;
        const gapMs = r.kind === 'energy' ? Number.POSITIVE_INFINITY : MAX_GAP_MS;
        const iRaw = (rawFrom - start) / MIN_MS;
        for (let i = iRaw; i < points.length; i++) {
          raw.push(`${r.id}\t${iso(points[i]!.ts)}\t${points[i]!.value}`);
        }
        for (let h = start; h < end; h += HOUR_MS) {
          const stats = computeBucket(around(points, start, h, h + HOUR_MS), h, h + HOUR_MS, r.kind, gapMs);
          if (stats) hourly.push([r.id, iso(h), ...statCells(stats)].join('\t'));
        }
        for (let day = localDate(start, site.timezone); ; day = addDays(day, 1)) {
          const [a, b] = localDayBounds(day, site.timezone);
          if (a >= end) break;
          const stats = computeBucket(around(points, start, a, b), a, b, r.kind, gapMs);
          if (stats) daily.push([r.id, day, iso(a), (b - a) / HOUR_MS, ...statCells(stats)].join('\t'));
        }
      }
      await copyRows(database, 'samples', 'series_id, ts, value', raw);
      await copyRows(database, 'rollup_hourly', `series_id, bucket, ${STATS}`, hourly);
      await copyRows(database, 'rollup_daily', `series_id, day, bucket, hours, ${STATS}`, daily);
      await copyRows(database, 'site_daily', SITE_DAY_COLUMNS, siteDays(site, series, data, start, end));
      log(
        `seed: site ${s + 1}/${sites.length}: ${raw.length} raw, ${hourly.length} hourly, ${daily.length} daily rows in ${((performance.now() - t1) / 1000).toFixed(1)} s`,
      );
    }
    const check = await checkAgainstJobs(hub, sites, end);
    log(`seed: ${check}`);
    const info: SeedInfo = { version: SEED_VERSION, start, end, installerOrgId: installer.id!, sites, check };
    await sql`CREATE TABLE bench_seed (info jsonb NOT NULL)`.execute(hub.db);
    await sql`INSERT INTO bench_seed VALUES (${JSON.stringify(info)}::jsonb)`.execute(hub.db);
    await sql`ANALYZE`.execute(hub.db);
    log(`seed: done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    return info;
  } finally {
    await app.close();
  }
}

const SITE_DAY_COLUMNS =
  'site_id, day, solar_wh, load_wh, import_wh, export_wh, charge_wh, discharge_wh, solar_to_load_wh, ' +
  'battery_solar_to_load_wh, solar_export_wh, self_consumption_pct, self_sufficiency_pct, peak_demand_kw, ' +
  'peak_load_kw, coverage, counter_resets, battery_solar_wh, battery_grid_wh, tariff_version_id, currency, ' +
  'cost, baseline_cost, savings';

/** Every local day of the site as recomputeSiteDay stores it (tariff: the one version from day one). */
function siteDays(
  site: SeedInfo['sites'][number],
  series: { id: number; metric: string }[],
  data: Map<string, Point[]>,
  start: number,
  end: number,
): string[] {
  const flows = series.filter((r) => FLOW_METRICS.includes(r.metric));
  const lines: string[] = [];
  let opening: { solarWh: number; gridWh: number } | undefined;
  for (let day = localDate(start, site.timezone); ; day = addDays(day, 1)) {
    const [a, b] = localDayBounds(day, site.timezone);
    if (a >= end) break;
    const input = flows.map((r) => ({
      metric: r.metric,
      samples: within(data.get(r.metric)!, start, a - DAY_MARGIN_MS, b + DAY_MARGIN_MS),
    }));
    const d = computeDay({ start: a, end: b, series: input, openingBattery: opening });
    const cost = dayCost(TARIFF, d.slots, site.timezone);
    lines.push(
      [
        site.id,
        day,
        d.solarWh,
        d.loadWh,
        d.importWh,
        d.exportWh,
        d.chargeWh,
        d.dischargeWh,
        d.solarToLoadWh,
        d.batterySolarToLoadWh,
        d.solarExportWh,
        d.selfConsumptionPct,
        d.selfSufficiencyPct,
        d.peakDemandKw,
        d.peakLoadKw,
        d.coverage,
        d.counterResets,
        d.closingBattery.solarWh,
        d.closingBattery.gridWh,
        site.tariffId,
        TARIFF.currency,
        cost.cost,
        cost.baselineCost,
        cost.savings,
      ]
        .map(cell)
        .join('\t'),
    );
    opening = d.closingBattery;
  }
  return lines;
}

/**
 * The last two days of the first two sites (one UTC, one Europe/Berlin) recomputed by the real
 * jobs: queued as ingest queues them, drained, and compared row by row with what the seed wrote.
 */
async function checkAgainstJobs(hub: HubContext, sites: SeedInfo['sites'], end: number): Promise<string> {
  const checked = sites.slice(0, 2);
  const ids = checked.map((s) => s.id);
  const from = end - 2 * DAY_MS;
  const snapshot = async () => ({
    hourly: (
      await sql<Record<string, unknown>>`
        SELECT h.* FROM rollup_hourly h JOIN series s ON s.id = h.series_id
        WHERE s.site_id IN (${sql.join(ids)}) AND h.bucket >= ${new Date(from)}
        ORDER BY h.series_id, h.bucket`.execute(hub.db)
    ).rows,
    daily: (
      await sql<Record<string, unknown>>`
        SELECT d.*, d.day::text AS day FROM rollup_daily d JOIN series s ON s.id = d.series_id
        WHERE s.site_id IN (${sql.join(ids)}) AND d.bucket >= ${new Date(from - DAY_MS)}
        ORDER BY d.series_id, d.day`.execute(hub.db)
    ).rows,
    days: (
      await sql<Record<string, unknown>>`
        SELECT d.*, d.day::text AS day FROM site_daily d
        WHERE d.site_id IN (${sql.join(ids)}) AND d.day >= ${new Date(from - DAY_MS).toISOString().slice(0, 10)}::date
        ORDER BY d.site_id, d.day`.execute(hub.db)
    ).rows,
  });
  const before = await snapshot();
  // Queued as ingest queues them (telemetry-writer.ts): every hour and local day the data touches.
  await sql`
    INSERT INTO rollup_dirty (series_id, resolution, bucket)
    SELECT s.id, 'hour', h FROM series s
    CROSS JOIN generate_series(${new Date(from)}::timestamptz, ${new Date(end - HOUR_MS)}::timestamptz, interval '1 hour') h
    WHERE s.site_id IN (${sql.join(ids)})`.execute(hub.db);
  for (const site of checked) {
    for (const ms of [from, from + DAY_MS, end - 1]) {
      const day = localDate(ms, site.timezone);
      const [a] = localDayBounds(day, site.timezone);
      await sql`
        INSERT INTO rollup_dirty (series_id, resolution, bucket)
        SELECT id, 'day', ${new Date(a)} FROM series WHERE site_id = ${site.id}
        ON CONFLICT DO NOTHING`.execute(hub.db);
      // Through the service (marked_at as the hub writes it, which is what clearing compares).
      await markDays(hub, site.id, [day]);
    }
  }
  await drainRollups(hub);
  await processDirtyDays(hub);
  const left = await sql<{ n: number }>`
    SELECT (SELECT count(*) FROM rollup_dirty) + (SELECT count(*) FROM site_daily_dirty) AS n`.execute(
    hub.db,
  );
  if (Number(left.rows[0]!.n) !== 0) throw new Error('the jobs left queued work behind');
  const after = await snapshot();
  const diffs: string[] = [];
  const compare = (what: string, a: Record<string, unknown>[], b: Record<string, unknown>[]) => {
    if (a.length !== b.length) diffs.push(`${what}: ${a.length} rows seeded, ${b.length} after the jobs`);
    for (let i = 0; i < Math.min(a.length, b.length); i++) {
      for (const k of Object.keys(a[i]!)) {
        if (k === 'computed_at') continue;
        const x = a[i]![k];
        const y = b[i]![k];
        const same =
          typeof x === 'number' && typeof y === 'number'
            ? Math.abs(x - y) <= 1e-9 * Math.max(1, Math.abs(x))
            : String(x) === String(y);
        if (!same && diffs.length < 10) diffs.push(`${what} row ${i} ${k}: seeded ${x}, job ${y}`);
      }
    }
  };
  compare('rollup_hourly', before.hourly, after.hourly);
  compare('rollup_daily', before.daily, after.daily);
  compare('site_daily', before.days, after.days);
  if (diffs.length) throw new Error(`seed differs from the real jobs:\n${diffs.join('\n')}`);
  return `check: ${after.hourly.length} hourly, ${after.daily.length} daily rollups and ${after.days.length} site days recomputed by the real jobs equal the seeded ones`;
}

/**
 * The seeded PostgreSQL database `wf_bench_dashboard_seed_v<version>_<sites>`, built once (about a
 * minute per site here) and kept between runs: each run clones it (CREATE DATABASE … TEMPLATE).
 * Built under a temporary name and renamed when complete, so an interrupted seed is never used.
 */
export async function ensurePgSeed(
  adminUrl: string,
  siteCount: number,
  log: (line: string) => void,
): Promise<string> {
  const { default: pg } = await import('pg');
  const { openDatabase } = await import('../packages/hub/src/storage/database.ts');
  const name = `wf_bench_dashboard_seed_v${SEED_VERSION}_${siteCount}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    const { rows } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (rows.length) return name;
    log(`seed: building ${name} (${siteCount} sites × ${DAYS} days of 1-minute data)`);
    const building = `${name}_building`;
    await admin.query(`DROP DATABASE IF EXISTS ${building} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${building}`);
    const url = new URL(adminUrl);
    url.pathname = `/${building}`;
    const database = await openDatabase({ databaseUrl: url.toString(), poolSize: 4 });
    try {
      await seed(database, siteCount, log);
    } finally {
      await database.close();
    }
    await admin.query(`ALTER DATABASE ${building} RENAME TO ${name}`);
    return name;
  } finally {
    await admin.end();
  }
}
