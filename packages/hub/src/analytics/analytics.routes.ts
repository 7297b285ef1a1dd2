// Read side of analytics: daily and monthly site summaries, period comparison, installer fleet
// totals, data completeness and reconciliation. Every route is scoped by the caller's grants in
// code, and reads its data as the tenant (withTenant: row-level security as the second fence).
import { MONTH_PATTERN, WattfleetError } from '@wattfleet/protocol';
import type { FastifyInstance } from 'fastify';
import { type Kysely, sql } from 'kysely';
import Type from 'typebox';
import { appSiteScope, assertNodeAccess, assertSiteAccess } from '../auth/access.ts';
import { type Actor, isFleetAdmin } from '../auth/actor.ts';
import { actorOf } from '../auth/authenticate.ts';
import type { HubContext } from '../context.ts';
import { withTenant } from '../identity/tenant.ts';
import type { DB } from '../storage/schema.ts';
import { tariffForDay } from '../tariffs/tariffs.repository.ts';
import { addDays, localDate } from '../time/zoned.ts';
import type { SiteDailyTable } from './analytics.schema.ts';
import { nodeCompleteness } from './completeness.service.ts';
import { aggregateDays } from './energy-day.ts';
import { processDirtyDays, recomputeSiteDay } from './site-day.service.ts';

// Strict calendar formats from the protocol: `2024-02-30` or `0000-01-01` never reach SQL.
const DATE = Type.String({ format: 'date' });
const MONTH = Type.String({ pattern: MONTH_PATTERN });
const SiteParams = Type.Object({ id: Type.String({ format: 'uuid' }) });
const Range = Type.Object({ from: DATE, to: DATE }, { additionalProperties: false });
const MAX_DAYS = 366;
/** Missing days are computed on read only for short ranges; longer ranges rely on the job. */
const COMPUTE_ON_READ_DAYS = 62;

type DayRow = Omit<SiteDailyTable, 'day' | 'computed_at'> & { day: string; computed_at: Date };

const kwh = (wh: number) => Math.round(wh) / 1000;

function dayView(r: DayRow) {
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
    computedAt: r.computed_at,
  };
}

function dayCount(from: string, to: string): number {
  return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000) + 1;
}

function checkRange(from: string, to: string): number {
  const n = dayCount(from, to);
  if (!(n >= 1 && n <= MAX_DAYS)) {
    throw new WattfleetError('WF_VALIDATION', undefined, [
      { path: '/querystring', message: `from must be on or before to, at most ${MAX_DAYS} days` },
    ]);
  }
  return n;
}

async function storedDays(db: Kysely<DB>, siteId: string, from: string, to: string): Promise<DayRow[]> {
  const rows = await db
    .selectFrom('site_daily')
    .selectAll()
    .select(sql<string>`day::text`.as('day'))
    .where('site_id', '=', siteId)
    .where('day', '>=', from)
    .where('day', '<=', to)
    .orderBy('site_daily.day')
    .execute();
  // The text form of day (selected last) wins over the date column: no time-zone shift in pg.
  return rows as unknown as DayRow[];
}

/**
 * Stored days of the range, days never computed (up to today) computed first. Read as the caller
 * (row-level security) when an actor is given: undefined when the caller cannot see the site.
 */
export async function siteDays(
  hub: HubContext,
  siteId: string,
  from: string,
  to: string,
  actor?: Actor,
): Promise<DayRow[] | undefined> {
  const n = checkRange(from, to);
  await processDirtyDays(hub);
  // Computing is the system's job; the answer is read as the caller, under row-level security.
  const asCaller = <T>(fn: (db: Kysely<DB>) => Promise<T>) =>
    actor ? withTenant(hub, actor, fn) : fn(hub.db);
  const first = await asCaller(async (db) => {
    const site = await db.selectFrom('sites').select('timezone').where('id', '=', siteId).executeTakeFirst();
    return site && { timezone: site.timezone, rows: await storedDays(db, siteId, from, to) };
  });
  if (!first) return undefined;
  let rows = first.rows;
  if (n <= COMPUTE_ON_READ_DAYS) {
    const today = localDate(Date.now(), first.timezone);
    const have = new Set(rows.map((r) => r.day));
    let computed = false;
    for (let d = from; d <= to && d <= today; d = addDays(d, 1)) {
      if (!have.has(d)) {
        await recomputeSiteDay(hub, siteId, d);
        computed = true;
      }
    }
    if (computed) rows = await asCaller((db) => storedDays(db, siteId, from, to));
  }
  return rows;
}

