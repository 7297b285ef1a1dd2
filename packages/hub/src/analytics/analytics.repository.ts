// The only place analytics SQL lives: stored site days, the recompute queue, reconciliation, the
// fleet totals' site lists and the completeness counts. Callers pass the Kysely handle: a tenant
// transaction (withTenant, so row-level security applies) for what users read, hub.db for the
// system's own recomputation.
import { type Insertable, type Kysely, sql } from 'kysely';
import type { DB } from '../storage/schema.ts';
import type { SiteDailyTable } from './analytics.tables.ts';
import './analytics.tables.ts';
import '../ingest/ingest.tables.ts';

/** A stored site day: `day` as text (no time-zone shift in pg), computed_at as read. */
export type DayRow = Omit<SiteDailyTable, 'day' | 'computed_at'> & { day: string; computed_at: Date };
/** What a recompute writes. */
export type DayInsert = Insertable<SiteDailyTable>;

// ---- sites -------------------------------------------------------------------------------------

export async function siteTimezone(db: Kysely<DB>, siteId: string): Promise<string | undefined> {
  const site = await db.selectFrom('sites').select('timezone').where('id', '=', siteId).executeTakeFirst();
  return site?.timezone;
}

/** What the analytics need of a site: its zone and its grid intensity (g CO₂/kWh, null = not set). */
export async function siteAnalyticsSettings(
  db: Kysely<DB>,
  siteId: string,
): Promise<{ timezone: string; gridIntensity: number | null } | undefined> {
  return db
    .selectFrom('sites')
    .select(['timezone', 'grid_intensity_g_per_kwh as gridIntensity'])
    .where('id', '=', siteId)
    .executeTakeFirst();
}

/** The sites of an organisation (as installer or owner), limited to `scope` unless 'all'. */
export async function orgSites(
  db: Kysely<DB>,
  org: string,
  scope: 'all' | string[],
): Promise<{ id: string; status: string; gridIntensity: number | null }[]> {
  let q = db
    .selectFrom('sites')
    .select(['id', 'status', 'grid_intensity_g_per_kwh as gridIntensity'])
    .where((eb) => eb.or([eb('installer_org_id', '=', org), eb('org_id', '=', org)]));
  if (scope !== 'all') q = q.where('id', 'in', scope);
  return q.execute();
}

/** Sites among `ids` with at least one online node. */
export async function sitesWithOnlineNodes(db: Kysely<DB>, ids: string[]): Promise<string[]> {
  const rows = await db
    .selectFrom('nodes')
    .select('site_id')
    .distinct()
    .where('site_id', 'in', ids)
    .where('status', '=', 'online')
    .execute();
  return rows.map((r) => r.site_id);
}

/** Sites among `ids` with an alert that is not resolved. */
export async function sitesWithOpenAlerts(db: Kysely<DB>, ids: string[]): Promise<string[]> {
  const { rows } = await sql<{ site_id: string }>`
    SELECT DISTINCT site_id FROM alerts WHERE state <> 'resolved' AND site_id IN (${sql.join(ids)})`.execute(
    db,
  );
  return rows.map((r) => r.site_id);
}

// ---- stored days -------------------------------------------------------------------------------

export async function storedDays(
  db: Kysely<DB>,
  siteId: string,
  from: string,
  to: string,
): Promise<DayRow[]> {
  return storedDaysOfSites(db, [siteId], from, to);
}

export async function storedDaysOfSites(
  db: Kysely<DB>,
  siteIds: string[],
  from: string,
  to: string,
): Promise<DayRow[]> {
  const rows = await db
    .selectFrom('site_daily')
    .selectAll()
    .select(sql<string>`day::text`.as('day'))
    .where('site_id', 'in', siteIds)
    .where('day', '>=', from)
    .where('day', '<=', to)
    .orderBy('site_daily.day')
    .execute();
  // The text form of day (selected last) wins over the date column: no time-zone shift in pg.
  return rows as unknown as DayRow[];
}

/** The stored days of a site from `from` on, before `before` when given. */
export async function storedDayDates(
  db: Kysely<DB>,
  siteId: string,
  from: string,
  before?: string,
): Promise<string[]> {
  let q = db
    .selectFrom('site_daily')
    .select(sql<string>`day::text`.as('day'))
    .where('site_id', '=', siteId)
    .where('day', '>=', from);
  if (before) q = q.where('day', '<', before);
  return (await q.execute()).map((r) => r.day);
}

/** The battery ledger a stored day closed with (the next day's opening). */
export async function closingLedger(
  db: Kysely<DB>,
  siteId: string,
  day: string,
): Promise<{ battery_solar_wh: number; battery_grid_wh: number } | undefined> {
  return db
    .selectFrom('site_daily')
    .select(['battery_solar_wh', 'battery_grid_wh'])
    .where('site_id', '=', siteId)
    .where('day', '=', day)
    .executeTakeFirst();
}

