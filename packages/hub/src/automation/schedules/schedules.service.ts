// Schedules of a site's channels: who may see them (anyone who sees the site) and change them
// (whoever may switch the channel by hand: AutomationService.permission — viewers never,
// installers on granted sites, owners when their org allows), the checks a body's shape cannot
// express (real dates, a range in order, coordinates for sunrise/sunset), and
// the views with their next switching instants. Row-level security applies again in the tenant
// transactions. Every change is audited and makes a new version.

import {
  describeRule,
  hhmm,
  isRealDate,
  occurrencesBetween,
  type SitePlace,
} from '@wattfleet/devices/automation';
import { type Problem, WattfleetError } from '@wattfleet/protocol';
import { localDate } from '@wattfleet/protocol/zoned';
import { audit, auditInTransaction } from '../../audit/audit.ts';
import { assertSiteAccess } from '../../auth/access.ts';
import type { Actor } from '../../auth/actor.ts';
import type { HubContext } from '../../context.ts';
import { withTenant } from '../../identity/tenant.ts';
import type { AutomationService } from '../automation.service.ts';
import { assignScheduleExecutor } from '../edge/edge.service.ts';
import {
  channelSite,
  deleteSchedule,
  getSchedule,
  insertSchedule,
  listRuns,
  listSchedules,
  type ScheduleRow,
  type ScheduleValues,
  sitePlace,
  updateSchedule,
} from './schedules.repository.ts';
import type {
  OccurrenceList,
  RunList,
  Schedule,
  ScheduleBody,
  ScheduleList,
  SchedulePatch,
} from './schedules.schema.ts';

const NEXT_RUNS = 5;
const NEXT_WINDOW_MS = 14 * 86_400_000;
export const DEFAULT_GRACE_MIN = 10;
/** Upcoming occurrences are looked for this far ahead (a one-off date next year included). */
const UPCOMING_HORIZON_MS = 400 * 86_400_000;

const iso = (d: Date | string) => new Date(d).toISOString();
/** "2026-03-29 03:00" in the site's zone. */
const localStamp = (ms: number, tz: string) => `${localDate(ms, tz)} ${hhmm(ms, tz)}`;

export function scheduleView(r: ScheduleRow, place: SitePlace, now: number): Schedule {
  const def = {
    rule: r.rule,
    validFrom: r.valid_from,
    validUntil: r.valid_until,
    exceptDates: r.except_dates,
  };
  const next = r.enabled
    ? occurrencesBetween(def, place, now, now + NEXT_WINDOW_MS)
        .slice(0, NEXT_RUNS)
        .map((o) => ({ dueAt: iso(new Date(o.dueAt)), state: o.state, reason: o.reason }))
    : [];
  return {
    id: r.id,
    siteId: r.site_id,
    channelId: r.channel_id,
    name: r.name,
    enabled: r.enabled,
    priority: r.priority,
    version: r.version,
    rule: r.rule,
    summary: describeRule(r.rule),
    timezone: place.timezone,
    validFrom: r.valid_from,
    validUntil: r.valid_until,
    exceptDates: r.except_dates,
    graceMin: r.grace_min,
    next,
    executorNodeId: r.executor_node_id,
    createdAt: iso(r.created_at),
    updatedAt: iso(r.updated_at),
  };
}

/** Checks of a complete schedule that its JSON schema cannot make; problems point into the body. */
export function scheduleProblems(v: ScheduleValues, place: SitePlace): Problem[] {
  const problems: Problem[] = [];
  const date = (value: string | null, path: string) => {
    if (value !== null && !isRealDate(value))
      problems.push({ path, message: `${value} is not a calendar date` });
  };
  date(v.valid_from, '/body/validFrom');
  date(v.valid_until, '/body/validUntil');
  for (const [i, d] of v.except_dates.entries()) date(d, `/body/exceptDates/${i}`);
  if (v.rule.days.kind === 'dates')
    for (const [i, d] of v.rule.days.dates.entries()) date(d, `/body/rule/days/dates/${i}`);
  if (v.valid_from && v.valid_until && v.valid_from > v.valid_until)
    problems.push({ path: '/body/validUntil', message: 'validUntil is before validFrom' });
  const { start, end } = v.rule;
  if (end && 'at' in start && 'at' in end && start.at === end.at)
    problems.push({ path: '/body/rule/end', message: 'The window ends when it starts' });
  if (end && 'sun' in start && 'sun' in end && start.sun === end.sun && start.offsetMin === end.offsetMin)
    problems.push({ path: '/body/rule/end', message: 'The window ends when it starts' });
  if (place.latitude === null || place.longitude === null) {
    for (const [key, spec] of [
      ['start', start],
      ['end', end],
    ] as const) {
      if (spec && 'sun' in spec)
        problems.push({
          path: `/body/rule/${key}`,
          message: `${spec.sun} needs the site's coordinates (latitude and longitude)`,
        });
    }
  }
  return problems;
}

