// The read side of analytics as users see it: daily and monthly site summaries, period comparison,
// installer fleet totals, data completeness and reconciliation. Every read is scoped by the
// caller's grants in code first and is read as the tenant (withTenant: row-level security as the
// second fence); computing missing days is the system's job (site-day.service.ts). Routes stay
// thin; SQL is in analytics.repository.ts.
import { contractById } from '@wattfleet/devices';
import { metricDefinition, WattfleetError } from '@wattfleet/protocol';
import type { Kysely } from 'kysely';
import { appSiteScopeResolved, assertNodeAccess, assertSiteAccess } from '../auth/access.ts';
import { type Actor, isFleetAdmin } from '../auth/actor.ts';
import type { HubContext } from '../context.ts';
import { withTenantRead } from '../identity/tenant.ts';
import type { DB } from '../storage/schema.ts';
import { type TariffVersion, tariffsUpTo } from '../tariffs/tariffs.repository.ts';
import { addDays, localDate } from '../time/zoned.ts';
import {
  type DayRow,
  dataQualityFindings,
  nodeExists,
  orgSites,
  reconciliationRows,
  siteAnalyticsSettings,
  sitesWithOnlineNodes,
  sitesWithOpenAlerts,
  siteTimezone,
  storedDays,
  storedDaysOfSites,
} from './analytics.repository.ts';
import type {
  Comparison,
  DataQualityReport,
  Day,
  FleetQuery,
  FleetTotals,
  Month,
  NodeDayCompleteness,
  Period,
  ReconciliationList,
} from './analytics.schema.ts';
import { co2AvoidedKg } from './co2.ts';
import { nodeCompleteness } from './completeness.service.ts';
import { aggregateDays } from './energy-day.ts';
import { energyFlows } from './energy-flows.ts';
import { processDirtyDaysOnRead, recomputeSiteDay } from './site-day.service.ts';

const MAX_DAYS = 366;
/** Missing days are computed on read only for short ranges; longer ranges rely on the job. */
const COMPUTE_ON_READ_DAYS = 62;
/** Completeness is counted per day on read: at most this many days per request. */
const MAX_COMPLETENESS_DAYS = 62;

const kwh = (wh: number) => Math.round(wh) / 1000;

function dayCount(from: string, to: string): number {
  return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000) + 1;
}

/** The number of days of [from, to]; a reversed or too long range is a validation error. */
function checkRange(from: string, to: string): number {
  const n = dayCount(from, to);
  if (!(n >= 1 && n <= MAX_DAYS)) {
    throw new WattfleetError('WF_VALIDATION', undefined, [
      { path: '/querystring', message: `from must be on or before to, at most ${MAX_DAYS} days` },
    ]);
  }
  return n;
}

function nextMonth(m: string): string {
  const y = Number(m.slice(0, 4));
  const mo = Number(m.slice(5, 7));
  return mo === 12 ? `${y + 1}-01` : `${y}-${String(mo + 1).padStart(2, '0')}`;
}

const lastDayOfMonth = (m: string) => addDays(`${nextMonth(m)}-01`, -1);

/** The grid intensity (g CO₂/kWh) of a site, null when not set: CO₂ figures are then null. */
type IntensityOf = (siteId: string) => number | null;

function dayView(r: DayRow, intensity: number | null): Day {
  return {
    day: r.day,
    solarKwh: kwh(r.solar_wh),
    loadKwh: kwh(r.load_wh),
    importKwh: kwh(r.import_wh),
    exportKwh: kwh(r.export_wh),
    batteryChargeKwh: kwh(r.charge_wh),
    batteryDischargeKwh: kwh(r.discharge_wh),
    selfConsumptionPct: r.self_consumption_pct,
    selfSufficiencyPct: r.self_sufficiency_pct,
    peakDemandKw: r.peak_demand_kw,
    coverage: r.coverage,
    counterResets: r.counter_resets,
    cost: r.cost,
    baselineCost: r.baseline_cost,
    savings: r.savings,
    currency: r.currency,
    co2AvoidedKg: co2AvoidedKg(
      {
        solarToLoadWh: r.solar_to_load_wh,
        batterySolarToLoadWh: r.battery_solar_to_load_wh,
        solarExportWh: r.solar_export_wh,
      },
      intensity,
    ),
    computedAt: new Date(r.computed_at).toISOString(),
  };
}

