// Recomputes the rollup buckets that ingest marked dirty, from raw samples. Recomputing (rather
// than adding increments) makes late, duplicate-free and backfilled data land exactly right.
import { sql } from 'kysely';
import type { HubContext } from '../context.ts';
import { localDate, localDayBounds } from '../time/zoned.ts';
import { type BucketStats, computeBucket, type Point, type SeriesKind } from './compute.ts';
import { type Span, spannedBuckets } from './spans.ts';

const HOUR_MS = 3_600_000;
/** The largest Date: a counter's neighbouring reading is looked for without a time limit. */
const MAX_DATE_MS = 8.64e15;

interface Bucket extends Span {
  /** Local date for daily buckets, '' for hourly ones. */
  day: string;
}

interface DirtyRow {
  series_id: number;
  resolution: 'hour' | 'day';
  bucket: Date;
  generation: number;
  kind: SeriesKind;
  timezone: string;
}

/** Processes up to `limit` dirty buckets; returns how many were handled. */
export async function processDirtyRollups(hub: HubContext, limit = 2000): Promise<number> {
  const { rows } = await sql<DirtyRow>`
    SELECT d.series_id, d.resolution, d.bucket, d.generation::float8 AS generation, s.kind, st.timezone
    FROM rollup_dirty d
    JOIN series s ON s.id = d.series_id
    JOIN sites st ON st.id = s.site_id
    ORDER BY d.series_id, d.resolution, d.bucket
    LIMIT ${limit}`.execute(hub.db);
  if (rows.length === 0) return 0;
  const maxGapMs = hub.config.maxIntegrationGapS * 1000;

  const groups = new Map<string, DirtyRow[]>();
  for (const r of rows) {
    const key = `${r.series_id}:${r.resolution}`;
    const g = groups.get(key);
    if (g) g.push(r);
    else groups.set(key, [r]);
  }
  for (const group of groups.values()) {
    const { series_id: seriesId, resolution, kind, timezone } = group[0]!;
    const bucketAt = (ms: number): Bucket => {
      if (resolution === 'hour') {
        const start = Math.floor(ms / HOUR_MS) * HOUR_MS;
        return { start, end: start + HOUR_MS, day: '' };
      }
      const day = localDate(ms, timezone);
      const [start, end] = localDayBounds(day, timezone);
      return { start, end, day };
    };
    const dirty = group.map((r) => bucketAt(r.bucket.getTime()));
    // A counter's interval carries energy however long it is; power only within the gap limit.
    const gapMs = kind === 'energy' ? Number.POSITIVE_INFINITY : maxGapMs;
    // One read covers the group, plus the nearest point on each side: the intervals crossing the
    // edges need it (for a counter, however far back or ahead it lies).
    const load = (from: number, to: number) =>
      kind === 'energy'
        ? loadPoints(hub, seriesId, from, to, 0, MAX_DATE_MS)
        : loadPoints(hub, seriesId, from, to, from - maxGapMs - HOUR_MS * 24, to + maxGapMs);
    let from = Math.min(...dirty.map((b) => b.start));
    let to = Math.max(...dirty.map((b) => b.end));
    let points = await load(from, to);
    const bounds = spannedBuckets(points, dirty, kind, gapMs, bucketAt);
    // Widened past the read: read again so the added buckets see all their own points.
    if (bounds[0]!.start < from || bounds.at(-1)!.end > to) {
      from = Math.min(from, bounds[0]!.start);
      to = Math.max(to, bounds.at(-1)!.end);
      points = await load(from, to);
    }
    const computed = bounds.map((b) => ({
      ...b,
      stats: computeBucket(points, b.start, b.end, kind, gapMs),
    }));
    // One transaction and a handful of statements per group, however many buckets it holds.
    await hub.db.transaction().execute(async (trx) => {
      const present = computed.filter((c) => c.stats);
      const empty = computed.filter((c) => !c.stats);
      if (resolution === 'hour') {
        if (present.length) {
          await trx
            .insertInto('rollup_hourly')
            .values(
              present.map((c) => ({ series_id: seriesId, bucket: new Date(c.start), ...columns(c.stats!) })),
            )
            .onConflict((oc) => oc.columns(['series_id', 'bucket']).doUpdateSet(excludedColumns))
            .execute();
        }
        if (empty.length) {
          await trx
            .deleteFrom('rollup_hourly')
            .where('series_id', '=', seriesId)
            .where(
              'bucket',
              'in',
              empty.map((c) => new Date(c.start)),
            )
            .execute();
        }
      } else {
        if (present.length) {
          await trx
            .insertInto('rollup_daily')
            .values(
              present.map((c) => ({
                series_id: seriesId,
                day: c.day,
                bucket: new Date(c.start),
                hours: (c.end - c.start) / HOUR_MS,
                ...columns(c.stats!),
              })),
            )
            .onConflict((oc) =>
              oc.columns(['series_id', 'day']).doUpdateSet((eb) => ({
                ...excludedColumns(eb),
                bucket: eb.ref('excluded.bucket'),
                hours: eb.ref('excluded.hours'),
              })),
            )
            .execute();
        }
        if (empty.length) {
          await trx
            .deleteFrom('rollup_daily')
            .where('series_id', '=', seriesId)
            .where(
              'day',
              'in',
              empty.map((c) => c.day),
            )
            .execute();
        }
      }
      // Only rows nobody re-marked meanwhile (see markDirty in ingest).
      await sql`
        DELETE FROM rollup_dirty d
        USING unnest(${group.map((r) => r.bucket.toISOString())}::timestamptz[],
                     ${group.map((r) => r.generation)}::int8[]) AS u(bucket, generation)
        WHERE d.series_id = ${seriesId} AND d.resolution = ${resolution}
          AND d.bucket = u.bucket AND d.generation = u.generation`.execute(trx);
    });
  }
  return rows.length;
}

