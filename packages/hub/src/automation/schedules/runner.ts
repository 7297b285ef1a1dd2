// Runs due schedule actions. One tick (every 15 s, a hub job under the scheduler's advisory lock)
// looks at every enabled schedule, computes its occurrences between its watermark
// (`checked_until`) and now with the pure calculator, and handles each exactly once: the run row
// UNIQUE (schedule_id, due_at) is claimed before acting, so two hubs (or a tick overlapping a
// slow one) never switch twice even if the lock were lost.
//
// Why a tick and not one croner job per schedule: croner knows neither sunrise nor validity
// ranges or exception dates, its jobs live in one process (a restart forgets what was due while
// the hub was down, and every hub would fire), and a DST rule of our own must hold the same for
// the preview in the API. A watermark + calculator gives catch-up after downtime for free.
//
// Defined behaviour (docs/automation.md, "## Schedules"):
// - On time: found at most ON_TIME_MS after it was due (a tick's normal lateness).
// - Catch-up: an occurrence found later (the hub was down) still runs when it is at most the
//   schedule's grace period late; older ones are recorded as missed (run log + audit entry
//   `schedule.missed`). When several actions of a schedule are caught up at once only the latest
//   runs, the earlier ones are "superseded" (switching a load on and off again at once helps
//   nobody).
// - Overlap on one channel: an action is skipped (skipped-overlap) while a schedule that outranks
//   it has a window open on that channel. Rank: higher priority; equal priority → the schedule
//   created first (then the smaller id), so the order never depends on which hub or tick looks.
//   When a window ends while a lower-ranked window is still open, the channel goes to the state
//   of that window instead of the end's state.
// - A switch the switch path refuses (safety limit, automation paused, channel gone) is recorded
//   as `refused` with its error code and reason (audit `schedule.run`, result denied).
// - The clock is injectable (`clock.now`), so tests pin it.

import {
  activeWindow,
  hhmm,
  type Occurrence,
  type OnOff,
  occurrencesBetween,
  type ScheduleDef,
  type SitePlace,
} from '@wattfleet/devices/automation';
import { WattfleetError } from '@wattfleet/protocol';
import { audit } from '../../audit/audit.ts';
import type { Actor } from '../../auth/actor.ts';
import type { HubContext } from '../../context.ts';
import type { AutomationService } from '../automation.service.ts';
import {
  advanceWatermarks,
  claimRuns,
  finishRun,
  type NewRun,
  type RunnableSchedule,
  runKey,
  runnableSchedules,
} from './schedules.repository.ts';
import type { RunOutcome } from './schedules.tables.ts';

export interface Clock {
  now: () => number;
}

/** A hub down longer than this gets its missed runs recorded for this span only. */
const MAX_LOOKBACK_MS = 7 * 86_400_000;
/** Lateness of an ordinary tick (every 15 s, plus a slow database): still on time. */
export const ON_TIME_MS = 60_000;
const SYSTEM: Actor = { kind: 'system' };
/**
 * Channels switched at once by one tick. Each switch is a few short transactions (the channel's
 * row lock, the command, the run log), so 10,000 actions due in one minute done one after another
 * would take minutes; in parallel they take seconds. Bounded well below the database pool (16) so
 * ingest and the API keep connections while a big minute is being switched.
 */
export const SWITCH_CONCURRENCY = 8;
export const RUNNER_SOURCE = 'schedule-runner';

export type TickSummary = Record<Exclude<RunOutcome, 'running'>, number>;

const defOf = (s: RunnableSchedule): ScheduleDef => ({
  rule: s.rule,
  validFrom: s.valid_from,
  validUntil: s.valid_until,
  exceptDates: s.except_dates,
});
const placeOf = (s: RunnableSchedule): SitePlace => ({
  timezone: s.timezone,
  latitude: s.latitude,
  longitude: s.longitude,
});

