// Computes and stores one site day from raw samples, costs it against the tariff version valid
// that day, and reconciles it with what the site's devices reported for the same day. This is the
// system's work (hub.db, no tenant); SQL is in analytics.repository.ts.
import type { HubContext } from '../context.ts';
import { dayCost, type TariffDefinition } from '../tariffs/tariff-cost.ts';
import { tariffForDay } from '../tariffs/tariffs.repository.ts';
import { addDays, localDayBounds } from '../time/zoned.ts';
import {
  clearDirty,
  closingLedger,
  type DayInsert,
  dailyReports,
  dirtyDays,
  hasDayWork,
  isDayStored,
  markDirty,
  reportedAfterSummary,
  seriesSamples,
  siteSeries,
  siteTimezone,
  storedDayDates,
  upsertDay,
  upsertReconciliation,
} from './analytics.repository.ts';
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
  const series = await siteSeries(hub.db, siteId, FLOW_METRICS);
  if (series.length === 0) return [];
  const rows = await seriesSamples(
    hub.db,
    series.map((s) => s.id),
    from,
    to,
  );
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
  const timezone = await siteTimezone(hub.db, siteId);
  if (timezone === undefined) throw new Error(`site ${siteId} not found`);
  const [start, end] = localDayBounds(day, timezone);
  const series = await loadSeries(hub, siteId, start - MARGIN_MS, end + MARGIN_MS);
  const previous = await closingLedger(hub.db, siteId, addDays(day, -1));
  const opening: BatteryLedger | undefined = previous
    ? { solarWh: previous.battery_solar_wh, gridWh: previous.battery_grid_wh }
    : undefined;
  const summary = computeDay({ start, end, series, openingBattery: opening });
  const tariff = await tariffForDay(hub.db, siteId, day);
  const cost = tariff
    ? {
        ...dayCost(tariff.definition as TariffDefinition, summary.slots, timezone),
        currency: tariff.definition.currency as string,
      }
    : null;
  const row: DayInsert = {
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
  const before = await closingLedger(hub.db, siteId, day);
  await upsertDay(hub.db, row);
  // The closing battery ledger opens the next day: if it moved, a stored next day is stale.
  if (
    before &&
    (Math.abs(before.battery_solar_wh - row.battery_solar_wh) > 1 ||
      Math.abs(before.battery_grid_wh - row.battery_grid_wh) > 1)
  ) {
    const next = addDays(day, 1);
    if (await isDayStored(hub.db, siteId, next)) await markDays(hub, siteId, [next]);
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
  const reports = await dailyReports(hub.db, siteId, day);
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
      await upsertReconciliation(hub.db, {
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
      });
    }
  }
  return flagged;
}

/** Queues the local days of a site touched by [fromMs, toMs] for recomputation. */
export async function markDays(hub: HubContext, siteId: string, days: string[]): Promise<void> {
  if (days.length === 0) return;
  await markDirty(hub.db, siteId, days);
}

/** Queues the stored days of a site from `from` on (before `before` when given), e.g. to re-price them. */
export async function markStoredDays(
  hub: HubContext,
  siteId: string,
  from: string,
  before?: string,
): Promise<void> {
  await markDays(hub, siteId, await storedDayDates(hub.db, siteId, from, before));
}

/** Recomputes queued days, oldest first (a day's battery ledger opens the next). */
export async function processDirtyDays(hub: HubContext, limit = 200): Promise<number> {
  await markNewlyReportedDays(hub);
  let done = 0;
  // A recompute can mark the next day (battery ledger carried over); a few rounds settle that.
  for (let round = 0; round < 5 && done < limit; round++) {
    const rows = await dirtyDays(hub.db, limit - done);
    if (rows.length === 0) break;
    for (const r of rows) {
      await recomputeSiteDay(hub, r.site_id, r.day);
      // Only forget the mark if nothing re-marked the day while it was being computed.
      await clearDirty(hub.db, r.site_id, r.day, r.marked_at);
    }
    done += rows.length;
  }
  return done;
}

/** processDirtyDays for a read path: a single cheap query when there is nothing to do (the usual case). */
export async function processDirtyDaysOnRead(hub: HubContext): Promise<number> {
  if (!(await hasDayWork(hub.db))) return 0;
  return processDirtyDays(hub);
}

/** Days with a device report newer than the stored summary are re-reconciled (ingest has no event for reports). */
async function markNewlyReportedDays(hub: HubContext): Promise<void> {
  const rows = await reportedAfterSummary(hub.db);
  const bySite = new Map<string, string[]>();
  for (const r of rows) bySite.set(r.site_id, [...(bySite.get(r.site_id) ?? []), r.day]);
  for (const [siteId, days] of bySite) await markDays(hub, siteId, days);
}
