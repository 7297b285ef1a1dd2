// Enphase Enlighten Systems API v4 (Monitoring API). Published behaviour this follows, and where
// each fact comes from:
// - [quickstart] developer-v4.enphase.com/docs/quickstart.html: the owner approves the app at
//   {base}/oauth/authorize?response_type=code&client_id=…&redirect_uri=…, which hands a `code`
//   back; POST {base}/oauth/token with grant_type=authorization_code, redirect_uri, code (the
//   sample sends them as query parameters) and HTTP Basic client authentication
//   (base64(client_id:client_secret)) answers {access_token, token_type: "bearer", refresh_token,
//   expires_in: 86393, …}. grant_type=refresh_token&refresh_token=… gets a new pair. The access
//   token is valid 1 day, the refresh token 1 week (Watt/Kilowatt/Megawatt plans). API requests
//   carry `Authorization: Bearer <access_token>` and the application's API key as `key`.
// - [spec] developer-v4.enphase.com/swagger/spec/System_API.json (Monitoring API v4):
//   GET /api/v4/systems → {total, current_page, size, count, items: "systems", systems: [{system_id,
//   name, timezone, status, …}]}; GET /api/v4/systems/{id}/summary → {system_id, size_w, modules,
//   source ("meter" | "microinverters"), status, current_power, energy_lifetime, energy_today,
//   last_interval_end_at, …}; GET …/telemetry/production_micro?start_at&granularity → intervals
//   of 5 min {end_at, devices_reporting, powr (W average), enwh (Wh in the interval)};
//   …/telemetry/production_meter → 15-min intervals {end_at, devices_reporting, wh_del};
//   …/telemetry/consumption_meter → 15-min intervals {end_at, devices_reporting, enwh}. Intervals
//   are labelled by their END. The answer's end_at is min(request time, start_at + granularity);
//   granularity day = up to 288 (micro) / 96 (meter) intervals, week = 7 days; start_at within 2
//   years; 401 Not Authorized, 403 Forbidden, 404 system not found, 422 bad date range, 429 Too
//   Many Requests with {message, details, code, period: "minute"|"month", period_start,
//   period_end, limit} (no Retry-After is documented).
// - [issue 20] data arrives tens of minutes late; entry plan: 10 requests/minute, 1,000/month.
// - [RFC 6749 §5.2] the token endpoint's error body ({"error": "invalid_grant"}, 400; invalid
//   client 401): Enphase publishes no error body for it, so the standard one is assumed.
//
// Mapping (catalogue, packages/protocol/src/metrics.ts): production → solar_w (W, the interval's
// average power) and solar_wh; consumption meter → load_w and load_wh. Energy counters restart
// at 0 every UTC day and add each interval's Wh: a counter is then a function of the vendor's own
// intervals of that day only, so a re-read, a restart with an old cursor or a repeated backfill
// recomputes exactly the same values (stored once, by batch id and by sample key), and the rollups'
// reset rule counts the first interval after midnight as its own reading (no energy lost). Every
// poll re-reads from midnight of the last stored interval's day (one request per stream: a day is
// one page), so intervals that arrived late are picked up and nothing stored is sent twice.
import { checker, type Sample } from '@wattfleet/protocol';
import Type from 'typebox';
import type { VendorsConfig } from '../vendors.config.ts';
import type {
  AdapterContext,
  PollContext,
  PollResult,
  RequestBudget,
  SystemInfo,
  VendorAdapter,
} from './adapter.ts';
import { VendorError } from './adapter.ts';
import { type HttpAnswer, parseJson, type VendorHttp } from './http.ts';

/** What the owner hands over: the id of a grant made by the authorisation-code exchange. */
export const EnphaseCredentials = Type.Object(
  {
    grant: Type.String({
      format: 'uuid',
      description: 'From POST /sites/{siteId}/vendor-accounts/enphase/authorize',
    }),
  },
  { additionalProperties: false },
);