/** Negative when a outranks b: higher priority, then older, then smaller id (the tie rule). */
export function compareRank(
  a: Pick<RunnableSchedule, 'priority' | 'created_at' | 'id'>,
  b: Pick<RunnableSchedule, 'priority' | 'created_at' | 'id'>,
): number {
  return (
    b.priority - a.priority ||
    new Date(a.created_at).getTime() - new Date(b.created_at).getTime() ||
    (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
  );
}

interface Due {
  schedule: RunnableSchedule;
  occurrence: Occurrence;
  outcome: 'run' | 'missed' | 'superseded';
}

export class ScheduleRunner {
  constructor(
    private readonly hub: HubContext,
    private readonly automation: AutomationService,
    private readonly clock: Clock,
    private readonly log: { error: (obj: object, msg: string) => void } = console,
  ) {}

  async tick(): Promise<TickSummary> {
    const now = this.clock.now();
    const summary: TickSummary = {
      done: 0,
      missed: 0,
      'skipped-overlap': 0,
      superseded: 0,
      refused: 0,
      failed: 0,
    };
    const schedules = await runnableSchedules(this.hub.db);
    const due: Due[] = [];
    for (const s of schedules) due.push(...this.dueOf(s, now));
    // In time order; at one instant the lower-ranked first, so the one that outranks acts last.
    due.sort((a, b) => a.occurrence.dueAt - b.occurrence.dueAt || compareRank(b.schedule, a.schedule));
    // Every occurrence is claimed up front in a few statements; what another hub or tick had
    // claimed is left out. The order above is kept per channel (the only place it matters: the
    // lower-ranked action first, the one that outranks last); channels go in parallel.
    const claimed = await claimRuns(
      this.hub.db,
      due.map((d) => this.newRun(d, now)),
    );
    const byChannel = new Map<string, { d: Due; runId: string }[]>();
    for (const d of due) {
      const runId = claimed.get(runKey(d.schedule.id, d.occurrence.dueAt));
      if (!runId) continue;
      const list = byChannel.get(d.schedule.channel_id) ?? [];
      list.push({ d, runId });
      byChannel.set(d.schedule.channel_id, list);
    }
    const onChannel = new Map<string, RunnableSchedule[]>();
    for (const s of schedules) {
      const list = onChannel.get(s.channel_id) ?? [];
      list.push(s);
      onChannel.set(s.channel_id, list);
    }
    const groups = [...byChannel.values()];
    let next = 0;
    await Promise.all(
      Array.from({ length: Math.min(SWITCH_CONCURRENCY, groups.length) }, async () => {
        while (next < groups.length) {
          for (const { d, runId } of groups[next++]!) {
            const outcome = await this.handle(d, runId, onChannel.get(d.schedule.channel_id) ?? [], now);
            if (outcome !== 'running') summary[outcome]++;
          }
        }
      }),
    );
    await advanceWatermarks(this.hub.db, schedules, new Date(now));
    return summary;
  }

  /** The run log row an occurrence is claimed with. */
  private newRun(d: Due, now: number): NewRun {
    const { schedule: s, occurrence: o } = d;
    const lateMin = Math.round((now - o.dueAt) / 60_000);
    const reason =
      d.outcome === 'run'
        ? o.reason
        : d.outcome === 'missed'
          ? `${o.reason}; the hub did not run it: ${lateMin} min late is beyond the grace period of ${s.grace_min} min`
          : `${o.reason}; replaced by a later action of this schedule in the same catch-up`;
    return {
      schedule_id: s.id,
      schedule_version: s.version,
      site_id: s.site_id,
      channel_id: s.channel_id,
      due_at: new Date(o.dueAt),
      edge: o.edge,
      state: o.state,
      outcome: d.outcome === 'run' ? 'running' : d.outcome,
      reason,
    };
  }

  private dueOf(s: RunnableSchedule, now: number): Due[] {
    const from = Math.max(s.checked_until.getTime(), now - MAX_LOOKBACK_MS);
    const occ = occurrencesBetween(defOf(s), placeOf(s), from, now);
    const grace = Math.max(s.grace_min * 60_000, ON_TIME_MS);
    const inGrace = occ.filter((o) => now - o.dueAt <= grace);
    const last = inGrace.at(-1);
    return occ.map((o) => ({
      schedule: s,
      occurrence: o,
      outcome: now - o.dueAt > grace ? 'missed' : o === last ? 'run' : 'superseded',
    }));
  }

  /** Acts on a claimed occurrence (`runId`, its run log row); `onChannel`: the schedules of its channel. */
  private async handle(
    d: Due,
    runId: string,
    onChannel: RunnableSchedule[],
    now: number,
  ): Promise<RunOutcome> {
    const { schedule: s, occurrence: o } = d;
    const tz = s.timezone;
    const lateMin = Math.round((now - o.dueAt) / 60_000);
    if (d.outcome !== 'run') {
      if (d.outcome === 'missed')
        await this.auditRun(s, o.dueAt, 'schedule.missed', 'failed', {
          reason: this.newRun(d, now).reason,
          runId,
        });
      return d.outcome;
    }
    const finish = async (
      outcome: RunOutcome,
      reason: string,
      extra: { commandId?: string | null; state?: OnOff; errorCode?: string } = {},
    ) => {
      await finishRun(this.hub.db, runId, {
        outcome,
        reason,
        commandId: extra.commandId ?? null,
        errorCode: extra.errorCode ?? null,
        ranAt: new Date(now),
        ...(extra.state ? { state: extra.state } : {}),
      });
      return outcome;
    };

    const sameChannel = onChannel.filter((x) => x.id !== s.id);
    const open = (x: RunnableSchedule) => activeWindow(defOf(x), placeOf(x), o.dueAt);
    const holder = sameChannel
      .filter((x) => compareRank(x, s) < 0)
      .sort(compareRank)
      .find((x) => open(x));
    if (holder) {
      const w = open(holder)!;
      return finish(
        'skipped-overlap',
        `${o.reason}; "${holder.name}" (priority ${holder.priority}, v${holder.version}) holds the channel, its window ${hhmm(w.start, tz)}–${hhmm(w.end!, tz)} is open`,
      );
    }
    let state: OnOff = o.state;
    let reason = o.reason;
    if (o.edge === 'end') {
      const below = sameChannel
        .filter((x) => compareRank(x, s) > 0)
        .sort(compareRank)
        .find((x) => open(x));
      if (below) {
        state = below.rule.action;
        reason = `${o.reason}; "${below.name}" (priority ${below.priority}, v${below.version}) still has its window open → ${state}`;
      }
    }
    if (now - o.dueAt > ON_TIME_MS)
      reason = `${reason}; caught up ${lateMin} min late (within the grace period of ${s.grace_min} min)`;
    try {
      const channel = await this.automation.switchAutomatic(
        SYSTEM,
        s.channel_id,
        state,
        { kind: 'schedule', id: s.id, name: s.name, version: s.version, reason },
        RUNNER_SOURCE,
      );
      return await finish('done', reason, { commandId: channel.commandId, state });
    } catch (err) {
      const refused = err instanceof WattfleetError;
      if (!refused) this.log.error({ err, scheduleId: s.id }, 'schedule action failed');
      const why = `${reason}; ${refused ? 'refused' : 'failed'}: ${(err as Error).message}`;
      const errorCode = refused ? err.code : 'WF_INTERNAL';
      await this.auditRun(s, o.dueAt, 'schedule.run', refused ? 'denied' : 'failed', {
        reason: why,
        runId,
        state,
        errorCode,
        ...(refused && err.extra ? { ...err.extra } : {}),
      });
      return finish(refused ? 'refused' : 'failed', why, { state, errorCode });
    }
  }

  private async auditRun(
    s: RunnableSchedule,
    dueAt: number,
    action: string,
    result: 'ok' | 'denied' | 'failed',
    details: Record<string, unknown>,
  ): Promise<void> {
    await audit(this.hub.db, SYSTEM, {
      action,
      targetType: 'schedule',
      targetId: s.id,
      result,
      sourceIp: RUNNER_SOURCE,
      orgId: s.org_id,
      details: {
        siteId: s.site_id,
        channelId: s.channel_id,
        version: s.version,
        name: s.name,
        dueAt: new Date(dueAt).toISOString(),
        ...details,
      },
    });
  }
}
