// Recomputes the rollup buckets that ingest marked dirty, from raw samples. Recomputing (rather
// than adding increments) makes late, duplicate-free and backfilled data land exactly right.
import { sql } from 'kysely';
import type { HubContext } from '../context.ts';
import { localDate, localDayBounds } from '../time/zoned.ts';
import { type BucketStats, computeBucket, type Point, type SeriesKind } from './compute.ts';

const HOUR_MS = 3_600_000;

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
    const bounds = group.map((r) => {
      const start = r.bucket.getTime();
      if (resolution === 'hour') return { row: r, start, end: start + HOUR_MS, day: '' };
      const day = localDate(start, timezone);
      const [s, e] = localDayBounds(day, timezone);
      return { row: r, start: s, end: e, day };
    });
    // One read covers the group; neighbours beyond the edges carry the crossing intervals.
    const from = new Date(Math.min(...bounds.map((b) => b.start)) - maxGapMs - HOUR_MS * 24);
    const to = new Date(Math.max(...bounds.map((b) => b.end)) + maxGapMs);
    const points = await loadPoints(hub, seriesId, from, to);
    for (const b of bounds) {
      const stats = computeBucket(
        points,
        b.start,
        b.end,
        kind,
        kind === 'energy' ? Number.POSITIVE_INFINITY : maxGapMs,
      );
      await hub.db.transaction().execute(async (trx) => {
        if (resolution === 'hour') {
          if (stats) {
            await trx
              .insertInto('rollup_hourly')
              .values({ series_id: seriesId, bucket: new Date(b.start), ...columns(stats) })
              .onConflict((oc) => oc.columns(['series_id', 'bucket']).doUpdateSet(columns(stats)))
              .execute();
          } else {
            await trx
              .deleteFrom('rollup_hourly')
              .where('series_id', '=', seriesId)
              .where('bucket', '=', new Date(b.start))
              .execute();
          }
        } else if (stats) {
          const hours = (b.end - b.start) / HOUR_MS;
          await trx
            .insertInto('rollup_daily')
            .values({ series_id: seriesId, day: b.day, bucket: new Date(b.start), hours, ...columns(stats) })
            .onConflict((oc) =>
              oc
                .columns(['series_id', 'day'])
                .doUpdateSet({ bucket: new Date(b.start), hours, ...columns(stats) }),
            )
            .execute();
        } else {
          await trx
            .deleteFrom('rollup_daily')
            .where('series_id', '=', seriesId)
            .where('day', '=', b.day)
            .execute();
        }
        // Only if nobody re-marked it meanwhile (see markDirty in ingest).
        await trx
          .deleteFrom('rollup_dirty')
          .where('series_id', '=', seriesId)
          .where('resolution', '=', resolution)
          .where('bucket', '=', b.row.bucket)
          .where('generation', '=', b.row.generation)
          .execute();
      });
    }
  }
  return rows.length;
}

async function loadPoints(hub: HubContext, seriesId: number, from: Date, to: Date): Promise<Point[]> {
  const rows = await hub.db
    .selectFrom('samples')
    .select(['ts', 'value'])
    .where('series_id', '=', seriesId)
    .where('ts', '>=', from)
    .where('ts', '<', to)
    .orderBy('ts')
    .execute();
  return rows.map((r) => ({ ts: r.ts.getTime(), value: r.value }));
}

function columns(s: BucketStats) {
  return {
    count: s.count,
    sum: s.sum,
    min: s.min,
    max: s.max,
    first: s.first,
    last: s.last,
    first_ts: new Date(s.firstTs),
    last_ts: new Date(s.lastTs),
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