export class ScheduleService {
  constructor(
    private readonly hub: HubContext,
    private readonly automation: AutomationService,
    private readonly now: () => number = Date.now,
    private readonly onChanged?: (siteId: string) => void,
  ) {}

  private async place(siteId: string): Promise<SitePlace> {
    const s = await sitePlace(this.hub.db, siteId);
    if (!s) throw new WattfleetError('WF_NOT_FOUND', 'Site not found');
    return s;
  }

  /** Refusals are audited (result denied), as for manual switches and scenes. */
  private async assertMayEdit(
    actor: Actor,
    siteId: string,
    refused: { action: string; targetType: 'site' | 'schedule'; targetId: string; sourceIp: string },
  ): Promise<void> {
    const p = await this.automation.permission(actor, siteId);
    if (p.canSwitch) return;
    const reason = p.reason ?? 'You may not change schedules here';
    await audit(this.hub.db, actor, { ...refused, result: 'denied', details: { siteId, reason } });
    throw new WattfleetError('WF_FORBIDDEN', reason);
  }

  async list(actor: Actor, siteId: string): Promise<ScheduleList> {
    await assertSiteAccess(this.hub, actor, siteId, 'read');
    const rows = await withTenant(this.hub, actor, (trx) => listSchedules(trx, siteId));
    const place = await this.place(siteId);
    const p = await this.automation.permission(actor, siteId);
    return {
      items: rows.map((r) => scheduleView(r, place, this.now())),
      control: { canEdit: p.canSwitch, ...(p.reason ? { reason: p.reason } : {}) },
    };
  }

  private async visible(actor: Actor, id: string): Promise<ScheduleRow> {
    const row = await withTenant(this.hub, actor, (trx) => getSchedule(trx, id));
    if (!row) throw new WattfleetError('WF_NOT_FOUND', 'Schedule not found');
    await assertSiteAccess(this.hub, actor, row.site_id, 'read');
    return row;
  }

  async get(actor: Actor, id: string): Promise<Schedule> {
    const row = await this.visible(actor, id);
    return scheduleView(row, await this.place(row.site_id), this.now());
  }

  /**
   * The schedule's next `count` switching instants after `from` (default now), as the runner will
   * compute them (same calculator); an instant that a schedule outranking this one would skip is
   * still listed: overlaps are decided when it is due, with the schedules as they are then.
   */
  async upcoming(actor: Actor, id: string, count: number, from?: string): Promise<OccurrenceList> {
    const row = await this.visible(actor, id);
    const place = await this.place(row.site_id);
    const start = from ? Date.parse(from) : this.now();
    const def = {
      rule: row.rule,
      validFrom: row.valid_from,
      validUntil: row.valid_until,
      exceptDates: row.except_dates,
    };
    const items: OccurrenceList['items'] = [];
    // Month by month, so a daily schedule does not compute a year to list five instants.
    for (let t = start; items.length < count && t < start + UPCOMING_HORIZON_MS; t += 31 * 86_400_000) {
      for (const o of occurrencesBetween(
        def,
        place,
        t,
        Math.min(t + 31 * 86_400_000, start + UPCOMING_HORIZON_MS),
      )) {
        if (items.length >= count) break;
        items.push({
          dueAt: iso(new Date(o.dueAt)),
          local: localStamp(o.dueAt, place.timezone),
          day: o.day,
          edge: o.edge,
          state: o.state,
          reason: o.reason,
        });
      }
    }
    return {
      scheduleId: row.id,
      version: row.version,
      enabled: row.enabled,
      timezone: place.timezone,
      items,
    };
  }

  async runs(actor: Actor, id: string, limit: number): Promise<RunList> {
    await this.visible(actor, id);
    const rows = await withTenant(this.hub, actor, (trx) => listRuns(trx, id, limit));
    return {
      items: rows.map((r) => ({
        id: r.id,
        scheduleId: r.schedule_id,
        scheduleVersion: r.schedule_version,
        channelId: r.channel_id,
        dueAt: iso(r.due_at),
        ranAt: r.ran_at ? iso(r.ran_at) : null,
        edge: r.edge,
        state: r.state,
        outcome: r.outcome,
        reason: r.reason,
        errorCode: r.error_code,
        commandId: r.command_id,
        commandState: r.command_state,
        executedBy: r.executed_by,
      })),
    };
  }

