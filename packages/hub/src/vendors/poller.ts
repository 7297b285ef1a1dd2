// The poller of one hub: claims leases on accounts (exactly one hub polls an account at a time;
// a dead hub's accounts move to another once its lease runs out), keeps each account's next due
// time in memory, and runs due polls with bounded concurrency. Polls are spread over the minute
// by each account's fixed slot plus jitter (poll-policy.ts).
import { ADAPTERS } from './adapters/index.ts';
import { type PollDeps, type PollReport, pollAccount } from './poll-account.ts';
import { MINUTE_MS, nextSlot } from './poll-policy.ts';
import {
  type AccountRow,
  claimLeases,
  insertLog,
  type LogEntry,
  releaseLeases,
} from './vendors.repository.ts';

interface Tracked {
  row: AccountRow;
  dueAt: number;
  slowStreak: number;
  running: boolean;
}

export interface PollerStats {
  polls: number;
  /** Polls that started less than a minute after they were due. */
  onTime: number;
  stored: number;
  outcomes: Record<string, number>;
}

const TICK_MS = 100;
/** Connection-log rows are inserted together: one statement a second, not one per poll. */
const LOG_FLUSH_MS = 1_000;
const LOG_FLUSH_ROWS = 500;

export class VendorPoller {
  private readonly tracked = new Map<string, Tracked>();
  private readonly inFlight = new Set<Promise<void>>();
  private timers: NodeJS.Timeout[] = [];
  private stopped = true;
  /** Set by stop(): no claims after that (tests drive an unstarted poller through claim/pollNow). */
  private closed = false;
  private claiming: Promise<void> | undefined;
  readonly stats: PollerStats = { polls: 0, onTime: 0, stored: 0, outcomes: {} };
  readonly deps: PollDeps;
  private logRows: LogEntry[] = [];
  private logFlushing: Promise<void> = Promise.resolve();

  constructor(deps: PollDeps) {
    // Set on the given object, not a copy: its getters (the vault, read only when a poll needs it)
    // must stay lazy.
    deps.recordLog = (entry) => this.recordLog(entry);
    this.deps = deps;
  }

  private recordLog(entry: LogEntry): void {
    this.logRows.push(entry);
    if (this.logRows.length >= LOG_FLUSH_ROWS) void this.flushLog();
  }

  /** Writes the buffered connection-log rows (kept for the next flush if the insert fails). */
  flushLog(): Promise<void> {
    this.logFlushing = this.logFlushing.then(async () => {
      const rows = this.logRows;
      if (rows.length === 0) return;
      this.logRows = [];
      try {
        await insertLog(this.deps.hub.db, rows);
      } catch (err) {
        this.deps.log.warn({ err, rows: rows.length }, 'vendor connection log insert failed; retrying');
        // Bounded: a database that stays away does not grow the buffer without limit.
        this.logRows = [...rows, ...this.logRows].slice(-10 * LOG_FLUSH_ROWS);
      }
    });
    return this.logFlushing;
  }

  get accounts(): number {
    return this.tracked.size;
  }

  start(): void {
    if (!this.stopped || this.closed) return;
    this.stopped = false;
    const { leaseS } = this.deps.config;
    this.timers.push(setInterval(() => void this.claim(), (leaseS * 1000) / 3));
    this.timers.push(setInterval(() => this.tick(), TICK_MS));
    this.timers.push(setInterval(() => void this.flushLog(), LOG_FLUSH_MS));
    for (const t of this.timers) t.unref();
    void this.claim();
  }

  async stop(): Promise<void> {
    this.closed = true;
    if (this.stopped) return;
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    await this.claiming;
    await Promise.all([...this.inFlight]);
    await this.flushLog();
    this.tracked.clear();
    await releaseLeases(this.deps.hub.db, this.deps.config.hubId).catch((err) =>
      this.deps.log.warn({ err }, 'could not release vendor leases'),
    );
  }

  /** When this hub will poll the account next (ms), or undefined when it does not hold it. */
  dueAt(accountId: string): number | undefined {
    return this.tracked.get(accountId)?.dueAt;
  }