/**
 * CO₂ avoided over rows of one or more sites (co2.ts): each site's solar at its own intensity.
 * Sites without an intensity add nothing; null when none of them has one (one site: not set).
 */
function periodCo2(rows: DayRow[], intensityOf: IntensityOf, siteIds: string[]): number | null {
  let total: number | null = null;
  for (const id of siteIds) {
    const own = rows.filter((r) => r.site_id === id);
    const kg = co2AvoidedKg(
      {
        solarToLoadWh: own.reduce((s, r) => s + r.solar_to_load_wh, 0),
        batterySolarToLoadWh: own.reduce((s, r) => s + r.battery_solar_to_load_wh, 0),
        solarExportWh: own.reduce((s, r) => s + r.solar_export_wh, 0),
      },
      intensityOf(id),
    );
    if (kg !== null) total = Math.round(((total ?? 0) + kg) * 1000) / 1000;
  }
  return total;
}

function periodView(rows: DayRow[], intensityOf: IntensityOf, siteIds: string[]): Period {
  const agg = aggregateDays(
    rows.map((r) => ({
      solarWh: r.solar_wh,
      loadWh: r.load_wh,
      importWh: r.import_wh,
      exportWh: r.export_wh,
      chargeWh: r.charge_wh,
      dischargeWh: r.discharge_wh,
      solarToLoadWh: r.solar_to_load_wh,
      batterySolarToLoadWh: r.battery_solar_to_load_wh,
      solarExportWh: r.solar_export_wh,
      peakDemandKw: r.peak_demand_kw,
    })),
  );
  const priced = rows.filter((r) => r.cost !== null);
  return {
    days: agg.days,
    // Days with any measurement: a month before the install is "no data", not 0.0 kWh.
    daysWithData: rows.filter((r) => r.coverage > 0).length,
    solarKwh: kwh(agg.solarWh),
    loadKwh: kwh(agg.loadWh),
    importKwh: kwh(agg.importWh),
    exportKwh: kwh(agg.exportWh),
    batteryChargeKwh: kwh(agg.chargeWh),
    batteryDischargeKwh: kwh(agg.dischargeWh),
    selfConsumptionPct: agg.selfConsumptionPct,
    selfSufficiencyPct: agg.selfSufficiencyPct,
    peakDemandKw: agg.peakDemandKw,
    cost: priced.length ? priced.reduce((s, r) => s + (r.cost ?? 0), 0) : null,
    baselineCost: priced.length ? priced.reduce((s, r) => s + (r.baseline_cost ?? 0), 0) : null,
    savings: priced.length ? priced.reduce((s, r) => s + (r.savings ?? 0), 0) : null,
    currency: priced[0]?.currency ?? null,
    co2AvoidedKg: periodCo2(rows, intensityOf, siteIds),
    peakLoadKw: rows.reduce<number | null>(
      (m, r) => (r.peak_load_kw === null ? m : Math.max(m ?? 0, r.peak_load_kw)),
      null,
    ),
    flows: energyFlows(agg),
  };
}

const pctChange = (now: number | null, before: number | null) =>
  now === null || before === null || before === 0 ? null : ((now - before) / Math.abs(before)) * 100;

function emptyFleet(q: FleetQuery): FleetTotals {
  return {
    from: q.from ?? null,
    to: q.to ?? null,
    sites: 0,
    activeSites: 0,
    alertingSites: 0,
    totals: periodView([], () => null, []),
  };
}

