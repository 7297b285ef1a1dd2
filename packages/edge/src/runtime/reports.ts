// Everything the agent tells the hub besides telemetry: events (equipment reachability, updates,
// config rollbacks, restarts and why, error bursts, clock trouble) and one daily report per local
// day. Both go through durable queues in the state file and their own uplinks, over the same
// transport as telemetry (signed HTTP to /ingest/events and /ingest/daily, or MQTT QoS 1 on the
// events and daily topics); the hub claims batch ids, so each arrives exactly once.
import type { AgentConfig } from '@wattfleet/devices/config';
import type Database from 'better-sqlite3';
import type { Logger } from 'pino';
import { DailyEnergy } from '../daily/energy.ts';
import { DailyReporter } from '../daily/reporter.ts';
import { ClockMonitor } from '../events/clock-monitor.ts';
import type { ErrorBurst } from '../events/error-burst.ts';
import { EventJournal } from '../events/journal.ts';
import { NtpMonitor } from '../events/ntp-monitor.ts';
import { Reachability } from '../events/reachability.ts';
import { RestartTracker, type RestartVerdict } from '../events/restart.ts';
import { AgentState } from '../outbox/agent-state.ts';
import { type ReportChannel, ReportQueue } from '../outbox/reports.ts';
import type { Reading } from '../sources/types.ts';
import type { Clock } from '../time/clock.ts';
import type { NtpState } from '../time/ntp.ts';
import type { TelemetryTransport } from '../uplink/transport.ts';
import { Uplink } from '../uplink/uplink.ts';

export interface ReportsOptions {
  db: Database.Database;
  config: AgentConfig;
  clock: Clock;
  logger: Logger;
  bootId: string;
  startedAt: number;
  burst?: ErrorBurst;
  /** Asks the OS whether NTP keeps its clock (default time/ntp.ts probeNtp). */
  ntpProbe?: () => Promise<NtpState>;
}

export class AgentReports {
  readonly state: AgentState;
  readonly queues: Record<ReportChannel, ReportQueue>;
  readonly journal: EventJournal;
  readonly reachability: Reachability;
  readonly restarts: RestartTracker;
  readonly clock: ClockMonitor;
  readonly ntp: NtpMonitor;
  energy: DailyEnergy;
  reporter: DailyReporter;
  private uplinks: Uplink[] = [];

  constructor(private readonly opts: ReportsOptions) {
    const { db, config, logger } = opts;
    this.state = new AgentState(db);
    this.queues = { events: new ReportQueue(db, 'events'), daily: new ReportQueue(db, 'daily') };
    this.journal = new EventJournal(this.queues.events, opts.clock, logger);
    this.journal.onEmit = () => this.nudge();
    this.reachability = new Reachability(this.journal, this.state, config.health.unreachableAfter);
    this.restarts = new RestartTracker(this.state, opts.bootId, opts.startedAt);
    this.clock = new ClockMonitor(this.journal, this.state, logger);
    this.ntp = new NtpMonitor(this.journal, this.state, {
      ...(opts.ntpProbe ? { probe: opts.ntpProbe } : {}),
      logger,
    });
    if (opts.burst) opts.burst.journal = this.journal;
    this.energy = new DailyEnergy(db, config.site.timezone);
    this.reporter = this.buildReporter(config);
  }

  private buildReporter(config: AgentConfig): DailyReporter {
    const r = new DailyReporter(
      this.energy,
      this.queues.daily,
      this.state,
      this.opts.clock,
      config.site.timezone,
      this.opts.logger,
    );
    r.onReport = () => this.nudge();
    return r;
  }

  /** At start: say why we (re)started, then watch the calendar. */
  begin(sourceKeys: Iterable<string>): RestartVerdict {
    const verdict = this.restarts.begin(this.journal);
    this.reachability.retain(sourceKeys);
    this.reporter.start();
    this.ntp.start();
    return verdict;
  }

  /** Inside the outbox's append transaction. */
  record(readings: Reading[]): void {
    this.energy.record(readings);
  }

  /** CONFIG_PUSH: a new site zone changes where days begin; removed sources are closed. */
  reload(config: AgentConfig, sourceKeys: Iterable<string>): void {
    this.reporter.stop();
    this.energy = new DailyEnergy(this.opts.db, config.site.timezone);
    this.reporter = this.buildReporter(config);
    this.reporter.start();
    this.reachability.retain(sourceKeys);
  }

  startUplinks(transport: (channel: ReportChannel) => TelemetryTransport, config: AgentConfig): void {
    for (const channel of ['events', 'daily'] as const) {
      const uplink = new Uplink(this.queues[channel], transport(channel), {
        batchMaxSamples: 200,
        // Events are few and each may matter: a short wait gathers a burst into one batch.
        batchMaxAgeMs: Math.min(config.uplink.batchMaxAgeMs, 1000),
        idleMs: 1000,
        logger: this.opts.logger,
      });
      uplink.start();
      this.uplinks.push(uplink);
    }
  }

  async stopUplinks(): Promise<void> {
    const uplinks = this.uplinks;
    this.uplinks = [];
    await Promise.all(uplinks.map((u) => u.stop()));
  }

  private nudge(): void {
    for (const u of this.uplinks) u.nudge();
  }

  stop(): void {
    this.reporter.stop();
    this.ntp.stop();
  }

  pending(): { events: number; daily: number } {
    return { events: this.queues.events.pending(), daily: this.queues.daily.pending() };
  }

  status() {
    return {
      pending: this.pending(),
      clock: this.clock.view,
      ntp: this.ntp.view,
      lastDailyReport: this.state.get<string>('daily.lastReported') ?? null,
    };
  }
}
