// Pure rules of the poller: slots spread over the minute, exponential backoff with a cap, the
// breaker's transitions, and the request budget (per minute and per month, refusing before it
// overspends). No clock: times are parameters.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Budget, monthEnd } from '../../src/vendors/budget.ts';
import {
  BACKOFF_CAP_MS,
  BREAKER_OPEN_MS,
  BREAKER_THRESHOLD,
  backoffMs,
  breakerAfter,
  breakerAllows,
  MINUTE_MS,
  nextSlot,
  slotOffset,
} from '../../src/vendors/poll-policy.ts';

describe('poll policy', () => {
  test('slots spread 5,000 accounts over the minute and repeat every minute', () => {
    const perTenSeconds = new Array(6).fill(0);
    for (let i = 0; i < 5000; i++) perTenSeconds[Math.floor(slotOffset(`acc-${i}`) / 10_000)]++;
    for (const n of perTenSeconds) assert.ok(n > 700 && n < 970, `uneven: ${perTenSeconds}`);
    const t0 = Date.UTC(2026, 0, 1);
    const a = nextSlot('x', t0, 0, 0);
    assert.equal(nextSlot('x', a, 30_000, 0), a + MINUTE_MS);
    assert.ok(nextSlot('x', t0, 0, 2_000, () => 0.5) - a === 1_000, 'jitter added');
  });

  test('backoff doubles and stops at the cap', () => {
    const mid = () => 0.5;
    assert.equal(backoffMs(1, 60_000, mid), 60_000);
    assert.equal(backoffMs(2, 60_000, mid), 120_000);
    assert.equal(backoffMs(3, 60_000, mid), 240_000);
    assert.equal(backoffMs(20, 60_000, mid), BACKOFF_CAP_MS);
  });

  test('the breaker opens after N failures, probes half-open, and closes on success', () => {
    let b = { breaker: 'closed' as const, openedAt: null, failures: 0 } as Parameters<typeof breakerAfter>[0];
    for (let i = 0; i < BREAKER_THRESHOLD; i++) b = breakerAfter(b, false, 1000);
    assert.equal(b.breaker, 'open');
    assert.equal(breakerAllows(b, 1000 + BREAKER_OPEN_MS - 1).allowed, false);
    const probe = breakerAllows(b, 1000 + BREAKER_OPEN_MS);
    assert.deepEqual([probe.allowed, probe.state], [true, 'half_open']);
    assert.equal(breakerAfter({ ...b, breaker: 'half_open' }, false, 5).breaker, 'open');
    assert.deepEqual(breakerAfter({ ...b, breaker: 'half_open' }, true, 5), {
      breaker: 'closed',
      openedAt: null,
      failures: 0,
    });
  });

  test('the budget refuses the call that would exceed the minute or the month', () => {
    let now = Date.UTC(2026, 4, 31, 23, 58);
    const budget = new Budget({}, { perMinute: 10, perMonth: 12 }, () => now);
    for (let i = 0; i < 10; i++) budget.charge();
    assert.throws(() => budget.charge(), { kind: 'budget', message: /per-minute/ });
    now += 60_000;
    budget.charge();
    budget.charge();
    assert.throws(
      () => budget.charge(),
      (e: { kind: string; opts: { retryAt: number } }) => {
        assert.equal(e.kind, 'budget');
        assert.equal(e.opts.retryAt, monthEnd(now));
        return true;
      },
    );
    now += 60_000; // a new month
    budget.charge();
    assert.equal(budget.state.monthCount, 1);
    // The state round-trips through the account row.
    assert.equal(
      new Budget({ ...budget.state }, { perMinute: 10, perMonth: 12 }, () => now).remaining().month,
      11,
    );
  });
});