/** What the vault keeps for an Enphase account (never entered by anyone, never answered). */
export interface EnphaseTokens {
  accessToken: string;
  refreshToken: string;
  /** Epoch ms when the access token expires. */
  expiresAt: number;
  /** Set while the grant is not attached to an account yet: the site it was made for. */
  pendingSiteId?: string;
}

const DAY_S = 86_400;
/** Refresh this long before the access token expires (it lives a day; polls may be far apart). */
export const REFRESH_AHEAD_MS = 6 * 3_600_000;
/** History read on registration [issue 20]. */
export const BACKFILL_DAYS = 7;
/** At most this many telemetry pages per stream and poll (catching up continues next poll). */
const MAX_PAGES = 4;

const Int = Type.Number();
const TokenAnswer = checker(
  Type.Object({
    access_token: Type.String({ minLength: 1 }),
    refresh_token: Type.String({ minLength: 1 }),
    expires_in: Int,
  }),
);
const SystemsAnswer = checker(
  Type.Object({
    systems: Type.Array(
      Type.Object({
        system_id: Int,
        name: Type.Optional(Type.String()),
        timezone: Type.Optional(Type.Union([Type.String(), Type.Null()])),
        status: Type.Optional(Type.String()),
      }),
    ),
  }),
);
const SummaryAnswer = checker(
  Type.Object({
    system_id: Int,
    size_w: Type.Optional(Type.Union([Int, Type.Null()])),
    modules: Type.Optional(Type.Union([Int, Type.Null()])),
    source: Type.Optional(Type.String()),
    status: Type.Optional(Type.String()),
  }),
);
const Interval = Type.Object({
  end_at: Int,
  devices_reporting: Type.Optional(Int),
  powr: Type.Optional(Int),
  enwh: Type.Optional(Int),
  wh_del: Type.Optional(Int),
});
const TelemetryAnswer = checker(
  Type.Object({
    end_at: Type.Optional(Int),
    total_devices: Type.Optional(Int),
    intervals: Type.Array(Interval),
  }),
);
type IntervalRow = { end_at: number; powr?: number; enwh?: number; wh_del?: number };
const TooMany = checker(
  Type.Object({
    period: Type.Optional(Type.String()),
    period_start: Type.Optional(Int),
    period_end: Type.Optional(Int),
    limit: Type.Optional(Int),
  }),
);

export interface EnphaseSystem {
  externalId: string;
  name?: string;
  timezone?: string;
  status?: string;
}

// ---------------------------------------------------------------------------------------------
// OAuth 2

function clientAuth(config: VendorsConfig): string {
  const { clientId, clientSecret } = config.enphase;
  if (!clientId || !clientSecret) {
    throw new VendorError(
      'unavailable',
      'the hub has no Enphase client id/secret (ENPHASE_CLIENT_ID/SECRET)',
    );
  }
  return `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}`;
}

/** Where the owner approves the application [quickstart]. */
export function authorizeUrl(config: VendorsConfig, redirectUri: string): string {
  if (!config.enphase.clientId) throw new VendorError('unavailable', 'the hub has no Enphase client id');
  const q = new URLSearchParams({
    response_type: 'code',
    client_id: config.enphase.clientId,
    redirect_uri: redirectUri,
  });
  return `${config.enphase.baseUrl}/oauth/authorize?${q}`;
}

