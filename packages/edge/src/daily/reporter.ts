// One device daily report per local day, sent when the day is over: at local midnight, as soon
// as every counter has a reading from the new day (the interval across midnight then has its
// share in the old day), and at the latest after a grace period (a counter that stopped reading
// must not hold the report back forever). Days are reported once, oldest first, through the
// durable report queue; the last reported date is kept in the state file, so a restart neither
// repeats nor skips one. A node that was off over midnight reports the missed days when it runs.
import { addDays, localDate, localDayStart } from '@wattfleet/devices/zone';
import type { DailySummary } from '@wattfleet/protocol';
import type { Logger } from 'pino';
import type { AgentState } from '../outbox/agent-state.ts';
import type { ReportQueue } from '../outbox/reports.ts';
import type { Clock } from '../time/clock.ts';
import type { DailyEnergy } from './energy.ts';

const KEY = 'daily.lastReported';
const GRACE_MS = 15 * 60_000;
const CHECK_MS = 1000;

export class DailyReporter {
  private timer: NodeJS.Timeout | undefined;
  /** Called after reports were queued, e.g. to wake the daily uplink. */
  onReport: (() => void) | undefined;

  constructor(
    private readonly energy: DailyEnergy,
    private readonly queue: ReportQueue,
    private readonly state: AgentState,
    private readonly clock: Clock,
    private readonly timezone: string,
    private readonly logger?: Logger,
  ) {}

  start(): void {
    this.stop();
    this.check();
    // A cheap check each second (one indexed query) rather than one timer set for midnight: the
    // clock may be stepped by NTP, and a timer does not follow wall time.
    this.timer = setInterval(() => this.check(), CHECK_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Queues every finished, unreported day; returns the dates reported. */
  check(now = this.clock.now()): string[] {
    const today = localDate(this.timezone, now);
    const last = this.state.get<string>(KEY) ?? '0000-00-00';
    const done: string[] = [];
    for (const date of this.energy.dates(last, today)) {
      const end = localDayStart(this.timezone, addDays(date, 1));
      if (!this.energy.allCountersPast(end) && now < end + GRACE_MS) break;
      const values = this.energy.day(date);
      if (Object.keys(values).length === 0) continue;
      const report: DailySummary = { date, values };
      this.queue.append([report]);
      this.state.set(KEY, date);
      done.push(date);
      this.logger?.info({ date, values }, 'daily report queued');
    }
    if (done.length) this.onReport?.();
    return done;
  }
}