export class AnalyticsService {
  constructor(private readonly hub: HubContext) {}

  /**
   * Reads as the caller: the tenant's transaction, row-level security applies. `scope` is the
   * caller's read scope when this request resolved it already (not resolved again). On the read
   * replica when one is configured, unless `fresh`: this request computed days just before (on the
   * primary, the system's job) and must read them back where they were written.
   */
  private asCaller<T>(
    actor: Actor,
    fn: (db: Kysely<DB>) => Promise<T>,
    scope?: 'all' | string[],
    fresh = false,
  ): Promise<T> {
    return withTenantRead(this.hub, actor, fn, { resolved: scope, fresh });
  }

  /**
   * The caller may read the site (checked in code) and [from, to] is a valid range: its length,
   * and the read scope the check resolved. Every site route starts here.
   */
  private async openSiteRange(
    actor: Actor,
    siteId: string,
    from: string,
    to: string,
  ): Promise<{ n: number; scope: 'all' | string[] | undefined }> {
    const scope = await assertSiteAccess(this.hub, actor, siteId);
    return { n: checkRange(from, to), scope };
  }

  /**
   * Stored days of the range as the caller, days never computed (up to the site's today) computed
   * first for short ranges. A site hidden by row-level security answers 404 like a foreign one.
   */
  private async siteDays(
    actor: Actor,
    siteId: string,
    from: string,
    to: string,
    scope?: 'all' | string[],
    tariffsUpToDay?: string,
  ): Promise<{ rows: DayRow[]; intensity: number | null; tariffs: TariffVersion[] }> {
    const n = checkRange(from, to);
    // Writes (on the primary) when days are queued; then this request reads them there too.
    const fresh = (await processDirtyDaysOnRead(this.hub)) > 0;
    const first = await this.asCaller(
      actor,
      async (db) => {
        const site = await siteAnalyticsSettings(db, siteId);
        if (site === undefined) return undefined;
        const rows = await storedDays(db, siteId, from, to);
        // In the same tenant transaction (computing days below never changes a tariff).
        const tariffs = tariffsUpToDay === undefined ? [] : await tariffsUpTo(db, siteId, tariffsUpToDay);
        return { ...site, rows, tariffs };
      },
      scope,
      fresh,
    );
    if (!first) throw new WattfleetError('WF_NOT_FOUND', 'Site not found');
    const intensity = first.gridIntensity;
    const tariffs = first.tariffs;
    if (n > COMPUTE_ON_READ_DAYS) return { rows: first.rows, intensity, tariffs };
    const today = localDate(Date.now(), first.timezone);
    const have = new Set(first.rows.map((r) => r.day));
    let computed = false;
    for (let d = from; d <= to && d <= today; d = addDays(d, 1)) {
      if (!have.has(d)) {
        // Computing is the system's job; the answer is read again as the caller.
        await recomputeSiteDay(this.hub, siteId, d);
        computed = true;
      }
    }
    // Just written on the primary: read back there (the replica may not have them yet).
    const rows = computed
      ? await this.asCaller(actor, (db) => storedDays(db, siteId, from, to), scope, true)
      : first.rows;
    return { rows, intensity, tariffs };
  }

  /** The period view of one site's days. */
  private async sitePeriod(
    actor: Actor,
    siteId: string,
    from: string,
    to: string,
    scope?: 'all' | string[],
  ): Promise<Period> {
    const { rows, intensity } = await this.siteDays(actor, siteId, from, to, scope);
    return periodView(rows, () => intensity, [siteId]);
  }

  async daily(actor: Actor, siteId: string, from: string, to: string): Promise<Day[]> {
    const { scope } = await this.openSiteRange(actor, siteId, from, to);
    const { rows, intensity } = await this.siteDays(actor, siteId, from, to, scope);
    return rows.map((r) => dayView(r, intensity));
  }

