// The only place telemetry-read SQL lives: stored series, raw samples and rollups, the latest
// values, and what the intervals of the nodes are (reported, or seen in the data). Callers pass a
// tenant transaction (withTenant), so row-level security applies.
import { type Kysely, sql } from 'kysely';
import { listPartitions } from '../storage/partitions.ts';
import type { DB } from '../storage/schema.ts';
import type { Resolution, Series } from './telemetry.schema.ts';

export type { Resolution } from './telemetry.schema.ts';

/** Finest resolution whose point count per series stays within maxPoints. */
export function chooseResolution(from: number, to: number, intervalS: number, maxPoints: number): Resolution {
  const span = to - from;
  if (span / (intervalS * 1000) <= maxPoints) return 'raw';
  if (span / 3_600_000 <= maxPoints) return 'hour';
  return 'day';
}

// Times as epoch milliseconds computed by PostgreSQL: parsing timestamp text into Dates was most
// of a day of raw samples' cost. floor() is what a Date made from the text keeps (whole ms).
const TS_MS = sql<number>`floor(extract(epoch from ts) * 1000)::float8`;
const BUCKET_MS = sql<number>`floor(extract(epoch from bucket) * 1000)::float8`;

/** [epoch ms, value]; for rollups the value is the average, with min/max/energy beside it. */
export type SeriesOut = Series;

export async function querySeries(
  db: Kysely<DB>,
  q: {
    siteId: string;
    nodeId?: string | undefined;
    metrics?: string[] | undefined;
    from: number;
    to: number;
    resolution: Resolution;
    maxPoints: number;
  },
): Promise<SeriesOut[]> {
  let sq = db
    .selectFrom('series')
    .select(['id', 'node_id', 'equipment', 'metric', 'kind'])
    .where('site_id', '=', q.siteId);
  if (q.nodeId) sq = sq.where('node_id', '=', q.nodeId);
  if (q.metrics?.length) sq = sq.where('metric', 'in', q.metrics);
  const series = await sq.orderBy('metric').orderBy('equipment').execute();
  if (series.length === 0) return [];
  const ids = series.map((s) => s.id);
  const from = new Date(q.from);
  const to = new Date(q.to);
  const out = new Map<number, SeriesOut>(
    series.map((s) => [
      s.id,
      { nodeId: s.node_id, equipment: s.equipment, metric: s.metric, kind: s.kind, points: [] } as SeriesOut,
    ]),
  );
  if (q.resolution === 'raw') {
    const rows = await db
      .selectFrom('samples')
      .select(['series_id', TS_MS.as('ts_ms'), 'value'])
      .where('series_id', 'in', ids)
      .where('ts', '>=', from)
      .where('ts', '<', to)
      .orderBy('series_id')
      .orderBy('ts')
      .execute();
    for (const r of rows) {
      const s = out.get(r.series_id)!;
      if (s.points.length >= q.maxPoints) {
        s.truncated = true;
        continue;
      }
      s.points.push([r.ts_ms, r.value]);
    }
  } else {
    const rows =
      q.resolution === 'hour'
        ? await db
            .selectFrom('rollup_hourly')
            .select([
              'series_id',
              BUCKET_MS.as('bucket_ms'),
              'sum',
              'count',
              'min',
              'max',
              'energy_wh',
              sql<number>`1`.as('hours'),
            ])
            .where('series_id', 'in', ids)
            .where('bucket', '>=', from)
            .where('bucket', '<', to)
            .orderBy('series_id')
            .orderBy('bucket')
            .execute()
        : await db
            .selectFrom('rollup_daily')
            .select([
              'series_id',
              BUCKET_MS.as('bucket_ms'),
              'sum',
              'count',
              'min',
              'max',
              'energy_wh',
              'hours',
            ])
            .where('series_id', 'in', ids)
            .where('bucket', '>=', from)
            .where('bucket', '<', to)
            .orderBy('series_id')
            .orderBy('bucket')
            .execute();
    for (const r of rows) {
      const s = out.get(r.series_id)!;
      // A bucket only an interval spans has no reading to average: power shows its mean from the
      // energy (the same interpolation that made it); other kinds have nothing to draw there.
      let value: number;
      if (r.count) value = r.sum / r.count;
      else if (s.kind === 'power' && r.energy_wh !== null) value = r.energy_wh / r.hours;
      else continue;
      s.points.push([r.bucket_ms, value]);
      s.min ??= [];
      s.max ??= [];
      s.energyWh ??= [];
      s.min.push(r.min);
      s.max.push(r.max);
      s.energyWh.push(r.energy_wh);
    }
  }
  return [...out.values()];
}