export async function isDayStored(db: Kysely<DB>, siteId: string, day: string): Promise<boolean> {
  const r = await db
    .selectFrom('site_daily')
    .select('site_id')
    .where('site_id', '=', siteId)
    .where('day', '=', day)
    .executeTakeFirst();
  return r !== undefined;
}

export async function upsertDay(db: Kysely<DB>, row: DayInsert): Promise<void> {
  const { site_id: _s, day: _d, ...update } = row;
  await db
    .insertInto('site_daily')
    .values(row)
    .onConflict((oc) => oc.columns(['site_id', 'day']).doUpdateSet(update))
    .execute();
}

// ---- samples for a recompute -------------------------------------------------------------------

export async function siteSeries(
  db: Kysely<DB>,
  siteId: string,
  metrics: string[],
): Promise<{ id: number; node_id: string; metric: string }[]> {
  return db
    .selectFrom('series')
    .select(['id', 'node_id', 'metric'])
    .where('site_id', '=', siteId)
    .where('metric', 'in', metrics)
    .execute();
}

/** Samples of the series in [from, to), ordered by series and time; ts as epoch ms. */
export async function seriesSamples(
  db: Kysely<DB>,
  seriesIds: number[],
  from: number,
  to: number,
): Promise<{ series_id: number; ts_ms: number; value: number }[]> {
  return (
    db
      .selectFrom('samples')
      // Epoch milliseconds as a number: parsing timestamp text into Dates was most of the cost.
      .select(['series_id', sql<number>`(extract(epoch from ts) * 1000)::float8`.as('ts_ms'), 'value'])
      .where('series_id', 'in', seriesIds)
      .where('ts', '>=', new Date(from))
      .where('ts', '<', new Date(to))
      .orderBy('series_id')
      .orderBy('ts')
      .execute()
  );
}

// ---- reconciliation ----------------------------------------------------------------------------

export async function dailyReports(
  db: Kysely<DB>,
  siteId: string,
  day: string,
): Promise<{ node_id: string; equipment: string; values: unknown }[]> {
  return db
    .selectFrom('daily_reports')
    .select(['node_id', 'equipment', 'values'])
    .where('site_id', '=', siteId)
    .where('day', '=', day)
    .execute();
}

export async function upsertReconciliation(
  db: Kysely<DB>,
  row: {
    site_id: string;
    day: string;
    node_id: string;
    equipment: string;
    metric: string;
    reported_wh: number;
    computed_wh: number;
    diff_pct: number;
    flagged: boolean;
    checked_at: Date;
  },
): Promise<void> {
  await db
    .insertInto('daily_reconciliation')
    .values(row)
    .onConflict((oc) =>
      oc.columns(['site_id', 'day', 'node_id', 'equipment', 'metric']).doUpdateSet({
        reported_wh: row.reported_wh,
        computed_wh: row.computed_wh,
        diff_pct: row.diff_pct,
        flagged: row.flagged,
        checked_at: new Date(),
      }),
    )
    .execute();
}

export async function reconciliationRows(db: Kysely<DB>, siteId: string, from: string, to: string) {
  return db
    .selectFrom('daily_reconciliation')
    .select([
      sql<string>`day::text`.as('day'),
      'node_id as nodeId',
      'equipment',
      'metric',
      'reported_wh as reportedWh',
      'computed_wh as computedWh',
      'diff_pct as diffPct',
      'flagged',
    ])
    .where('site_id', '=', siteId)
    .where('day', '>=', from)
    .where('day', '<=', to)
    .orderBy('day')
    .orderBy('metric')
    .execute();
}

// ---- the recompute queue -----------------------------------------------------------------------

export async function markDirty(db: Kysely<DB>, siteId: string, days: string[]): Promise<void> {
  await db
    .insertInto('site_daily_dirty')
    .values(days.map((day) => ({ site_id: siteId, day, marked_at: new Date() })))
    .onConflict((oc) => oc.columns(['site_id', 'day']).doUpdateSet({ marked_at: new Date() }))
    .execute();
}

/** Queued days, oldest first. */
export async function dirtyDays(
  db: Kysely<DB>,
  limit: number,
): Promise<{ site_id: string; day: string; marked_at: Date }[]> {
  return db
    .selectFrom('site_daily_dirty')
    .select(['site_id', sql<string>`day::text`.as('day'), 'marked_at'])
    .orderBy('day')
    .limit(limit)
    .execute();
}

/** Forgets a queued day unless it was marked again after `markedAt`. */
export async function clearDirty(db: Kysely<DB>, siteId: string, day: string, markedAt: Date): Promise<void> {
  await db
    .deleteFrom('site_daily_dirty')
    .where('site_id', '=', siteId)
    .where('day', '=', day)
    .where('marked_at', '<=', markedAt)
    .execute();
}

/**
 * Whether processDirtyDays has anything to do: a queued day, or a device report newer than its
 * day's summary (reportedAfterSummary). One round trip instead of its two on every read.
 */