  /** Claims and renews leases, and learns about added, changed and removed accounts. */
  claim(): Promise<void> {
    if (this.claiming || this.closed) return this.claiming ?? Promise.resolve();
    this.claiming = (async () => {
      try {
        const rows = await claimLeases(this.deps.hub.db, this.deps.config.hubId, this.deps.config.leaseS);
        const now = Date.now();
        const seen = new Set<string>();
        for (const row of rows) {
          seen.add(row.id);
          const t = this.tracked.get(row.id);
          if (!t) {
            // A new account polls at once; one taken over from another hub keeps its cadence: its
            // next slot after the last poll, or at once when that is already past.
            const min =
              ADAPTERS.get(row.vendor as never)?.policy(this.deps.config).minIntervalMs ?? MINUTE_MS;
            const last = row.last_poll_at ? new Date(row.last_poll_at).getTime() : undefined;
            this.tracked.set(row.id, {
              row,
              dueAt:
                last === undefined
                  ? now
                  : Math.max(now, nextSlot(row.id, last, min / 2, this.deps.config.jitterMs)),
              slowStreak: 0,
              running: false,
            });
          } else if (!t.running) {
            t.row = row;
          }
        }
        for (const id of [...this.tracked.keys()])
          if (!seen.has(id) && !this.tracked.get(id)?.running) this.tracked.delete(id);
      } catch (err) {
        this.deps.log.warn({ err }, 'vendor lease claim failed');
      } finally {
        this.claiming = undefined;
      }
    })();
    return this.claiming;
  }

  private tick(): void {
    if (this.stopped) return;
    const free = this.deps.config.concurrency - this.inFlight.size;
    if (free <= 0) return;
    const now = Date.now();
    const due: Tracked[] = [];
    for (const t of this.tracked.values()) if (!t.running && t.dueAt <= now) due.push(t);
    due.sort((a, b) => a.dueAt - b.dueAt);
    for (const t of due.slice(0, free)) this.launch(t, now);
  }

  private launch(t: Tracked, now: number): void {
    t.running = true;
    const dueAt = t.dueAt;
    const p = pollAccount(this.deps, t.row, t, now)
      .then((r: PollReport) => {
        t.row = r.row;
        t.slowStreak = r.slowStreak;
        t.dueAt = r.nextAt;
        if (r.outcome !== 'skipped') {
          this.stats.polls++;
          if (now - dueAt < 60_000) this.stats.onTime++;
          this.stats.stored += r.stored;
          this.stats.outcomes[r.outcome] = (this.stats.outcomes[r.outcome] ?? 0) + 1;
        }
        // Rejected credentials or a lost lease: stop polling it here until a claim brings it back.
        if (r.row.status !== 'active' || r.row.lease_owner === null) this.tracked.delete(r.row.id);
      })
      .catch((err) => {
        this.deps.log.error({ err, accountId: t.row.id }, 'vendor poll bookkeeping failed');
        t.dueAt = Date.now() + 60_000;
      })
      .finally(() => {
        t.running = false;
        this.inFlight.delete(p);
      });
    this.inFlight.add(p);
  }

  /**
   * Polls one account this hub holds, now, as if `now` were the time (tests drive backoff and the
   * breaker through it); undefined when this hub does not hold it.
   */
  async pollNow(accountId: string, now = Date.now()): Promise<PollReport | undefined> {
    await this.claim();
    const t = this.tracked.get(accountId);
    if (!t || t.running) return undefined;
    t.running = true;
    try {
      const r = await pollAccount(this.deps, t.row, t, now);
      t.row = r.row;
      t.slowStreak = r.slowStreak;
      t.dueAt = r.nextAt;
      if (r.row.status !== 'active' || r.row.lease_owner === null) this.tracked.delete(accountId);
      await this.flushLog();
      return r;
    } finally {
      t.running = false;
    }
  }

  /** Tests: poll every tracked account now, once, and wait (ignores due times, not the breaker). */
  async pollAllNow(): Promise<void> {
    await this.claim();
    const now = Date.now();
    for (const t of this.tracked.values()) if (!t.running) this.launch(t, now);
    await Promise.all([...this.inFlight]);
    await this.flushLog();
  }
}
