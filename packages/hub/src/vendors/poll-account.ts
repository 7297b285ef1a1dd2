// One poll of one account, end to end: breaker check → credentials from the vault → adapter →
// the same ingest path as an agent (deterministic batch ids) → live snapshot → poll state and
// one connection-log row. Everything that can go wrong becomes an outcome, never an exception.
import { LIMITS, WattfleetError } from '@wattfleet/protocol';
import type { HubContext } from '../context.ts';
import type { TelemetryIngest } from '../ingest/telemetry.service.ts';
import type { Vault } from '../secrets/vault.ts';
import { type PollResult, VendorError, type VendorErrorKind } from './adapters/adapter.ts';
import { vendorHttp } from './adapters/http.ts';
import { ADAPTERS } from './adapters/index.ts';
import { Budget } from './budget.ts';
import type { LiveSnapshot, LiveTarget } from './live-publisher.ts';
import {
  BREAKER_OPEN_MS,
  backoffMs,
  breakerAfter,
  breakerAllows,
  MINUTE_MS,
  nextSlot,
} from './poll-policy.ts';
import type { VendorsConfig } from './vendors.config.ts';
import {
  type AccountRow,
  insertLog,
  type LogEntry,
  type PollState,
  savePollState,
} from './vendors.repository.ts';

export type Outcome = 'ok' | 'slow' | VendorErrorKind;

export interface PollDeps {
  hub: HubContext;
  vault: Vault;
  ingest: TelemetryIngest;
  config: VendorsConfig;
  /** Per-account in-memory sessions (cookies); lost on restart, by design. */
  sessions: Map<string, Map<string, unknown>>;
  publishLive(target: LiveTarget, snapshot: LiveSnapshot): void;
  /** Buffers a connection-log row for a batched insert (the poller's); without it, inserted at once. */
  recordLog?: (entry: LogEntry) => void;
  log: { warn(obj: object, msg: string): void; error(obj: object, msg: string): void };
}

export interface PollReport {
  outcome: Outcome | 'skipped';
  /** When this account should be polled next. */
  nextAt: number;
  stored: number;
  /** The account's row as this poll left it (for the poller's memory). */
  row: AccountRow;
  slowStreak: number;
}

/** A sample of ours or a batch the hub refuses is the vendor sending nonsense: a protocol error. */
async function store(deps: PollDeps, acc: AccountRow, result: PollResult): Promise<number> {
  let stored = 0;
  for (const batch of result.batches) {
    const max = LIMITS.telemetrySamplesPerBatch;
    for (let i = 0; i < batch.samples.length; i += max) {
      const part = batch.samples.slice(i, i + max);
      if (part.length === 0) continue;
      const suffix = batch.samples.length > max ? `.${i / max}` : '';
      // The poll marks the node seen itself, with its poll state (savePollState).
      const r = await deps.ingest.ingest(
        { nodeId: acc.node_id, siteId: acc.site_id },
        { batchId: `vendor:${batch.key}${suffix}`, samples: part },
        Date.now(),
        { touchLastSeen: false },
      );
      stored += r.stored;
    }
  }
  return stored;
}