/** The newest stored sample of a node (any series), in ms; undefined when it has none. */
export async function newestSampleMs(db: Kysely<DB>, nodeId: string): Promise<number | undefined> {
  const { rows } = await sql<{ ts: Date | null }>`
    SELECT max(l.ts) AS ts FROM series s
    CROSS JOIN LATERAL (SELECT ts FROM samples WHERE series_id = s.id ORDER BY ts DESC LIMIT 1) l
    WHERE s.node_id = ${nodeId}`.execute(db);
  const ts = rows[0]?.ts;
  return ts ? new Date(ts).getTime() : undefined;
}

export async function latestValues(db: Kysely<DB>, nodeId: string) {
  // One index probe per series (LATERAL … ORDER BY ts DESC LIMIT 1) instead of scanning samples.
  const { rows } = await sql<{ equipment: string; metric: string; ts: Date; value: number }>`
    SELECT s.equipment, s.metric, l.ts, l.value
    FROM series s
    CROSS JOIN LATERAL (
      SELECT ts, value FROM samples WHERE series_id = s.id ORDER BY ts DESC LIMIT 1
    ) l
    WHERE s.node_id = ${nodeId}
    ORDER BY s.metric, s.equipment`.execute(db);
  return rows.map((r) => ({
    equipment: r.equipment,
    metric: r.metric,
    ts: r.ts.toISOString(),
    value: r.value,
  }));
}

/** The nodes a telemetry read covers (one node, or all of the site's) and the interval each reports. */
export async function nodeIntervals(
  db: Kysely<DB>,
  siteId: string,
  nodeId?: string,
): Promise<{ id: string; sample_interval_s: number | null }[]> {
  let q = db.selectFrom('nodes').select(['id', 'sample_interval_s']).where('site_id', '=', siteId);
  if (nodeId) q = q.where('id', '=', nodeId);
  return q.execute();
}

/** Samples per series the learned interval looks at: enough for a median, cheap on long ranges. */
const LEARN_SAMPLES = 500;

/**
 * Per node, the interval its data shows in [from, to): per series the median spacing of its first
 * samples in the range, then the shortest of those (seconds, unrounded), as completeness learns it.
 * Nodes without two samples of a series in the range are absent.
 *
 * Samples live only in daily partitions, and a year's range spans every one of them: planning and
 * starting a scan of each, per series, cost more than the whole answer. So the first read covers
 * only the range's first two partition days; when every series found its LEARN_SAMPLES there,
 * those are its first samples of the whole range as well, and the answer is the same. Otherwise
 * the whole range is read, as before.
 */
export async function learnedNodeIntervals(
  db: Kysely<DB>,
  q: { nodeIds: string[]; metrics?: string[] | undefined; from: number; to: number },
): Promise<Map<string, number>> {
  if (q.nodeIds.length === 0) return new Map();
  const days = (await listPartitions(db))
    .map((p) => p.day)
    .filter((d) => d + DAY_MS > q.from && d < q.to)
    .sort((a, b) => a - b);
  // No partition in the range: no sample either.
  if (days.length === 0) return new Map();
  let rows = days.length > 2 ? await seriesSpacing(db, q, days[1]! + DAY_MS) : undefined;
  if (!rows?.every((r) => Number(r.n) >= LEARN_SAMPLES)) rows = await seriesSpacing(db, q, q.to);
  const out = new Map<string, number>();
  for (const r of rows) {
    if (r.median_s === null || r.median_s === undefined) continue;
    const s = Number(r.median_s);
    const best = out.get(r.node_id);
    if (best === undefined || s < best) out.set(r.node_id, s);
  }
  return out;
}

const DAY_MS = 86_400_000;

/** Per series of the nodes: the median spacing of its first samples in [from, to) and how many. */
async function seriesSpacing(
  db: Kysely<DB>,
  q: { nodeIds: string[]; metrics?: string[] | undefined; from: number },
  to: number,
) {
  const metricFilter = q.metrics?.length ? sql`AND r.metric IN (${sql.join(q.metrics)})` : sql``;
  const { rows } = await sql<{ node_id: string; median_s: number | null; n: number | string }>`
    SELECT r.node_id, m.median_s, m.n
    FROM series r
    CROSS JOIN LATERAL (
      SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY d) FILTER (WHERE d > 0) AS median_s, count(*) AS n
      FROM (
        SELECT extract(epoch FROM f.ts - lag(f.ts) OVER (ORDER BY f.ts)) AS d
        FROM (
          SELECT ts FROM samples
          WHERE series_id = r.id AND ts >= ${new Date(q.from)} AND ts < ${new Date(to)}
          ORDER BY ts LIMIT ${LEARN_SAMPLES}
        ) f
      ) deltas
    ) m
    WHERE r.node_id IN (${sql.join(q.nodeIds)}) ${metricFilter}`.execute(db);
  return rows;
}
