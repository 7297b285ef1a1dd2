// Computes and stores one site day from raw samples, costs it against the tariff version valid
// that day, and reconciles it with what the site's devices reported for the same day.
import { sql } from 'kysely';
import type { HubContext } from '../context.ts';
import { dayCost, type TariffDefinition } from '../tariffs/tariff-cost.ts';
import { tariffForDay } from '../tariffs/tariffs.repository.ts';
import { addDays, localDayBounds } from '../time/zoned.ts';
import './analytics.schema.ts';
import {
  type BatteryLedger,
  computeDay,
  type DaySummary,
  type Flow,
  type SeriesInput,
} from './energy-day.ts';

const FLOW_METRICS = [
  'solar_w',
  'load_w',
  'grid_w',
  'battery_w',
  'solar_wh',
  'load_wh',
  'grid_import_wh',
  'grid_export_wh',
  'battery_charge_wh',
  'battery_discharge_wh',
];
// Samples either side of the day: a power sample before midnight holds into the day, and an
// energy counter needs its readings around midnight to split the energy between the two days.
const MARGIN_MS = 6 * 3_600_000;
/** Device-reported and hub-computed figures further apart than this are flagged. */
export const RECONCILE_TOLERANCE_PCT = 2;

const REPORT_KEYS: Record<string, Flow> = {
  solar_kwh: 'solar',
  load_kwh: 'load',
  grid_import_kwh: 'import',
  grid_export_kwh: 'export',
  battery_charge_kwh: 'charge',
  battery_discharge_kwh: 'discharge',
};

interface LoadedSeries extends SeriesInput {
  nodeId: string;
}

async function loadSeries(
  hub: HubContext,
  siteId: string,
  from: number,
  to: number,
): Promise<LoadedSeries[]> {
  const series = await hub.db
    .selectFrom('series')
    .select(['id', 'node_id', 'metric'])
    .where('site_id', '=', siteId)
    .where('metric', 'in', FLOW_METRICS)
    .execute();
  if (series.length === 0) return [];
  const rows = await hub.db
    .selectFrom('samples')
    // Epoch milliseconds as a number: parsing timestamp text into Dates was most of the cost.
    .select(['series_id', sql<number>`(extract(epoch from ts) * 1000)::float8`.as('ts_ms'), 'value'])
    .where(
      'series_id',
      'in',
      series.map((s) => s.id),
    )
    .where('ts', '>=', new Date(from))
    .where('ts', '<', new Date(to))
    .orderBy('series_id')
    .orderBy('ts')
    .execute();
  const byId = new Map<number, LoadedSeries>(
    series.map((s) => [s.id, { nodeId: s.node_id, metric: s.metric, samples: [] }]),
  );
  for (const r of rows) byId.get(r.series_id)!.samples.push({ ts: Number(r.ts_ms), value: r.value });
  return [...byId.values()];
}

export interface StoredDay {
  summary: DaySummary;
  cost: { cost: number; baselineCost: number; savings: number; currency: string } | null;
  flagged: number;
}

export async function recomputeSiteDay(hub: HubContext, siteId: string, day: string): Promise<StoredDay> {
  const site = await hub.db
    .selectFrom('sites')
    .select(['timezone'])
    .where('id', '=', siteId)
    .executeTakeFirstOrThrow();
  const [start, end] = localDayBounds(day, site.timezone);
  const series = await loadSeries(hub, siteId, start - MARGIN_MS, end + MARGIN_MS);
  const previous = await hub.db
    .selectFrom('site_daily')
    .select(['battery_solar_wh', 'battery_grid_wh'])
    .where('site_id', '=', siteId)
    .where('day', '=', addDays(day, -1))
    .executeTakeFirst();
  const opening: BatteryLedger | undefined = previous
    ? { solarWh: previous.battery_solar_wh, gridWh: previous.battery_grid_wh }
    : undefined;
  const summary = computeDay({ start, end, series, openingBattery: opening });
  const tariff = await tariffForDay(hub.db, siteId, day);
  const cost = tariff
    ? {
        ...dayCost(tariff.definition as TariffDefinition, summary.slots, site.timezone),
        currency: tariff.definition.currency as string,
      }
    : null;
  const row = {
    site_id: siteId,
    day,
    solar_wh: summary.solarWh,
    load_wh: summary.loadWh,
    import_wh: summary.importWh,
    export_wh: summary.exportWh,
    charge_wh: summary.chargeWh,
    discharge_wh: summary.dischargeWh,
    solar_to_load_wh: summary.solarToLoadWh,
    battery_solar_to_load_wh: summary.batterySolarToLoadWh,
    solar_export_wh: summary.solarExportWh,
    self_consumption_pct: summary.selfConsumptionPct,
    self_sufficiency_pct: summary.selfSufficiencyPct,
    peak_demand_kw: summary.peakDemandKw,
    peak_load_kw: summary.peakLoadKw,
    coverage: summary.coverage,
    counter_resets: summary.counterResets,
    battery_solar_wh: summary.closingBattery.solarWh,
    battery_grid_wh: summary.closingBattery.gridWh,
    tariff_version_id: tariff?.id ?? null,
    currency: cost?.currency ?? null,
    cost: cost?.cost ?? null,
    baseline_cost: cost?.baselineCost ?? null,
    savings: cost?.savings ?? null,
    computed_at: new Date(),
  };
  const before = await hub.db
    .selectFrom('site_daily')
    .select(['battery_solar_wh', 'battery_grid_wh'])
    .where('site_id', '=', siteId)
    .where('day', '=', day)
    .executeTakeFirst();
  const { site_id: _s, day: _d, ...update } = row;
  await hub.db
    .insertInto('site_daily')
    .values(row)
    .onConflict((oc) => oc.columns(['site_id', 'day']).doUpdateSet(update))
    .execute();
  // The closing battery ledger opens the next day: if it moved, a stored next day is stale.
  if (
    before &&
    (Math.abs(before.battery_solar_wh - row.battery_solar_wh) > 1 ||
      Math.abs(before.battery_grid_wh - row.battery_grid_wh) > 1)
  ) {
    const next = addDays(day, 1);
    const stored = await hub.db
      .selectFrom('site_daily')
      .select('site_id')
      .where('site_id', '=', siteId)
      .where('day', '=', next)
      .executeTakeFirst();
    if (stored) await markDays(hub, siteId, [next]);
  }
  const flagged = await reconcile(hub, siteId, day, start, end, series, opening);
  return { summary, cost, flagged };
}