export async function pollAccount(
  deps: PollDeps,
  acc: AccountRow,
  mem: { slowStreak: number },
  now = Date.now(),
): Promise<PollReport> {
  const { config, hub } = deps;
  const adapter = ADAPTERS.get(acc.vendor as never);
  const policy = adapter?.policy(config) ?? { minIntervalMs: MINUTE_MS, slowMs: 5_000, timeoutMs: 15_000 };
  const view = {
    breaker: acc.breaker,
    openedAt: acc.breaker_opened_at ? new Date(acc.breaker_opened_at).getTime() : null,
    failures: acc.consecutive_failures,
  };
  const gate = breakerAllows(view, now);
  if (!gate.allowed) {
    return {
      outcome: 'skipped',
      nextAt: gate.retryAt ?? now + BREAKER_OPEN_MS,
      stored: 0,
      row: acc,
      slowStreak: mem.slowStreak,
    };
  }
  // The poll's own time: the minute and the month a poll charges are the ones it runs in (and tests
  // that pin the time get the budget of that time).
  const budget = new Budget(acc.budget, adapter?.quota?.(config), () => now);
  const http = vendorHttp({ timeoutMs: policy.timeoutMs, charge: () => budget.charge() });
  let session = deps.sessions.get(acc.id);
  if (!session) {
    session = new Map();
    deps.sessions.set(acc.id, session);
  }
  const started = performance.now();
  let outcome: Outcome = 'ok';
  let error: VendorError | undefined;
  let result: PollResult | undefined;
  let stored = 0;
  try {
    if (!adapter) throw new VendorError('protocol', `no adapter for vendor "${acc.vendor}"`);
    const credentials = await deps.vault.get<Record<string, unknown>>(hub.db, acc.secret_id);
    result = await adapter.poll({
      config,
      http,
      credentials,
      saveCredentials: (next) => deps.vault.replace(hub.db, acc.secret_id, next),
      session,
      now,
      accountId: acc.id,
      externalId: acc.external_id,
      settings: { ...adapter.defaultSettings, ...acc.settings },
      cursor: acc.cursor,
      budget,
    });
    stored = await store(deps, acc, result);
    if (result.live) {
      deps.publishLive(
        {
          accountId: acc.id,
          nodeId: acc.node_id,
          siteId: acc.site_id,
          siteTopic: acc.settings.siteTopic === true,
        },
        result.live,
      );
    }
    if (http.trace.slowest > policy.slowMs) outcome = 'slow';
  } catch (err) {
    if (err instanceof VendorError) error = err;
    else if (err instanceof WattfleetError)
      error = new VendorError('protocol', `the hub refused the vendor's data: ${err.message}`);
    else {
      deps.log.error({ err, accountId: acc.id }, 'vendor poll failed unexpectedly');
      error = new VendorError('unavailable', 'internal error while polling');
    }
    outcome = error.kind;
  }
  const ms = Math.round(performance.now() - started);
  const ok = outcome === 'ok' || outcome === 'slow';
  // Maintenance and our own budget say nothing about the vendor's health: the breaker ignores them.
  const neutral = outcome === 'maintenance' || outcome === 'budget';
  const after = neutral
    ? view
    : breakerAfter(gate.state === 'half_open' ? { ...view, breaker: 'half_open' } : view, ok, now);
  const slowStreak = outcome === 'slow' ? mem.slowStreak + 1 : ok ? 0 : mem.slowStreak;

  let nextAt: number;
  if (ok) {
    // A slow answer keeps its data but spaces the next polls out, doubling while it stays slow.
    const gap = slowStreak > 0 ? backoffMs(slowStreak + 1, policy.minIntervalMs) : policy.minIntervalMs / 2;
    nextAt = Math.max(nextSlot(acc.id, now, gap, config.jitterMs), now + (result?.nextIntervalMs ?? 0));
  } else if (neutral) {
    nextAt = Math.max(
      nextSlot(acc.id, now, policy.minIntervalMs / 2, config.jitterMs),
      error?.opts.retryAt ?? 0,
    );
  } else if (after.breaker === 'open') {
    nextAt = (after.openedAt ?? now) + BREAKER_OPEN_MS;
  } else {
    nextAt = Math.max(now + backoffMs(after.failures, policy.minIntervalMs), error?.opts.retryAt ?? 0);
  }

  const rejected = outcome === 'credentials' || outcome === 'reauthorise';
  const failingSince = ok ? null : neutral ? acc.failing_since : (acc.failing_since ?? new Date(now));
  const notices = { ...acc.notices };
  for (const [k, v] of Object.entries(result?.notices ?? {})) {
    if (v) notices[k] = notices[k] ?? v;
    else delete notices[k];
  }
  const state: PollState = {
    consecutive_failures: after.failures,
    breaker: after.breaker,
    breaker_opened_at: after.openedAt ? new Date(after.openedAt) : null,
    failing_since: failingSince ? new Date(failingSince) : null,
    last_poll_at: new Date(now),
    ...(ok ? { last_success_at: new Date(now) } : {}),
    last_error: ok ? null : (error?.message ?? null),
    ...(result?.cursor ? { cursor: result.cursor } : {}),
    budget: { ...budget.state },
    notices,
    ...(rejected
      ? {
          status: outcome === 'credentials' ? 'credentials_rejected' : 'reauthorise',
          status_message: error?.message ?? null,
        }
      : {}),
  };
  const held = await savePollState(
    hub.db,
    acc.id,
    config.hubId,
    state,
    ok ? { nodeId: acc.node_id, at: new Date(now) } : undefined,
  );
  const entry: LogEntry = {
    account_id: acc.id,
    site_id: acc.site_id,
    at: new Date(now),
    outcome,
    http_status: error?.opts.httpStatus ?? http.trace.lastStatus ?? null,
    error: error ? error.message.slice(0, 500) : (result?.note ?? null),
    response_ms: ms,
    hub: config.hubId,
  };
  if (deps.recordLog) deps.recordLog(entry);
  else await insertLog(hub.db, [entry]);
  // Alerts are evaluated at once when an account's health changes (credentials: "at once").
  const changed =
    rejected || (ok && acc.failing_since !== null) || (!ok && !neutral && acc.failing_since === null);
  if (changed) {
    hub.bus.emitEvent('node.status', {
      nodeId: acc.node_id,
      siteId: acc.site_id,
      status: ok ? 'online' : 'failing',
      reason: `vendor_${outcome}`,
    });
  }
  const row: AccountRow = {
    ...acc,
    ...state,
    cursor: state.cursor ?? acc.cursor,
    notices,
    status: state.status ?? acc.status,
    status_message: state.status_message ?? acc.status_message,
    last_success_at: state.last_success_at ?? acc.last_success_at,
    lease_owner: held ? acc.lease_owner : null,
  };
  return { outcome, nextAt, stored, row, slowStreak };
}