  /** Months from..to; the demand charge is monthly: per kW of the month's highest 15-minute import. */
  async monthly(actor: Actor, siteId: string, from: string, to: string): Promise<Month[]> {
    const first = `${from}-01`;
    const last = lastDayOfMonth(to);
    const { scope } = await this.openSiteRange(actor, siteId, first, last);
    // With the days, every tariff version up to the range's last day; per month the one valid on
    // its last day (the latest valid_from on or before it), as tariffForDay picks it.
    const {
      rows,
      intensity,
      tariffs: versions,
    } = await this.siteDays(actor, siteId, first, last, scope, last);
    const months = new Map<string, DayRow[]>();
    for (let m = from; m <= to; m = nextMonth(m)) months.set(m, []);
    for (const r of rows) months.get(r.day.slice(0, 7))?.push(r);
    const rates = new Map<string, number | undefined>();
    for (const month of months.keys()) {
      const day = lastDayOfMonth(month);
      rates.set(month, versions.findLast((v) => v.validFrom <= day)?.definition.demandChargePerKw);
    }
    const out: Month[] = [];
    for (const [month, days] of months) {
      const view = periodView(days, () => intensity, [siteId]);
      const rate = rates.get(month);
      if (rate && view.cost !== null && view.baselineCost !== null) {
        view.cost += (view.peakDemandKw ?? 0) * rate;
        view.baselineCost += (view.peakLoadKw ?? 0) * rate;
        view.savings = view.baselineCost - view.cost;
      }
      out.push({ month, ...view });
    }
    return out;
  }

  /**
   * The range against the same number of days just before it, or against the range the caller
   * names (prevFrom/prevTo: the previous calendar month or year of the owner app, which need not
   * have as many days).
   */
  async comparison(
    actor: Actor,
    siteId: string,
    q: { from: string; to: string; prevFrom?: string; prevTo?: string },
  ): Promise<Comparison> {
    const { from, to } = q;
    const { n, scope } = await this.openSiteRange(actor, siteId, from, to);
    if ((q.prevFrom === undefined) !== (q.prevTo === undefined)) {
      throw new WattfleetError('WF_VALIDATION', undefined, [
        { path: '/querystring', message: 'prevFrom and prevTo go together' },
      ]);
    }
    const prevTo = q.prevTo ?? addDays(from, -1);
    const prevFrom = q.prevFrom ?? addDays(from, -n);
    checkRange(prevFrom, prevTo);
    const current = await this.sitePeriod(actor, siteId, from, to, scope);
    const previous = await this.sitePeriod(actor, siteId, prevFrom, prevTo, scope);
    const change = (
      k: 'solarKwh' | 'loadKwh' | 'importKwh' | 'exportKwh' | 'cost' | 'savings' | 'co2AvoidedKg',
    ) => pctChange(current[k], previous[k]);
    return {
      current: { from, to, ...current },
      previous: { from: prevFrom, to: prevTo, ...previous },
      changePct: {
        solarKwh: change('solarKwh'),
        loadKwh: change('loadKwh'),
        importKwh: change('importKwh'),
        exportKwh: change('exportKwh'),
        cost: change('cost'),
        savings: change('savings'),
        co2AvoidedKg: change('co2AvoidedKg'),
      },
    };
  }