async function tokenRequest(
  config: VendorsConfig,
  http: VendorHttp,
  params: Record<string, string>,
  now: number,
  kind: 'code' | 'refresh',
): Promise<EnphaseTokens> {
  const res = await http.request(`${config.enphase.baseUrl}/oauth/token?${new URLSearchParams(params)}`, {
    method: 'POST',
    headers: { authorization: clientAuth(config), accept: 'application/json' },
    // The token endpoint is not an API "hit" of the plan: it does not spend the request budget.
    uncharged: true,
  });
  if (res.status === 400 || (res.status === 401 && !/invalid_client/.test(res.text))) {
    const what = kind === 'code' ? 'the authorisation code' : 'the refresh token';
    throw new VendorError('reauthorise', `Enphase refused ${what} (${oauthError(res)})`, {
      httpStatus: res.status,
    });
  }
  if (res.status === 401) {
    throw new VendorError('unavailable', "Enphase refused the hub's client id/secret", { httpStatus: 401 });
  }
  if (res.status === 429)
    throw new VendorError('rate_limited', 'token: 429 Too Many Requests', { httpStatus: 429 });
  if (res.status >= 500)
    throw new VendorError('unavailable', `token: HTTP ${res.status}`, { httpStatus: res.status });
  if (res.status !== 200)
    throw new VendorError('protocol', `token: unexpected HTTP ${res.status}`, { httpStatus: res.status });
  const body = parseJson(res, 'token');
  if (!TokenAnswer.check(body))
    throw new VendorError('protocol', 'token: unexpected shape', { httpStatus: 200 });
  return {
    accessToken: body.access_token,
    refreshToken: body.refresh_token,
    expiresAt: now + body.expires_in * 1000,
  };
}

function oauthError(res: HttpAnswer): string {
  try {
    const b = JSON.parse(res.text) as { error?: string; error_description?: string };
    return [b.error, b.error_description].filter(Boolean).join(': ') || `HTTP ${res.status}`;
  } catch {
    return `HTTP ${res.status}`;
  }
}

/** The one-time exchange of the owner's authorisation code [quickstart]. */
export function exchangeCode(
  config: VendorsConfig,
  http: VendorHttp,
  code: string,
  redirectUri: string,
  now: number,
): Promise<EnphaseTokens> {
  return tokenRequest(
    config,
    http,
    { grant_type: 'authorization_code', redirect_uri: redirectUri, code },
    now,
    'code',
  );
}

/** A new token pair; the old refresh token is dead from here on, so the pair is saved at once. */
async function refresh(ctx: AdapterContext<EnphaseTokens>): Promise<void> {
  const next = await tokenRequest(
    ctx.config,
    ctx.http,
    { grant_type: 'refresh_token', refresh_token: ctx.credentials.refreshToken },
    ctx.now,
    'refresh',
  );
  const pending = ctx.credentials.pendingSiteId;
  ctx.credentials = { ...next, ...(pending ? { pendingSiteId: pending } : {}) };
  await ctx.saveCredentials(ctx.credentials);
}

// ---------------------------------------------------------------------------------------------
// API calls

interface Call {
  ctx: AdapterContext<EnphaseTokens>;
  budget?: RequestBudget;
}

async function api(call: Call, path: string, query: Record<string, string> = {}): Promise<unknown> {
  const { ctx } = call;
  if (!ctx.config.enphase.apiKey)
    throw new VendorError('unavailable', 'the hub has no Enphase API key (ENPHASE_API_KEY)');
  if (ctx.credentials.expiresAt - ctx.now < REFRESH_AHEAD_MS) await refresh(ctx);
  const q = new URLSearchParams({ ...query, key: ctx.config.enphase.apiKey });
  const url = `${ctx.config.enphase.baseUrl}${path}?${q}`;
  for (let attempt = 0; ; attempt++) {
    const res = await ctx.http.request(url, {
      headers: { authorization: `Bearer ${ctx.credentials.accessToken}`, accept: 'application/json' },
    });
    if (res.status === 200) return parseJson(res, path);
    if (res.status === 401 && attempt === 0) {
      // The access token was refused before its time (revoked, or the clock disagrees): refresh
      // once; a refused refresh is the owner's to fix (re-authorise).
      await refresh(ctx);
      continue;
    }
    throw statusError(res, path, call.budget);
  }
}