  async create(actor: Actor, siteId: string, body: ScheduleBody, sourceIp: string): Promise<Schedule> {
    await assertSiteAccess(this.hub, actor, siteId, 'read');
    await this.assertMayEdit(actor, siteId, {
      action: 'schedule.create',
      targetType: 'site',
      targetId: siteId,
      sourceIp,
    });
    const values: ScheduleValues = {
      channel_id: body.channelId,
      name: body.name,
      enabled: body.enabled ?? true,
      priority: body.priority,
      rule: body.rule,
      valid_from: body.validFrom ?? null,
      valid_until: body.validUntil ?? null,
      except_dates: body.exceptDates ?? [],
      grace_min: body.graceMin ?? DEFAULT_GRACE_MIN,
    };
    const place = await this.place(siteId);
    const row = await this.save(actor, siteId, values, place, sourceIp);
    return scheduleView(row, place, this.now());
  }

  async patch(actor: Actor, id: string, body: SchedulePatch, sourceIp: string): Promise<Schedule> {
    const current = await this.visible(actor, id);
    await this.assertMayEdit(actor, current.site_id, {
      action: 'schedule.update',
      targetType: 'schedule',
      targetId: id,
      sourceIp,
    });
    const values: ScheduleValues = {
      channel_id: current.channel_id,
      name: body.name ?? current.name,
      enabled: body.enabled ?? current.enabled,
      priority: body.priority ?? current.priority,
      rule: body.rule ?? current.rule,
      valid_from: body.validFrom !== undefined ? body.validFrom : current.valid_from,
      valid_until: body.validUntil !== undefined ? body.validUntil : current.valid_until,
      except_dates: body.exceptDates ?? current.except_dates,
      grace_min: body.graceMin ?? current.grace_min,
    };
    const place = await this.place(current.site_id);
    const row = await this.save(actor, current.site_id, values, place, sourceIp, current);
    return scheduleView(row, place, this.now());
  }

  private async save(
    actor: Actor,
    siteId: string,
    values: ScheduleValues,
    place: SitePlace,
    sourceIp: string,
    current?: ScheduleRow,
  ): Promise<ScheduleRow> {
    const problems = scheduleProblems(values, place);
    if (problems.length > 0) throw new WattfleetError('WF_VALIDATION', undefined, problems);
    const now = new Date(this.now());
    return withTenant(
      this.hub,
      actor,
      async (trx) => {
        if (!current && (await channelSite(trx, values.channel_id)) !== siteId)
          throw new WattfleetError('WF_VALIDATION', undefined, [
            { path: '/body/channelId', message: 'No such channel on this site' },
          ]);
        const row = current
          ? await updateSchedule(trx, current.id, values, now)
          : await insertSchedule(trx, siteId, values, now);
        if (!row) throw new WattfleetError('WF_NOT_FOUND', 'Schedule not found');
        // Exactly one executor, decided with the save: the channel's edge agent, else the hub.
        const executor = await assignScheduleExecutor(trx, row);
        await auditInTransaction(trx, actor, {
          action: current ? 'schedule.update' : 'schedule.create',
          targetType: 'schedule',
          targetId: row.id,
          sourceIp,
          details: {
            siteId,
            channelId: row.channel_id,
            version: row.version,
            summary: describeRule(row.rule),
            executor: executor.after ?? 'hub',
          },
        });
        return row;
      },
      'write',
    ).then((row) => {
      this.onChanged?.(siteId);
      return row;
    });
  }

  async remove(actor: Actor, id: string, sourceIp: string): Promise<void> {
    const current = await this.visible(actor, id);
    await this.assertMayEdit(actor, current.site_id, {
      action: 'schedule.delete',
      targetType: 'schedule',
      targetId: id,
      sourceIp,
    });
    await withTenant(
      this.hub,
      actor,
      async (trx) => {
        if (!(await deleteSchedule(trx, id, new Date(this.now()))))
          throw new WattfleetError('WF_NOT_FOUND', 'Schedule not found');
        await auditInTransaction(trx, actor, {
          action: 'schedule.delete',
          targetType: 'schedule',
          targetId: id,
          sourceIp,
          details: { siteId: current.site_id, channelId: current.channel_id, version: current.version },
        });
      },
      'write',
    );
    this.onChanged?.(current.site_id);
  }
}