  /** Totals over an organisation's sites the caller can read; the last 30 days by default. */
  async fleet(actor: Actor, org: string, q: FleetQuery): Promise<FleetTotals> {
    if (
      !this.hub.testOnlyBypassAppScoping &&
      !isFleetAdmin(actor) &&
      !(actor.kind === 'user' && actor.orgId === org)
    ) {
      throw new WattfleetError('WF_NOT_FOUND', 'Organisation not found');
    }
    const { scope, resolved } = await appSiteScopeResolved(this.hub, actor, 'read');
    if (scope !== 'all' && scope.length === 0) return emptyFleet(q);
    const today = new Date().toISOString().slice(0, 10);
    const to = q.to ?? addDays(today, -1);
    const from = q.from ?? addDays(to, -29);
    checkRange(from, to);
    const fresh = (await processDirtyDaysOnRead(this.hub)) > 0;
    // Scoped in code (scope) and, every query, by row-level security as the caller.
    return this.asCaller(
      actor,
      async (db) => {
        const sites = await orgSites(db, org, scope);
        if (sites.length === 0) return emptyFleet(q);
        const ids = sites.map((s) => s.id);
        const rows = await storedDaysOfSites(db, ids, from, to);
        const online = await sitesWithOnlineNodes(db, ids);
        const alerting = await sitesWithOpenAlerts(db, ids);
        return {
          from,
          to,
          sites: sites.length,
          activeSites: new Set([...sites.filter((s) => s.status === 'active').map((s) => s.id), ...online])
            .size,
          alertingSites: alerting.length,
          totals: periodView(rows, (id) => sites.find((s) => s.id === id)?.gridIntensity ?? null, ids),
        };
      },
      resolved,
      fresh,
    );
  }

  /** Completeness of a node per local day of its site, at most 62 days. */
  async completeness(actor: Actor, nodeId: string, from: string, to: string): Promise<NodeDayCompleteness[]> {
    await assertNodeAccess(this.hub, actor, nodeId);
    if (checkRange(from, to) > MAX_COMPLETENESS_DAYS) {
      throw new WattfleetError('WF_VALIDATION', undefined, [
        { path: '/querystring', message: `At most ${MAX_COMPLETENESS_DAYS} days` },
      ]);
    }
    // Node, series and samples are read as the tenant (row-level security as the second fence).
    return this.asCaller(actor, async (db) => {
      const out: NodeDayCompleteness[] = [];
      for (let d = from; d <= to; d = addDays(d, 1)) out.push(await nodeCompleteness(db, nodeId, d));
      return out;
    });
  }

  /**
   * The node's data-quality findings against its equipment's data contracts, with the bounds and
   * unit of the rule each one broke. Read as the tenant: a node hidden by row-level security is
   * not found.
   */
  async dataQuality(actor: Actor, nodeId: string): Promise<DataQualityReport> {
    await assertNodeAccess(this.hub, actor, nodeId);
    return this.asCaller(actor, async (db) => {
      if (!(await nodeExists(db, nodeId))) throw new WattfleetError('WF_NOT_FOUND', 'Node not found');
      const rows = await dataQualityFindings(db, nodeId);
      return {
        nodeId,
        findings: rows.map((r) => {
          const rule = contractById(r.contract)?.rules.get(r.metric);
          return {
            equipment: r.equipment,
            metric: r.metric,
            rule: r.rule,
            contract: r.contract,
            unit: metricDefinition(r.metric)?.unit ?? '',
            min: rule?.min ?? null,
            max: rule?.max ?? null,
            count: Number(r.count),
            firstSeenAt: r.first_seen_at.toISOString(),
            lastSeenAt: r.last_seen_at.toISOString(),
            exampleValue: r.example_value,
            message: r.message,
            updatedAt: new Date(r.updated_at).toISOString(),
          };
        }),
      };
    });
  }

  /** Device-reported against hub-computed daily figures of the site's nodes. */
  async reconciliation(actor: Actor, siteId: string, from: string, to: string): Promise<ReconciliationList> {
    await this.openSiteRange(actor, siteId, from, to);
    const fresh = (await processDirtyDaysOnRead(this.hub)) > 0;
    const rows = await this.asCaller(
      actor,
      async (db) =>
        (await siteTimezone(db, siteId)) === undefined ? undefined : reconciliationRows(db, siteId, from, to),
      undefined,
      fresh,
    );
    if (!rows) throw new WattfleetError('WF_NOT_FOUND', 'Site not found');
    return rows;
  }
}