function statusError(res: HttpAnswer, what: string, budget?: RequestBudget): VendorError {
  const status = res.status;
  if (status === 401)
    return new VendorError('reauthorise', `${what}: Enphase refused the access token`, { httpStatus: 401 });
  if (status === 403 || status === 404) {
    return new VendorError(
      'reauthorise',
      `${what}: HTTP ${status}, the system is not (or no longer) shared with this application`,
      {
        httpStatus: status,
      },
    );
  }
  if (status === 429) {
    let body: unknown;
    try {
      body = JSON.parse(res.text);
    } catch {}
    const b = TooMany.check(body) ? body : {};
    const period = b.period === 'month' ? 'month' : 'minute';
    // Believe the vendor: that period is spent here too, until its end (no Retry-After exists).
    budget?.exhausted?.(period);
    const retryAt = b.period_end ? b.period_end * 1000 : undefined;
    return new VendorError(
      'rate_limited',
      `${what}: 429, the plan's ${period} limit${b.limit ? ` of ${b.limit}` : ''} is used up${
        retryAt ? ` until ${new Date(retryAt).toISOString()}` : ''
      }`,
      { httpStatus: 429, ...(retryAt ? { retryAt } : {}) },
    );
  }
  if (status >= 500) return new VendorError('unavailable', `${what}: HTTP ${status}`, { httpStatus: status });
  return new VendorError('protocol', `${what}: unexpected HTTP ${status}`, { httpStatus: status });
}

function shape<T>(
  c: { check(v: unknown): v is T; problems(v: unknown): { path: string; message: string }[] },
  v: unknown,
  what: string,
): T {
  if (c.check(v)) return v;
  const p = c.problems(v)[0];
  throw new VendorError('protocol', `${what}: unexpected shape (${p?.path} ${p?.message})`, {
    httpStatus: 200,
  });
}

/** The systems this grant may read (GET /api/v4/systems, first 100). */
export async function listSystems(ctx: AdapterContext<EnphaseTokens>): Promise<EnphaseSystem[]> {
  const body = shape(SystemsAnswer, await api({ ctx }, '/api/v4/systems', { size: '100' }), 'systems');
  return body.systems.map((s) => ({
    externalId: String(s.system_id),
    ...(s.name ? { name: s.name } : {}),
    ...(s.timezone ? { timezone: s.timezone } : {}),
    ...(s.status ? { status: s.status } : {}),
  }));
}

async function summary(call: Call, id: string) {
  return shape(
    SummaryAnswer,
    await api(call, `/api/v4/systems/${encodeURIComponent(id)}/summary`),
    'summary',
  );
}

// ---------------------------------------------------------------------------------------------
// Telemetry

export type Stream = 'production_micro' | 'production_meter' | 'consumption_meter';
const INTERVAL_S: Record<Stream, number> = {
  production_micro: 300,
  production_meter: 900,
  consumption_meter: 900,
};

const dayOf = (endAtS: number) => Math.floor((endAtS - 1) / DAY_S);

/**
 * Catalogue samples for the intervals after `afterS` (epoch s), from intervals that start at a UTC
 * midnight: power is the interval's average (W) at its end, the counter the day's Wh so far.
 */
export function mapIntervals(stream: Stream, rows: IntervalRow[], afterS: number): Sample[] {
  const power = stream === 'consumption_meter' ? 'load_w' : 'solar_w';
  const energy = stream === 'consumption_meter' ? 'load_wh' : 'solar_wh';
  const out: Sample[] = [];
  let day = Number.NaN;
  let total = 0;
  const sorted = [...rows].sort((a, b) => a.end_at - b.end_at);
  let last = Number.NEGATIVE_INFINITY;
  for (const r of sorted) {
    if (r.end_at === last) continue;
    last = r.end_at;
    const wh = (stream === 'production_meter' ? r.wh_del : r.enwh) ?? 0;
    const d = dayOf(r.end_at);
    if (d !== day) {
      day = d;
      total = 0;
    }
    total += wh;
    if (r.end_at <= afterS) continue;
    const ts = r.end_at * 1000;
    // production_micro carries the average power; the meters only Wh per interval: W = Wh · 3600 / s.
    const w =
      stream === 'production_micro' && r.powr !== undefined ? r.powr : (wh * 3600) / INTERVAL_S[stream];
    out.push(
      { metric: power, ts, value: w, equipment: 'inverter' },
      { metric: energy, ts, value: total, equipment: 'inverter' },
    );
  }
  return out;
}

