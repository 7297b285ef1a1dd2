// Login throttling that does not lock the rightful owner out. Wrong passwords are counted per
// account, per source address and per (account, address) pair, in the database so every hub sees
// the same counts. After a few failures an account gets a delay that doubles with each further
// failure, but the delay only holds back clients that have themselves failed against it: a
// correct password from an address that has not failed goes through. A source address that
// fails too often (whatever the accounts) is refused for the rest of its window. The address is
// Fastify's request.ip, which honours X-Forwarded-For only when TRUST_PROXY says a proxy is ours.
import type { Kysely } from 'kysely';
import type { DB } from '../storage/schema.ts';
import { addFailure, forgivePair, throttleRows } from './login-throttle.repository.ts';

export interface ThrottleLimits {
  /** Wrong passwords an account takes before delays start. */
  accountFreeFailures: number;
  /** The first delay; it doubles with every further failure, up to accountMaxDelayS. */
  accountBaseDelayS: number;
  accountMaxDelayS: number;
  /** Failures from one address (any accounts) within ipWindowS before it is refused. */
  ipMaxFailures: number;
  ipWindowS: number;
  /** Account and pair failures are forgotten after this long without a new one. */
  memoryS: number;
}

export const DEFAULT_THROTTLE_LIMITS: ThrottleLimits = {
  accountFreeFailures: 5,
  accountBaseDelayS: 2,
  accountMaxDelayS: 15 * 60,
  ipMaxFailures: 20,
  ipWindowS: 15 * 60,
  memoryS: 24 * 3600,
};

export type Verdict =
  | { allowed: true }
  | { allowed: false; retryAfterS: number; reason: 'account' | 'address' };

const keys = (email: string, ip: string) => ({
  account: `account:${email}`,
  ip: `ip:${ip}`,
  pair: `pair:${email}|${ip}`,
});

export class LoginThrottle {
  constructor(
    private readonly db: Kysely<DB>,
    private readonly limits: ThrottleLimits,
    private readonly now: () => number,
  ) {}

  /** The delay an account is under after `failures` wrong passwords (0 while still free). */
  delayS(failures: number): number {
    const over = failures - this.limits.accountFreeFailures;
    if (over < 0) return 0;
    return Math.min(this.limits.accountMaxDelayS, this.limits.accountBaseDelayS * 2 ** Math.min(over, 30));
  }

  async check(email: string, ip: string): Promise<Verdict> {
    const k = keys(email, ip);
    const now = this.now();
    const rows = await throttleRows(this.db, [k.account, k.ip, k.pair]);
    const row = (key: string) => rows.find((r) => r.key === key);
    const addr = row(k.ip);
    if (addr && addr.failures >= this.limits.ipMaxFailures) {
      const until = addr.first_failure_at.getTime() + this.limits.ipWindowS * 1000;
      if (until > now)
        return { allowed: false, reason: 'address', retryAfterS: Math.ceil((until - now) / 1000) };
    }
    const fresh = (r: { last_failure_at: Date } | undefined) =>
      r !== undefined && r.last_failure_at.getTime() > now - this.limits.memoryS * 1000;
    const account = row(k.account);
    const pair = row(k.pair);
    if (!fresh(account) || !fresh(pair)) return { allowed: true };
    const until = account!.last_failure_at.getTime() + this.delayS(account!.failures) * 1000;
    if (until <= now) return { allowed: true };
    return { allowed: false, reason: 'account', retryAfterS: Math.ceil((until - now) / 1000) };
  }

  async recordFailure(email: string, ip: string): Promise<void> {
    const k = keys(email, ip);
    const now = new Date(this.now());
    const forgetBefore = new Date(this.now() - this.limits.memoryS * 1000);
    const windowStart = new Date(this.now() - this.limits.ipWindowS * 1000);
    // Account and pair: a count that restarts after a quiet `memoryS`; address: a fixed window.
    await addFailure(this.db, k.account, now, 'last_failure_at', forgetBefore);
    await addFailure(this.db, k.pair, now, 'last_failure_at', forgetBefore);
    await addFailure(this.db, k.ip, now, 'first_failure_at', windowStart);
  }

  /**
   * A correct password: this client's own failures are forgiven (on the account and its address
   * as well); failures by other clients stay, so an ongoing guessing attack keeps its delay.
   */
  async recordSuccess(email: string, ip: string): Promise<void> {
    const k = keys(email, ip);
    const stale = new Date(this.now() - Math.max(this.limits.memoryS, this.limits.ipWindowS) * 1000);
    await forgivePair(this.db, k.pair, [k.account, k.ip], stale);
  }
}