/**
 * Points in [from, to) plus the last one before `from` (not before `floor`) and the first one at
 * or after `to` (before `ceiling`). Pairs of points wholly outside the range add nothing to a
 * bucket, so this is all computeBucket needs, instead of a day of history per group.
 */
async function loadPoints(
  hub: HubContext,
  seriesId: number,
  from: number,
  to: number,
  floor: number,
  ceiling: number,
): Promise<Point[]> {
  // Epoch milliseconds as numbers: parsing timestamp text into Dates was most of the cost.
  const { rows } = await sql<{ ts_ms: number; value: number }>`
    SELECT ts_ms, value FROM (
      (SELECT ts, value FROM samples
        WHERE series_id = ${seriesId} AND ts < ${new Date(from)} AND ts >= ${new Date(floor)}
        ORDER BY ts DESC LIMIT 1)
      UNION ALL
      (SELECT ts, value FROM samples
        WHERE series_id = ${seriesId} AND ts >= ${new Date(from)} AND ts < ${new Date(to)})
      UNION ALL
      (SELECT ts, value FROM samples
        WHERE series_id = ${seriesId} AND ts >= ${new Date(to)} AND ts < ${new Date(ceiling)}
        ORDER BY ts LIMIT 1)
    ) p
    CROSS JOIN LATERAL (SELECT (extract(epoch from p.ts) * 1000)::float8 AS ts_ms) e
    ORDER BY p.ts`.execute(hub.db);
  return rows.map((r) => ({ ts: r.ts_ms, value: r.value }));
}

const STAT_COLUMNS = [
  'count',
  'sum',
  'min',
  'max',
  'first',
  'last',
  'first_ts',
  'last_ts',
  'energy_wh',
  'resets',
] as const;

// biome-ignore lint/suspicious/noExplicitAny: Kysely's expression builder type for ON CONFLICT.
function excludedColumns(eb: any) {
  return Object.fromEntries(STAT_COLUMNS.map((c) => [c, eb.ref(`excluded.${c}`)]));
}

function columns(s: BucketStats) {
  return {
    count: s.count,
    sum: s.sum,
    min: s.min,
    max: s.max,
    first: s.first,
    last: s.last,
    first_ts: s.firstTs === null ? null : new Date(s.firstTs),
    last_ts: s.lastTs === null ? null : new Date(s.lastTs),
    energy_wh: s.energyWh,
    resets: s.resets,
  };
}

/** Runs until no dirty bucket is left (tests, backfills). */
export async function drainRollups(hub: HubContext): Promise<number> {
  let total = 0;
  for (;;) {
    const n = await processDirtyRollups(hub);
    total += n;
    if (n === 0) return total;
  }
}