/** Compares each device report with the hub's figure for the same node; returns how many were flagged. */
async function reconcile(
  hub: HubContext,
  siteId: string,
  day: string,
  start: number,
  end: number,
  series: LoadedSeries[],
  opening: BatteryLedger | undefined,
): Promise<number> {
  const reports = await hub.db
    .selectFrom('daily_reports')
    .select(['node_id', 'equipment', 'values'])
    .where('site_id', '=', siteId)
    .where('day', '=', day)
    .execute();
  let flagged = 0;
  const perNode = new Map<string, DaySummary>();
  for (const report of reports) {
    let computed = perNode.get(report.node_id);
    if (!computed) {
      computed = computeDay({
        start,
        end,
        series: series.filter((s) => s.nodeId === report.node_id),
        openingBattery: opening,
      });
      perNode.set(report.node_id, computed);
    }
    const values = (typeof report.values === 'string' ? JSON.parse(report.values) : report.values) as Record<
      string,
      number
    >;
    for (const [key, flow] of Object.entries(REPORT_KEYS)) {
      const reportedKwh = values[key];
      if (typeof reportedKwh !== 'number') continue;
      const reportedWh = reportedKwh * 1000;
      const computedWh = computed.slots.flows[flow].reduce((a, b) => a + b, 0);
      const base = Math.max(Math.abs(reportedWh), Math.abs(computedWh));
      const diffPct = base > 0 ? (Math.abs(reportedWh - computedWh) / base) * 100 : 0;
      const isFlagged = diffPct > RECONCILE_TOLERANCE_PCT;
      if (isFlagged) flagged++;
      const row = {
        site_id: siteId,
        day,
        node_id: report.node_id,
        equipment: report.equipment,
        metric: key,
        reported_wh: reportedWh,
        computed_wh: computedWh,
        diff_pct: diffPct,
        flagged: isFlagged,
        checked_at: new Date(),
      };
      await hub.db
        .insertInto('daily_reconciliation')
        .values(row)
        .onConflict((oc) =>
          oc.columns(['site_id', 'day', 'node_id', 'equipment', 'metric']).doUpdateSet({
            reported_wh: reportedWh,
            computed_wh: computedWh,
            diff_pct: diffPct,
            flagged: isFlagged,
            checked_at: new Date(),
          }),
        )
        .execute();
    }
  }
  return flagged;
}

/** Queues the local days of a site touched by [fromMs, toMs] for recomputation. */
export async function markDays(hub: HubContext, siteId: string, days: string[]): Promise<void> {
  if (days.length === 0) return;
  await hub.db
    .insertInto('site_daily_dirty')
    .values(days.map((day) => ({ site_id: siteId, day, marked_at: new Date() })))
    .onConflict((oc) => oc.columns(['site_id', 'day']).doUpdateSet({ marked_at: new Date() }))
    .execute();
}

/** Recomputes queued days, oldest first (a day's battery ledger opens the next). */
export async function processDirtyDays(hub: HubContext, limit = 200): Promise<number> {
  await markNewlyReportedDays(hub);
  let done = 0;
  // A recompute can mark the next day (battery ledger carried over); a few rounds settle that.
  for (let round = 0; round < 5 && done < limit; round++) {
    const rows = await hub.db
      .selectFrom('site_daily_dirty')
      .select(['site_id', sql<string>`day::text`.as('day'), 'marked_at'])
      .orderBy('day')
      .limit(limit - done)
      .execute();
    if (rows.length === 0) break;
    for (const r of rows) {
      await recomputeSiteDay(hub, r.site_id, r.day);
      // Only forget the mark if nothing re-marked the day while it was being computed.
      await hub.db
        .deleteFrom('site_daily_dirty')
        .where('site_id', '=', r.site_id)
        .where('day', '=', r.day)
        .where('marked_at', '<=', r.marked_at)
        .execute();
    }
    done += rows.length;
  }
  return done;
}

/** Days with a device report newer than the stored summary are re-reconciled (ingest has no event for reports). */
async function markNewlyReportedDays(hub: HubContext): Promise<void> {
  const { rows } = await sql<{ site_id: string; day: string }>`
    SELECT DISTINCT r.site_id, r.day::text AS day
    FROM daily_reports r
    LEFT JOIN site_daily d ON d.site_id = r.site_id AND d.day = r.day
    WHERE d.site_id IS NULL OR r.received_at > d.computed_at
    LIMIT 1000`.execute(hub.db);
  const bySite = new Map<string, string[]>();
  for (const r of rows) bySite.set(r.site_id, [...(bySite.get(r.site_id) ?? []), r.day]);
  for (const [siteId, days] of bySite) await markDays(hub, siteId, days);
}