interface StreamCursor {
  /** end_at (epoch s) of the newest interval stored. */
  endAt?: number;
  /** The stream has no devices (no consumption meter): not read again before this (epoch ms). */
  noneUntil?: number;
}

interface StreamRead {
  samples: Sample[];
  firstEnd?: number;
  lastEnd?: number;
  requests: number;
  /** Stopped early because the request budget ran out (the rest is read next poll). */
  short: boolean;
  none: boolean;
  /** The newest stored interval was older than the backfill horizon: what lies between is lost. */
  gap: boolean;
}

async function readStream(
  call: Call & { id: string },
  stream: Stream,
  cursor: StreamCursor,
): Promise<StreamRead> {
  const nowS = Math.floor(call.ctx.now / 1000);
  // Midnight (UTC) of the day BACKFILL_DAYS ago: a fixed start, so a repeated backfill reads the same.
  const backfillFrom = Math.floor((nowS - BACKFILL_DAYS * DAY_S) / DAY_S) * DAY_S;
  // Re-read from midnight of the newest stored interval's day (late data, day counters); a cursor
  // older than the backfill horizon starts at the horizon (a gap, which the log shows).
  const after = cursor.endAt ?? 0;
  const gap = cursor.endAt !== undefined && dayOf(cursor.endAt) * DAY_S < backfillFrom;
  let start = cursor.endAt && !gap ? dayOf(cursor.endAt) * DAY_S : backfillFrom;
  const rows: IntervalRow[] = [];
  let requests = 0;
  let short = false;
  let none = false;
  while (start < nowS && requests < MAX_PAGES) {
    if (call.budget && call.budget.remaining().minute < 1 && requests > 0) {
      short = true;
      break;
    }
    const granularity = nowS - start > DAY_S ? 'week' : 'day';
    let raw: unknown;
    try {
      requests++;
      raw = await api(call, `/api/v4/systems/${encodeURIComponent(call.id)}/telemetry/${stream}`, {
        start_at: String(start),
        granularity,
      });
    } catch (err) {
      if (err instanceof VendorError && err.kind === 'budget' && (requests > 1 || rows.length > 0)) {
        short = true;
        break;
      }
      throw err;
    }
    const body = shape(TelemetryAnswer, raw, stream);
    if (body.total_devices === 0) {
      none = true;
      break;
    }
    rows.push(...body.intervals);
    const end = body.end_at ?? start + (granularity === 'week' ? 7 : 1) * DAY_S;
    if (end <= start) break;
    start = end;
  }
  if (requests >= MAX_PAGES && start < nowS) short = true;
  const samples = mapIntervals(stream, rows, after);
  const ends = samples.map((s) => Number(s.ts) / 1000);
  return {
    samples,
    ...(ends.length ? { firstEnd: Math.min(...ends), lastEnd: Math.max(...ends) } : {}),
    requests,
    short,
    none,
    gap,
  };
}

export interface EnphaseCursor {
  source?: 'micro' | 'meter';
  production?: StreamCursor;
  consumption?: StreamCursor;
}

/** Requests a regular poll makes (production + consumption). */
const POLL_COST = 2;

/** When to poll next so that what is left of the month lasts until it refills. */
function pacing(
  ctx: PollContext<EnphaseTokens>,
  baseMs: number,
  cost: number,
): { ms: number; note?: string } {
  const left = ctx.budget.remaining().month;
  if (!Number.isFinite(left)) return { ms: baseMs };
  const spread = Math.ceil((ctx.budget.monthRemainingMs() * cost) / Math.max(1, left));
  if (spread <= baseMs) return { ms: baseMs };
  return {
    ms: spread,
    note: `thinning out: ${left} requests left this month, polling every ${Math.round(spread / 60_000)} min instead of every ${Math.round(baseMs / 60_000)} min`,
  };
}