export async function hasDayWork(db: Kysely<DB>): Promise<boolean> {
  const { rows } = await sql<{ work: boolean }>`
    SELECT EXISTS (SELECT 1 FROM site_daily_dirty)
      OR EXISTS (
        SELECT 1 FROM daily_reports r
        LEFT JOIN site_daily d ON d.site_id = r.site_id AND d.day = r.day
        WHERE d.site_id IS NULL OR r.received_at > d.computed_at) AS work`.execute(db);
  return rows[0]?.work === true;
}

/** Days with a device report newer than their stored summary (or none stored yet). */
export async function reportedAfterSummary(db: Kysely<DB>): Promise<{ site_id: string; day: string }[]> {
  const { rows } = await sql<{ site_id: string; day: string }>`
    SELECT DISTINCT r.site_id, r.day::text AS day
    FROM daily_reports r
    LEFT JOIN site_daily d ON d.site_id = r.site_id AND d.day = r.day
    WHERE d.site_id IS NULL OR r.received_at > d.computed_at
    LIMIT 1000`.execute(db);
  return rows;
}

// ---- completeness ------------------------------------------------------------------------------

export async function nodeIntervalAndZone(
  db: Kysely<DB>,
  nodeId: string,
): Promise<{ sample_interval_s: number | null; timezone: string } | undefined> {
  return db
    .selectFrom('nodes')
    .innerJoin('sites', 'sites.id', 'nodes.site_id')
    .select(['nodes.sample_interval_s', 'sites.timezone'])
    .where('nodes.id', '=', nodeId)
    .executeTakeFirst();
}

/** The intervals of [start, end) (slot numbers from start) in which the node sent any sample. */
export async function occupiedSlots(
  db: Kysely<DB>,
  nodeId: string,
  start: number,
  end: number,
  intervalMs: number,
): Promise<number[]> {
  const { rows } = await sql<{ slot: number }>`
    SELECT DISTINCT floor((extract(epoch FROM s.ts) * 1000 - ${start}) / ${intervalMs})::int AS slot
    FROM samples s JOIN series r ON r.id = s.series_id
    WHERE r.node_id = ${nodeId} AND s.ts >= ${new Date(start)} AND s.ts < ${new Date(end)}
    ORDER BY 1`.execute(db);
  return rows.map((r) => Number(r.slot));
}

/**
 * Per series of the node the median spacing of consecutive samples in [start, end), then the
 * shortest of those, in seconds (unrounded); null without two samples in any series.
 */
export async function medianSpacingS(
  db: Kysely<DB>,
  nodeId: string,
  start: number,
  end: number,
): Promise<number | null> {
  const { rows } = await sql<{ s: number | null }>`
    SELECT min(median_s) AS s FROM (
      SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY d) AS median_s
      FROM (
        SELECT s.series_id,
          extract(epoch FROM s.ts - lag(s.ts) OVER (PARTITION BY s.series_id ORDER BY s.ts)) AS d
        FROM samples s JOIN series r ON r.id = s.series_id
        WHERE r.node_id = ${nodeId} AND s.ts >= ${new Date(start)} AND s.ts < ${new Date(end)}
      ) deltas
      WHERE d > 0
      GROUP BY series_id
    ) per_series`.execute(db);
  const s = rows[0]?.s;
  return s === null || s === undefined ? null : Number(s);
}

/**
 * The node's still-open batch sequence holes (ingest/batch-seq.ts) whose revealing batch began in
 * [start, end): the lost batches held readings from before that moment, so that is the day they
 * are shown on (detection time when the sample time is unknown).
 */
export async function lostBatchRanges(
  db: Kysely<DB>,
  nodeId: string,
  start: number,
  end: number,
): Promise<{ from_seq: string; to_seq: string; next_sample_at: Date | null; detected_at: Date }[]> {
  const { rows } = await sql<{
    from_seq: string;
    to_seq: string;
    next_sample_at: Date | null;
    detected_at: Date;
  }>`
    SELECT from_seq, to_seq, next_sample_at, detected_at FROM batch_seq_gaps
    WHERE node_id = ${nodeId}
      AND coalesce(next_sample_at, detected_at) >= ${new Date(start)}
      AND coalesce(next_sample_at, detected_at) < ${new Date(end)}
    ORDER BY from_seq`.execute(db);
  return rows;
}

// ---- data quality ------------------------------------------------------------------------------

/** The node's aggregated data-quality findings, most recently added to first. */
export async function dataQualityFindings(db: Kysely<DB>, nodeId: string) {
  return db
    .selectFrom('data_quality_findings')
    .selectAll()
    .where('node_id', '=', nodeId)
    .orderBy('updated_at', 'desc')
    .orderBy('id')
    .execute();
}

export async function nodeExists(db: Kysely<DB>, nodeId: string): Promise<boolean> {
  return (
    (await db.selectFrom('nodes').select('id').where('id', '=', nodeId).executeTakeFirst()) !== undefined
  );
}
