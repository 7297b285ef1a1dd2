// The uplink loop: form batches from the outbox, send the oldest first, delete on ack. It never
// holds readings in memory — the outbox is the queue — so a crash or an outage loses nothing,
// and after an outage the backlog drains in recorded order while new readings keep arriving.
import type { Logger } from 'pino';
import { type BackoffOptions, backoffDelay, DEFAULT_BACKOFF } from './backoff.ts';
import { CircuitBreaker } from './breaker.ts';
import type { BatchQueue, TelemetryTransport } from './transport.ts';

export interface UplinkOptions {
  batchMaxSamples: number;
  batchMaxAgeMs: number;
  /** How many formed-but-unsent batches may exist; beyond that samples wait unbatched. */
  maxFormedBatches?: number;
  backoff?: BackoffOptions;
  breaker?: { threshold?: number; cooldownMs?: number };
  idleMs?: number;
  logger?: Logger;
}

export interface UplinkStatus {
  transport: string;
  state: 'idle' | 'sending' | 'backoff' | 'open' | 'stopped';
  consecutiveFailures: number;
  lastSuccessAt: number | null;
  lastError: string | null;
  nextAttemptAt: number | null;
  sentBatches: number;
  sentSamples: number;
  duplicates: number;
  poisonBatches: number;
}

export class Uplink {
  private readonly breaker: CircuitBreaker;
  private running = false;
  private wake: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  private attempt = 0;
  readonly status: UplinkStatus;

  constructor(
    private readonly outbox: BatchQueue,
    private transport: TelemetryTransport,
    private readonly opts: UplinkOptions,
  ) {
    this.breaker = new CircuitBreaker(opts.breaker);
    this.status = {
      transport: transport.name,
      state: 'stopped',
      consecutiveFailures: 0,
      lastSuccessAt: null,
      lastError: null,
      nextAttemptAt: null,
      sentBatches: 0,
      sentSamples: 0,
      duplicates: 0,
      poisonBatches: 0,
    };
  }

  get breakerState() {
    return this.breaker.state;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.status.state = 'idle';
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
    this.status.state = 'stopped';
  }

  /** New readings arrived: skip the rest of an idle wait (never a backoff wait). */
  nudge(): void {
    if (this.status.state === 'idle') this.wake?.();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      const self = this;
      function done() {
        clearTimeout(t);
        self.wake = undefined;
        resolve();
      }
      this.wake = done;
    });
  }

  private async run(): Promise<void> {
    const idleMs = this.opts.idleMs ?? Math.min(200, this.opts.batchMaxAgeMs);
    while (this.running) {
      try {
        this.formBatches();
        const [batch] = this.outbox.batches(1);
        if (!batch) {
          this.status.state = 'idle';
          await this.sleep(idleMs);
          continue;
        }
        const wait = this.breaker.waitMs();
        if (wait > 0) {
          this.status.state = 'open';
          this.status.nextAttemptAt = Date.now() + wait;
          await this.sleep(wait);
          continue;
        }
        this.status.state = 'sending';
        const result = await this.transport.send(batch);
        if (result.kind === 'acked') {
          this.outbox.ack(batch.id);
          this.breaker.success();
          this.attempt = 0;
          this.status.consecutiveFailures = 0;
          this.status.lastSuccessAt = Date.now();
          this.status.nextAttemptAt = null;
          this.status.sentBatches++;
          this.status.sentSamples += batch.count;
          if (result.status === 'duplicate') this.status.duplicates++;
        } else if (result.kind === 'poison') {
          this.outbox.poison(batch.id, result.reason);
          this.status.poisonBatches++;
          this.status.lastError = `batch ${batch.id} refused: ${result.reason}`;
          this.opts.logger?.error(
            { batchId: batch.id, reason: result.reason },
            'batch refused by the hub; moved aside',
          );
        } else {
          this.outbox.recordAttempt(batch.id, result.reason);
          // A busy hub (429) is alive: wait as told, but do not count it toward opening the breaker.
          if (!result.busy) this.breaker.failure();
          const delay = Math.max(
            result.retryAfterMs ?? 0,
            backoffDelay(this.attempt++, this.opts.backoff ?? DEFAULT_BACKOFF),
          );
          this.status.consecutiveFailures++;
          this.status.lastError = result.reason;
          this.status.state = 'backoff';
          this.status.nextAttemptAt = Date.now() + delay;
          this.opts.logger?.warn(
            { batchId: batch.id, reason: result.reason, delayMs: delay },
            'uplink retry',
          );
          await this.sleep(delay);
        }
      } catch (err) {
        this.status.lastError = (err as Error).message;
        this.opts.logger?.error({ err }, 'uplink loop error');
        await this.sleep(1000);
      }
    }
  }

  private formBatches(): void {
    const max = this.opts.maxFormedBatches ?? 4;
    let formed = this.outbox.batchCount();
    while (formed < max) {
      const b = this.outbox.formBatch({
        maxSamples: this.opts.batchMaxSamples,
        maxAgeMs: this.opts.batchMaxAgeMs,
      });
      if (!b) break;
      formed++;
    }
  }
}