/** siteDays as the caller; a site hidden by row-level security answers 404 like a foreign one. */
async function callerDays(hub: HubContext, actor: Actor, siteId: string, from: string, to: string) {
  const rows = await siteDays(hub, siteId, from, to, actor);
  if (!rows) throw new WattfleetError('WF_NOT_FOUND', 'Site not found');
  return rows;
}

function periodView(rows: DayRow[]) {
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
    peakLoadKw: rows.reduce<number | null>(
      (m, r) => (r.peak_load_kw === null ? m : Math.max(m ?? 0, r.peak_load_kw)),
      null,
    ),
  };
}

const pctChange = (now: number | null, before: number | null) =>
  now === null || before === null || before === 0 ? null : ((now - before) / Math.abs(before)) * 100;

export async function analyticsRoutes(app: FastifyInstance): Promise<void> {
  const hub = app.hub;

  app.get(
    '/sites/:id/daily',
    { schema: { tags: ['analytics'], params: SiteParams, querystring: Range }, preHandler: app.requireActor },
    async (request) => {
      const { id } = request.params as { id: string };
      const { from, to } = request.query as { from: string; to: string };
      const actor = actorOf(request);
      await assertSiteAccess(hub, actor, id);
      return (await callerDays(hub, actor, id, from, to)).map(dayView);
    },
  );

  app.get(
    '/sites/:id/monthly',
    {
      schema: {
        tags: ['analytics'],
        params: SiteParams,
        querystring: Type.Object({ from: MONTH, to: MONTH }, { additionalProperties: false }),
      },
      preHandler: app.requireActor,
    },
    async (request) => {
      const { id } = request.params as { id: string };
      const { from, to } = request.query as { from: string; to: string };
      const actor = actorOf(request);
      await assertSiteAccess(hub, actor, id);
      const lastDay = addDays(`${nextMonth(to)}-01`, -1);
      const rows = await callerDays(hub, actor, id, `${from}-01`, lastDay);
      const months = new Map<string, DayRow[]>();
      for (let m = from; m <= to; m = nextMonth(m)) months.set(m, []);
      for (const r of rows) months.get(r.day.slice(0, 7))?.push(r);
      // The demand charge is monthly: per kW of the month's highest 15-minute import.
      const tariffs = await withTenant(hub, actor, async (trx) => {
        const out = new Map<string, Awaited<ReturnType<typeof tariffForDay>>>();
        for (const month of months.keys()) {
          out.set(month, await tariffForDay(trx, id, addDays(`${nextMonth(month)}-01`, -1)));
        }
        return out;
      });
      const out = [];
      for (const [month, days] of months) {
        const view = periodView(days);
        const rate = tariffs.get(month)?.definition.demandChargePerKw;
        if (rate && view.cost !== null && view.baselineCost !== null) {
          const demand = (view.peakDemandKw ?? 0) * rate;
          const baselineDemand = (view.peakLoadKw ?? 0) * rate;
          view.cost += demand;
          view.baselineCost += baselineDemand;
          view.savings = view.baselineCost - view.cost;
        }
        out.push({ month, ...view });
      }
      return out;
    },
  );

  app.get(
    '/sites/:id/comparison',
    { schema: { tags: ['analytics'], params: SiteParams, querystring: Range }, preHandler: app.requireActor },
    async (request) => {
      const { id } = request.params as { id: string };
      const { from, to } = request.query as { from: string; to: string };
      const actor = actorOf(request);
      await assertSiteAccess(hub, actor, id);
      const n = checkRange(from, to);
      const prevTo = addDays(from, -1);
      const prevFrom = addDays(from, -n);
      const current = periodView(await callerDays(hub, actor, id, from, to));
      const previous = periodView(await callerDays(hub, actor, id, prevFrom, prevTo));
      const change = Object.fromEntries(
        (['solarKwh', 'loadKwh', 'importKwh', 'exportKwh', 'cost', 'savings'] as const).map((k) => [
          k,
          pctChange(current[k], previous[k]),
        ]),
      );
      return {
        current: { from, to, ...current },
        previous: { from: prevFrom, to: prevTo, ...previous },
        changePct: change,
      };
    },
  );

  app.get(
    '/installers/:org/fleet',
    {
      schema: {
        tags: ['analytics'],
        params: Type.Object({ org: Type.String({ format: 'uuid' }) }),
        querystring: Type.Object({ from: Type.Optional(DATE), to: Type.Optional(DATE) }),
      },
      preHandler: app.requireActor,
    },
    async (request) => {
      const { org } = request.params as { org: string };
      const q = request.query as { from?: string; to?: string };
      const actor = actorOf(request);
      if (
        !hub.testOnlyBypassAppScoping &&
        !isFleetAdmin(actor) &&
        !(actor.kind === 'user' && actor.orgId === org)
      ) {
        throw new WattfleetError('WF_NOT_FOUND', 'Organisation not found');
      }
      const scope = await appSiteScope(hub, actor, 'read');
      if (scope !== 'all' && scope.length === 0) return emptyFleet(q);
      const today = new Date().toISOString().slice(0, 10);
      const to = q.to ?? addDays(today, -1);
      const from = q.from ?? addDays(to, -29);
      checkRange(from, to);
      await processDirtyDays(hub);
      // Scoped in code (scope) and, every query, by row-level security as the caller.
      return withTenant(hub, actor, async (trx) => {
        let sq = trx
          .selectFrom('sites')
          .select(['id', 'status'])
          .where((eb) => eb.or([eb('installer_org_id', '=', org), eb('org_id', '=', org)]));
        if (scope !== 'all') sq = sq.where('id', 'in', scope);
        const sites = await sq.execute();
        if (sites.length === 0) return emptyFleet(q);
        const ids = sites.map((s) => s.id);
        const rows = (await trx
          .selectFrom('site_daily')
          .selectAll()
          .select(sql<string>`day::text`.as('day'))
          .where('site_id', 'in', ids)
          .where('day', '>=', from)
          .where('day', '<=', to)
          .execute()) as unknown as DayRow[];
        const online = await trx
          .selectFrom('nodes')
          .select('site_id')
          .distinct()
          .where('site_id', 'in', ids)
          .where('status', '=', 'online')
          .execute();
        const alerting = await sql<{ site_id: string }>`
          SELECT DISTINCT site_id FROM alerts WHERE state <> 'resolved' AND site_id IN (${sql.join(ids)})`.execute(
          trx,
        );
        return {
          from,
          to,
          sites: sites.length,
          activeSites: new Set([
            ...sites.filter((s) => s.status === 'active').map((s) => s.id),
            ...online.map((o) => o.site_id),
          ]).size,
          alertingSites: alerting.rows.length,
          totals: periodView(rows),
        };
      });
    },
  );

  app.get(
    '/nodes/:id/completeness',
    {
      schema: {
        tags: ['analytics'],
        params: Type.Object({ id: Type.String({ format: 'uuid' }) }),
        querystring: Range,
      },
      preHandler: app.requireActor,
    },
    async (request) => {
      const { id } = request.params as { id: string };
      const { from, to } = request.query as { from: string; to: string };
      const actor = actorOf(request);
      await assertNodeAccess(hub, actor, id);
      if (checkRange(from, to) > 62) {
        throw new WattfleetError('WF_VALIDATION', undefined, [
          { path: '/querystring', message: 'At most 62 days' },
        ]);
      }
      // Node, series and samples are read as the tenant (row-level security as the second fence).
      return withTenant(hub, actor, async (trx) => {
        const out = [];
        for (let d = from; d <= to; d = addDays(d, 1)) out.push(await nodeCompleteness(trx, id, d));
        return out;
      });
    },
  );

  app.get(
    '/sites/:id/reconciliation',
    { schema: { tags: ['analytics'], params: SiteParams, querystring: Range }, preHandler: app.requireActor },
    async (request) => {
      const { id } = request.params as { id: string };
      const { from, to } = request.query as { from: string; to: string };
      const actor = actorOf(request);
      await assertSiteAccess(hub, actor, id);
      checkRange(from, to);
      await processDirtyDays(hub);
      const rows = await withTenant(hub, actor, async (trx) => {
        const site = await trx.selectFrom('sites').select('id').where('id', '=', id).executeTakeFirst();
        if (!site) return undefined;
        return trx
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
          .where('site_id', '=', id)
          .where('day', '>=', from)
          .where('day', '<=', to)
          .orderBy('day')
          .orderBy('metric')
          .execute();
      });
      if (!rows) throw new WattfleetError('WF_NOT_FOUND', 'Site not found');
      return rows;
    },
  );
}

function nextMonth(m: string): string {
  const y = Number(m.slice(0, 4));
  const mo = Number(m.slice(5, 7));
  return mo === 12 ? `${y + 1}-01` : `${y}-${String(mo + 1).padStart(2, '0')}`;
}

function emptyFleet(q: { from?: string; to?: string }) {
  return {
    from: q.from ?? null,
    to: q.to ?? null,
    sites: 0,
    activeSites: 0,
    alertingSites: 0,
    totals: periodView([]),
  };
}
