// Edge execution of schedules (issue 13.7): the schedules of this node's bundle run on the
// agent's own clock, in the site's zone, with the same calculator as the hub
// (@wattfleet/devices/automation), whether the hub is reachable or not. The hub does not run them
// (each has exactly one executor); it learns of every occurrence handled here from an
// `automation.execution` event, which waits in the state file's event queue until the hub has it.
//
// Defined behaviour, the hub runner's (docs/automation.md, "## Schedules"), so a schedule does
// the same whoever executes it:
// - A tick (every few seconds) handles the occurrences between the schedule's watermark and now;
//   the watermark is kept in the state file, so a restarted agent catches up what it slept
//   through: at most `graceMin` late still runs ("caught up N min late"), older is `missed`, and
//   of several actions within the grace period only the latest runs (`superseded`).
// - Nothing at or before the version's `activeFrom` runs, nor anything at or before an instant
//   an earlier version already handled here (a late bundle does not repeat an occurrence).
// - Overlaps on a channel: higher priority, then the older schedule, then the smaller id wins;
//   an outranked action is `skipped-overlap` while the winner's window is open, and a window
//   ending inside a lower-ranked open window leaves the channel in that window's state.
// - The site's pause refuses every action; the channel's safety limits (the shared
//   `limitRefusal`) are measured against the switches made here, kept in the state file.
// - A switch is confirmed by the state the device reads back; a different state is `failed`.
import {
  activeWindow,
  hhmm,
  limitRefusal,
  type Occurrence,
  type OnOff,
  occurrencesBetween,
  type ScheduleDef,
  type SitePlace,
} from '@wattfleet/devices/automation';
import {
  type AutomationBundle,
  type AutomationExecution,
  type BundleSchedule,
  EVENT_KINDS,
  type ExecutionOutcome,
} from '@wattfleet/protocol';
import type { Logger } from 'pino';
import type { EventJournal } from '../events/journal.ts';
import type { AgentState } from '../outbox/agent-state.ts';
import { hasRelay, type Source } from '../sources/types.ts';
import type { Clock } from '../time/clock.ts';

/** Lateness of an ordinary tick: still on time. */
export const ON_TIME_MS = 60_000;
/** An agent down longer than this gets its missed runs recorded for this span only. */
const MAX_LOOKBACK_MS = 7 * 86_400_000;
const HOUR_MS = 3_600_000;
const WATERMARKS = 'automation.watermarks';
const SWITCHES = 'automation.switches';

type Switch = { at: number; state: OnOff };

export interface EdgeAutomationDeps {
  clock: Clock;
  state: () => AgentState | undefined;
  sources: () => ReadonlyMap<string, Source>;
  journal: () => EventJournal | undefined;
  logger?: Logger;
  tickMs?: number;
}

const defOf = (s: BundleSchedule): ScheduleDef => ({
  rule: s.rule,
  validFrom: s.validFrom,
  validUntil: s.validUntil,
  exceptDates: s.exceptDates,
});