export const enphaseAdapter: VendorAdapter<EnphaseTokens> = {
  vendor: 'enphase',
  label: 'Enphase Enlighten (API v4)',
  credentials: EnphaseCredentials,
  defaultSettings: {},
  quota: (config) => ({
    perMinute: config.enphase.requestsPerMinute,
    perMonth: config.enphase.requestsPerMonth,
  }),
  policy: (config) => ({ minIntervalMs: 5 * 60_000, slowMs: 10_000, timeoutMs: config.enphase.timeoutMs }),

  async connect(ctx, externalId): Promise<SystemInfo> {
    const systems = await listSystems(ctx);
    const sys = systems.find((s) => s.externalId === externalId);
    if (!sys)
      throw new VendorError('credentials', `system ${externalId} is not shared with this authorisation`);
    const s = await summary({ ctx }, externalId);
    return {
      externalId,
      ...(sys.name ? { name: sys.name } : {}),
      model: `Enphase ${s.source === 'meter' ? 'system (revenue-grade meter)' : 'microinverter system'}${s.modules ? `, ${s.modules} modules` : ''}`,
      serial: externalId,
      ...(s.size_w ? { sizeW: s.size_w } : {}),
      ...(sys.timezone ? { timezone: sys.timezone } : {}),
    };
  },

  async poll(ctx: PollContext<EnphaseTokens>): Promise<PollResult> {
    const call = { ctx, budget: ctx.budget, id: ctx.externalId };
    const cursor = { ...(ctx.cursor as EnphaseCursor) };
    const notes: string[] = [];
    // The production source decides the endpoint; learnt once from the summary.
    if (!cursor.source)
      cursor.source = (await summary(call, ctx.externalId)).source === 'meter' ? 'meter' : 'micro';
    const batches: PollResult['batches'] = [];
    const newest = new Map<string, Sample>();
    let short = false;
    const streams: [keyof Omit<EnphaseCursor, 'source'>, Stream][] = [
      ['production', cursor.source === 'meter' ? 'production_meter' : 'production_micro'],
      ['consumption', 'consumption_meter'],
    ];
    let read = 0;
    for (const [name, stream] of streams) {
      const c = cursor[name] ?? {};
      if (c.noneUntil && c.noneUntil > ctx.now) continue;
      let r: StreamRead;
      try {
        r = await readStream(call, stream, c);
      } catch (err) {
        // Our own budget ran out after something was read: keep that, the rest comes next poll.
        if (err instanceof VendorError && err.kind === 'budget' && read > 0) {
          notes.push(`${stream} skipped: ${err.message}`);
          short = true;
          continue;
        }
        throw err;
      }
      read++;
      short ||= r.short;
      if (r.gap && c.endAt) {
        notes.push(
          `${stream}: no data between ${new Date(c.endAt * 1000).toISOString()} and ${BACKFILL_DAYS} days ago (beyond the backfill)`,
        );
      }
      if (r.none) {
        cursor[name] = { ...c, noneUntil: ctx.now + DAY_S * 1000 };
        continue;
      }
      if (r.lastEnd === undefined) continue;
      batches.push({ key: `en-${ctx.externalId}-${stream}-${r.firstEnd}-${r.lastEnd}`, samples: r.samples });
      cursor[name] = { endAt: r.lastEnd };
      for (const s of r.samples) {
        const prev = newest.get(s.metric);
        if (!prev || Number(s.ts) > Number(prev.ts)) newest.set(s.metric, s);
      }
    }
    const base = ctx.config.enphase.pollIntervalS * 1000;
    const pace = pacing(ctx, base, POLL_COST);
    if (pace.note) notes.push(pace.note);
    if (short) notes.push('catching up: the rest of the history is read at the next poll');
    // Live: the newest interval of each stream (they lag by tens of minutes, so this is not "now").
    const live = [...newest.values()];
    return {
      batches,
      ...(live.length
        ? {
            live: {
              ts: Math.max(...live.map((s) => Number(s.ts))),
              values: Object.fromEntries(live.map((s) => [s.metric, s.value])),
            },
          }
        : {}),
      cursor: cursor as Record<string, unknown>,
      nextIntervalMs: short ? 60_000 : pace.ms,
      ...(notes.length ? { note: notes.join('; ') } : {}),
    };
  },
};
