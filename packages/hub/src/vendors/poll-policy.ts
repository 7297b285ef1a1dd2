// Pure scheduling rules of the poller (unit-tested without a clock): where in the minute an
// account polls, how long it waits after trouble, and the circuit breaker's transitions.
import { createHash } from 'node:crypto';
import type { BreakerState } from './vendors.tables.ts';

export const MINUTE_MS = 60_000;
/** Failures in a row that open the breaker. */
export const BREAKER_THRESHOLD = 5;
/** How long an open breaker waits before one half-open probe. */
export const BREAKER_OPEN_MS = 5 * MINUTE_MS;
/** Backoff never waits longer than this. */
export const BACKOFF_CAP_MS = 15 * MINUTE_MS;

/**
 * Each account's fixed offset in the minute, from its id: 5,000 accounts spread evenly over the
 * minute instead of all firing at :00, and the same account keeps its slot across restarts.
 */
export function slotOffset(accountId: string): number {
  return createHash('sha1').update(accountId).digest().readUInt32BE(0) % MINUTE_MS;
}

/** The account's next slot at least `minGapMs` after `now`, plus jitter in [0, jitterMs). */
export function nextSlot(
  accountId: string,
  now: number,
  minGapMs: number,
  jitterMs: number,
  rand = Math.random,
): number {
  const offset = slotOffset(accountId);
  const earliest = now + minGapMs;
  let t = Math.floor(earliest / MINUTE_MS) * MINUTE_MS + offset;
  if (t < earliest) t += MINUTE_MS;
  return t + Math.floor(rand() * jitterMs);
}

/** Exponential backoff: base · 2^(n−1), capped, with ±25 % jitter so failed accounts do not resync. */
export function backoffMs(failures: number, baseMs: number, rand = Math.random): number {
  const raw = Math.min(BACKOFF_CAP_MS, baseMs * 2 ** Math.max(0, failures - 1));
  return Math.round(raw * (0.75 + rand() * 0.5));
}

export interface BreakerView {
  breaker: BreakerState;
  openedAt: number | null;
  failures: number;
}

/** Whether a poll may run now, and in which breaker state it runs. */
export function breakerAllows(
  b: BreakerView,
  now: number,
): { allowed: boolean; state: BreakerState; retryAt?: number } {
  if (b.breaker !== 'open') return { allowed: true, state: b.breaker };
  const until = (b.openedAt ?? now) + BREAKER_OPEN_MS;
  if (now >= until) return { allowed: true, state: 'half_open' };
  return { allowed: false, state: 'open', retryAt: until };
}

/** Breaker after a poll: any success closes it; a failure opens it at the threshold or in half-open. */
export function breakerAfter(b: BreakerView, ok: boolean, now: number): BreakerView {
  if (ok) return { breaker: 'closed', openedAt: null, failures: 0 };
  const failures = b.failures + 1;
  if (b.breaker === 'half_open' || failures >= BREAKER_THRESHOLD)
    return { breaker: 'open', openedAt: now, failures };
  return { breaker: b.breaker, openedAt: b.openedAt, failures };
}
