// The seam every vendor cloud plugs into: one file per vendor implements VendorAdapter. The
// poller owns scheduling, backoff, the breaker, leases, storage and the connection log; an
// adapter only knows how to talk to its vendor (log in, read latest, read history) and how to map
// what it reads onto the metric catalogue. Copy adapters/blueprint.ts to add a vendor.
import type { Sample } from '@wattfleet/protocol';
import type { TSchema } from 'typebox';
import type { VendorsConfig } from '../vendors.config.ts';
import type { VendorHttp } from './http.ts';

export type VendorName = 'select_live' | 'enphase' | 'blueprint';

/** How hard an adapter may press its vendor. */
export interface RatePolicy {
  /** Never poll one account more often than this. */
  minIntervalMs: number;
  /** A request slower than this is a sign of overload: the data is kept, the next poll backs off. */
  slowMs: number;
  /** A request slower than this is abandoned and counts as a failure. */
  timeoutMs: number;
}

/** What "test connection" shows before an account is saved. */
export interface SystemInfo {
  externalId: string;
  name?: string;
  model?: string;
  serial?: string;
  sizeW?: number;
  timezone?: string;
}

/** A condition the adapter noticed that the owner should see (e.g. a sign that looks inverted). */
export interface Notice {
  message: string;
  since: number;
}

export interface PollBatch {
  /**
   * Deterministic part of the batch id, built from vendor timestamps only: polling the same
   * vendor data again (re-poll, restart, another hub) yields the same id and stores nothing twice.
   */
  key: string;
  samples: Sample[];
}

export interface PollResult {
  batches: PollBatch[];
  /** The newest values, for nodes/{id}/live. */
  live?: { ts: number; values: Record<string, number> };
  /** Replaces the account's cursor (adapter-owned progress: last counters, last interval read…). */
  cursor?: Record<string, unknown>;
  /** Notices to raise (value) or clear (null), by name. */
  notices?: Record<string, Notice | null>;
  /** The next poll no earlier than this many ms from now (thinning out for a budget). */
  nextIntervalMs?: number;
  /** One line for the connection log, e.g. why the adapter thinned out. */
  note?: string;
}

export interface AdapterContext<C> {
  config: VendorsConfig;
  http: VendorHttp;
  credentials: C;
  /** Stores changed credentials (rotated OAuth tokens) in the vault before the poll goes on. */
  saveCredentials(next: C): Promise<void>;
  /** Per-hub, in-memory state for this account (a session cookie); lost on restart, by design. */
  session: Map<string, unknown>;
  now: number;
}

export interface PollContext<C> extends AdapterContext<C> {
  accountId: string;
  externalId: string;
  settings: Record<string, unknown>;
  cursor: Record<string, unknown>;
  /** Requests this poll may still make under the account's budget (Infinity when unlimited). */
  budget: RequestBudget;
}

export interface RequestBudget {
  /** Requests left in the current minute / month. */
  remaining(): { minute: number; month: number };
  /** Ms left until the month's quota resets (for spreading what is left). */
  monthRemainingMs(): number;
  /** The vendor said 429 for this period: treat it as spent until it ends. */
  exhausted?(period: 'minute' | 'month'): void;
}

export interface VendorAdapter<C = Record<string, unknown>> {
  readonly vendor: VendorName;
  readonly label: string;
  /** What the owner enters (validated at the API with this schema; stored only in the vault). */
  readonly credentials: TSchema;
  /** Account settings and their defaults (the owner may change them). */
  readonly defaultSettings: Record<string, unknown>;
  /** Requests per minute / month per account (undefined: the vendor publishes none). */
  readonly quota?: (config: VendorsConfig) => { perMinute: number; perMonth: number };
  policy(config: VendorsConfig): RatePolicy;
  /** Logs in and describes the system, without storing anything. Throws VendorError. */
  connect(ctx: AdapterContext<C>, externalId: string): Promise<SystemInfo>;
  /** Reads what is new since ctx.cursor. Throws VendorError. */
  poll(ctx: PollContext<C>): Promise<PollResult>;
}

export type VendorErrorKind =
  /** The vendor refused the stored credentials: stop polling, tell the owner at once. */
  | 'credentials'
  /** An OAuth grant was revoked or expired: the owner must authorise again. */
  | 'reauthorise'
  /** The vendor said 429; retryAt when it said until when. */
  | 'rate_limited'
  /** A known maintenance window: skip quietly, the breaker does not count it. */
  | 'maintenance'
  /** 5xx, network error, timeout: back off, the breaker counts it. */
  | 'unavailable'
  /** The answer did not have the published shape. */
  | 'protocol'
  /** Our own request budget is spent: skip until it refills (no request was made). */
  | 'budget';

export class VendorError extends Error {
  override name = 'VendorError';
  constructor(
    readonly kind: VendorErrorKind,
    message: string,
    readonly opts: { httpStatus?: number; retryAt?: number } = {},
  ) {
    super(message);
  }
}
