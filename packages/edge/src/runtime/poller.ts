// Reads every source on a fixed interval and commits the readings to the outbox before anything
// else sees them. One slow or failing device never delays the others.
import type { Logger } from 'pino';
import type { Outbox } from '../outbox/outbox.ts';
import type { Reading, Source } from '../sources/types.ts';
import type { Clock } from '../time/clock.ts';
import type { LiveState } from './live-state.ts';

export interface SourceHealth {
  key: string;
  type: string;
  lastOkAt: number | null;
  lastError: string | null;
  failingSince: number | null;
  reads: number;
  errors: number;
}

export class Poller {
  readonly health = new Map<string, SourceHealth>();
  private timer: NodeJS.Timeout | undefined;
  private busy = false;
  lastCycleAt = 0;
  onReadings: ((readings: Reading[]) => void) | undefined;
  /** Every read's outcome, per source (reachability events). */
  onSourceResult: ((key: string, error: string | null) => void) | undefined;

  constructor(
    private readonly sources: () => ReadonlyMap<string, Source>,
    private readonly outbox: Outbox,
    private readonly live: LiveState,
    private readonly opts: { intervalMs: number; timeoutMs?: number; logger?: Logger; clock?: Clock },
  ) {}

  /** Set by stop(): a round still waiting on a slow device then keeps its readings to itself. */
  private stopped = false;

  start(): void {
    this.stop();
    this.stopped = false;
    void this.cycle();
    this.timer = setInterval(() => void this.cycle(), this.opts.intervalMs);
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One round: read all sources in parallel, append everything in one transaction. */
  async cycle(now = this.opts.clock?.now() ?? Date.now()): Promise<Reading[]> {
    if (this.busy) return []; // a previous round is still waiting on a slow device
    this.busy = true;
    try {
      const results = await Promise.all([...this.sources()].map(([key, s]) => this.readOne(key, s, now)));
      const readings = results.flat();
      // Stopped meanwhile (a reload or shutdown closes the sources and then the outbox).
      if (this.stopped) return [];
      if (readings.length > 0) {
        const { dropped } = this.outbox.append(readings);
        if (dropped > 0) this.opts.logger?.warn({ dropped }, 'outbox full: oldest samples dropped');
        this.live.update(readings);
        this.onReadings?.(readings);
      }
      this.lastCycleAt = Date.now();
      return readings;
    } finally {
      this.busy = false;
    }
  }

  private async readOne(key: string, source: Source, now: number): Promise<Reading[]> {
    let h = this.health.get(key);
    if (!h) {
      h = {
        key,
        type: source.type,
        lastOkAt: null,
        lastError: null,
        failingSince: null,
        reads: 0,
        errors: 0,
      };
      this.health.set(key, h);
    }
    let timer: NodeJS.Timeout | undefined;
    try {
      const timeoutMs = this.opts.timeoutMs ?? Math.max(1000, this.opts.intervalMs * 2);
      const readings = await Promise.race([
        source.read(now),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
      h.reads++;
      h.lastOkAt = Date.now();
      h.lastError = null;
      h.failingSince = null;
      this.onSourceResult?.(key, null);
      // A reading without equipment is the node's own (e.g. a whole-site meter): kept as given.
      return readings;
    } catch (err) {
      h.errors++;
      h.lastError = (err as Error).message;
      h.failingSince ??= Date.now();
      this.opts.logger?.warn({ source: key, err: h.lastError }, 'source read failed');
      this.onSourceResult?.(key, h.lastError);
      return [];
    } finally {
      clearTimeout(timer);
    }
  }
}
