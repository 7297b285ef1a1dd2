// A per-account request budget (calls per minute and per calendar month, UTC), kept in the
// account row so it survives restarts and lease moves. Charged before each request: a call the
// budget cannot pay is never made (VendorError 'budget'), so the vendor never sees us over plan.

import type { RequestBudget } from './adapters/adapter.ts';
import { VendorError } from './adapters/adapter.ts';

export interface BudgetState {
  minuteStart: number;
  minuteCount: number;
  month: string;
  monthCount: number;
}

const monthOf = (ms: number) => new Date(ms).toISOString().slice(0, 7);

export function monthEnd(ms: number): number {
  const d = new Date(ms);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
}

export class Budget implements RequestBudget {
  state: BudgetState;
  constructor(
    raw: Record<string, unknown>,
    private readonly quota: { perMinute: number; perMonth: number } | undefined,
    private readonly clock: () => number,
  ) {
    const now = clock();
    const s = raw as Partial<BudgetState>;
    this.state = {
      minuteStart: typeof s.minuteStart === 'number' ? s.minuteStart : now,
      minuteCount: typeof s.minuteCount === 'number' ? s.minuteCount : 0,
      month: typeof s.month === 'string' ? s.month : monthOf(now),
      monthCount: typeof s.monthCount === 'number' ? s.monthCount : 0,
    };
  }

  private roll(): void {
    const now = this.clock();
    if (now - this.state.minuteStart >= 60_000)
      this.state = { ...this.state, minuteStart: now, minuteCount: 0 };
    if (monthOf(now) !== this.state.month) this.state = { ...this.state, month: monthOf(now), monthCount: 0 };
  }

  remaining(): { minute: number; month: number } {
    if (!this.quota) return { minute: Number.POSITIVE_INFINITY, month: Number.POSITIVE_INFINITY };
    this.roll();
    return {
      minute: Math.max(0, this.quota.perMinute - this.state.minuteCount),
      month: Math.max(0, this.quota.perMonth - this.state.monthCount),
    };
  }

  monthRemainingMs(): number {
    const now = this.clock();
    return monthEnd(now) - now;
  }

  /** Called before every request. */
  charge(): void {
    const left = this.remaining();
    if (left.month < 1) {
      throw new VendorError('budget', `monthly request budget (${this.quota?.perMonth}) is spent`, {
        retryAt: monthEnd(this.clock()),
      });
    }
    if (left.minute < 1) {
      throw new VendorError('budget', `per-minute request budget (${this.quota?.perMinute}) is spent`, {
        retryAt: this.state.minuteStart + 60_000,
      });
    }
    this.state.minuteCount++;
    this.state.monthCount++;
  }

  /** The vendor said 429 for a period: believe it and treat that period as spent until its end. */
  exhausted(period: 'minute' | 'month'): void {
    if (!this.quota) return;
    if (period === 'month') this.state.monthCount = Math.max(this.state.monthCount, this.quota.perMonth);
    else this.state.minuteCount = Math.max(this.state.minuteCount, this.quota.perMinute);
  }
}