/** Negative when a outranks b (the hub's rule: priority, then older, then smaller id). */
export function compareRank(a: BundleSchedule, b: BundleSchedule): number {
  return b.priority - a.priority || a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

interface Due {
  schedule: BundleSchedule;
  occurrence: Occurrence;
  outcome: 'run' | 'missed' | 'superseded';
}

export class EdgeAutomation {
  bundle: AutomationBundle | undefined;
  private timer: NodeJS.Timeout | undefined;
  private chain: Promise<unknown> = Promise.resolve();
  lastTickAt: number | null = null;

  constructor(private readonly deps: EdgeAutomationDeps) {}

  /** The bundle to run from the next tick on (undefined: nothing runs here). */
  load(bundle: AutomationBundle | undefined): void {
    this.bundle = bundle;
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.tick(), this.deps.tickMs ?? 5000);
    void this.tick();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.chain.catch(() => {});
  }

  /** One pass; passes never overlap (a slow relay delays the next, it does not double it). */
  tick(): Promise<AutomationExecution[]> {
    const run = this.chain.then(() => this.tickOnce());
    this.chain = run.catch((err: Error) =>
      this.deps.logger?.error({ err: err.message }, 'edge automation tick failed'),
    );
    return run;
  }

  private async tickOnce(): Promise<AutomationExecution[]> {
    const bundle = this.bundle;
    const state = this.deps.state();
    if (!bundle || !state) return [];
    const now = this.deps.clock.now();
    this.lastTickAt = now;
    const marks = state.get<Record<string, number>>(WATERMARKS) ?? {};
    const place: SitePlace = {
      timezone: bundle.site.timezone,
      latitude: bundle.site.latitude,
      longitude: bundle.site.longitude,
    };
    const due: Due[] = [];
    for (const s of bundle.schedules) {
      const from = Math.max(s.activeFrom, marks[s.id] ?? 0, now - MAX_LOOKBACK_MS);
      const occ = occurrencesBetween(defOf(s), place, from, now);
      const grace = Math.max(s.graceMin * 60_000, ON_TIME_MS);
      const last = occ.filter((o) => now - o.dueAt <= grace).at(-1);
      for (const o of occ)
        due.push({
          schedule: s,
          occurrence: o,
          outcome: now - o.dueAt > grace ? 'missed' : o === last ? 'run' : 'superseded',
        });
    }
    due.sort((a, b) => a.occurrence.dueAt - b.occurrence.dueAt || compareRank(b.schedule, a.schedule));
    const done: AutomationExecution[] = [];
    for (const d of due) {
      const exec = await this.handle(bundle, place, d, now);
      done.push(exec);
      this.record(bundle, d.schedule, exec);
      // Per occurrence: a crash in the middle of a catch-up does not repeat what was done.
      marks[d.schedule.id] = Math.max(marks[d.schedule.id] ?? 0, d.occurrence.dueAt);
      state.set(WATERMARKS, marks);
    }
    const next: Record<string, number> = {};
    for (const s of bundle.schedules) next[s.id] = Math.max(marks[s.id] ?? 0, now);
    state.set(WATERMARKS, next);
    return done;
  }

  private async handle(
    b: AutomationBundle,
    place: SitePlace,
    d: Due,
    now: number,
  ): Promise<AutomationExecution> {
    const { schedule: s, occurrence: o } = d;
    const tz = place.timezone;
    const lateMin = Math.round((now - o.dueAt) / 60_000);
    const result = (
      outcome: ExecutionOutcome,
      reason: string,
      extra: { state?: OnOff; confirmed?: OnOff; errorCode?: string } = {},
    ): AutomationExecution => ({
      source: 'schedule',
      id: s.id,
      version: s.version,
      bundleVersion: b.version,
      dueAt: o.dueAt,
      ranAt: now,
      edge: o.edge,
      channelId: s.target.channelId,
      equipment: s.target.equipment,
      channel: s.target.channel,
      state: extra.state ?? o.state,
      outcome,
      reason: reason.slice(0, 1000),
      ...(extra.confirmed ? { confirmed: extra.confirmed } : {}),
      ...(extra.errorCode ? { errorCode: extra.errorCode } : {}),
    });
    if (d.outcome === 'missed')
      return result(
        'missed',
        `${o.reason}; the node did not run it: ${lateMin} min late is beyond the grace period of ${s.graceMin} min`,
      );
    if (d.outcome === 'superseded')
      return result(
        'superseded',
        `${o.reason}; replaced by a later action of this schedule in the same catch-up`,
      );

    const sameChannel = b.schedules.filter((x) => x.target.channelId === s.target.channelId && x.id !== s.id);
    const open = (x: BundleSchedule) => activeWindow(defOf(x), place, o.dueAt);
    const holder = sameChannel
      .filter((x) => compareRank(x, s) < 0)
      .sort(compareRank)
      .find((x) => open(x));
    if (holder) {
      const w = open(holder)!;
      return result(
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
      reason = `${reason}; caught up ${lateMin} min late (within the grace period of ${s.graceMin} min)`;
    reason = `${reason}; run by the node`;
    if (b.site.paused)
      return result('refused', `${reason}; refused: automation is paused on this site`, {
        state,
        errorCode: 'WF_CONFLICT',
      });
    const { equipment, channel, limits } = s.target;
    const source = this.deps.sources().get(equipment);
    if (!source || !hasRelay(source))
      return result('failed', `${reason}; failed: no relay "${equipment}" on this node`, {
        state,
        errorCode: 'UNKNOWN_EQUIPMENT',
      });
    try {
      const changes = this.changes(s.target.channelId, now);
      const current = await source.getRelay(channel || undefined).catch(() => undefined);
      const isChange = state !== (changes.at(-1)?.state ?? current);
      if (isChange) {
        const refused = limitRefusal(
          limits,
          changes.map((c) => ({ at: new Date(c.at), state: c.state })),
          state,
          now,
        );
        if (refused)
          return result('refused', `${reason}; refused: ${refused.message}`, {
            state,
            errorCode: 'WF_CONFLICT',
          });
      }
      const confirmed = await source.setRelay(state, channel || undefined);
      // A change whose read-back disagrees still counts (the load may have moved), as on the hub.
      if (isChange) this.logChange(s.target.channelId, { at: now, state });
      if (confirmed !== state)
        return result('failed', `${reason}; failed: asked ${state}, device reports ${confirmed}`, {
          state,
          confirmed,
          errorCode: 'NOT_CONFIRMED',
        });
      return result('done', reason, { state, confirmed });
    } catch (err) {
      return result('failed', `${reason}; failed: ${(err as Error).message}`, {
        state,
        errorCode: 'COMMAND_FAILED',
      });
    }
  }

  /** The channel's switches made here in the last hour (and the latest one), oldest first. */
  private changes(channelId: string, now: number): Switch[] {
    const all = this.deps.state()?.get<Record<string, Switch[]>>(SWITCHES) ?? {};
    const list = all[channelId] ?? [];
    const recent = list.filter((c) => c.at > now - HOUR_MS);
    const last = list.at(-1);
    return recent.length === 0 && last ? [last] : recent;
  }

  /**
   * A switch the hub asked for (RELAY_SET) of a channel this node automates: logged so the
   * limits here count it too (the hub's own log learns of the node's switches from its events).
   */
  noteManualSwitch(equipment: string, channel: string, state: OnOff): void {
    const target = this.bundle?.schedules.find(
      (s) => s.target.equipment === equipment && s.target.channel === channel,
    )?.target;
    if (!target) return;
    const last = this.changes(target.channelId, this.deps.clock.now()).at(-1);
    if (last?.state !== state) this.logChange(target.channelId, { at: this.deps.clock.now(), state });
  }

  private logChange(channelId: string, change: Switch): void {
    const state = this.deps.state();
    if (!state) return;
    const all = state.get<Record<string, Switch[]>>(SWITCHES) ?? {};
    all[channelId] = [...this.changes(channelId, change.at), change];
    state.set(SWITCHES, all);
  }

  private record(b: AutomationBundle, s: BundleSchedule, exec: AutomationExecution): void {
    const severity = exec.outcome === 'done' || exec.outcome === 'superseded' ? 'info' : 'warning';
    this.deps
      .journal()
      ?.emit(
        EVENT_KINDS.automationExecution,
        severity,
        `schedule "${s.name}" v${s.version} (bundle v${b.version}): ${exec.outcome}, ${exec.reason}`,
        { equipment: exec.equipment, data: exec, ts: exec.ranAt },
      );
    this.deps.logger?.info(
      { schedule: s.id, dueAt: exec.dueAt, outcome: exec.outcome },
      'edge schedule handled',
    );
  }
}
