// Circuit breaker: after a run of failures stop knocking for a while, then let one trial through.
// It keeps a dead hub from costing the node CPU, battery and log lines every few hundred ms.

export type BreakerState = 'closed' | 'open' | 'half-open';

export class CircuitBreaker {
  state: BreakerState = 'closed';
  failures = 0;
  openedAt = 0;
  private readonly threshold: number;
  private readonly cooldownMs: number;

  constructor(opts: { threshold?: number; cooldownMs?: number } = {}) {
    this.threshold = opts.threshold ?? 5;
    this.cooldownMs = opts.cooldownMs ?? 30_000;
  }

  /** Milliseconds to wait before the next attempt is allowed (0 = go). */
  waitMs(now = Date.now()): number {
    if (this.state !== 'open') return 0;
    const left = this.openedAt + this.cooldownMs - now;
    if (left > 0) return left;
    this.state = 'half-open';
    return 0;
  }

  success(): void {
    this.state = 'closed';
    this.failures = 0;
  }

  failure(now = Date.now()): void {
    this.failures++;
    if (this.state === 'half-open' || this.failures >= this.threshold) {
      this.state = 'open';
      this.openedAt = now;
    }
  }
}
