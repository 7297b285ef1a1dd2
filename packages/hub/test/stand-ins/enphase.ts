// A LOCAL STAND-IN for the Enphase Enlighten Systems API v4, not the real service. A real HTTP
// server on loopback written from Enphase's published v4 documentation (sources as in
// src/vendors/adapters/enphase.ts):
// - [quickstart] POST /oauth/token with HTTP Basic client authentication (client_id:client_secret)
//   and grant_type=authorization_code (code, redirect_uri) or grant_type=refresh_token
//   (refresh_token), as query parameters like the published sample (a form body is accepted too);
//   answers {access_token, token_type: "bearer", refresh_token, expires_in: 86393, scope, …}.
//   Access tokens live 1 day, refresh tokens 1 week; every refresh issues a new refresh token and
//   the used one is refused afterwards (rotation). Codes are single-use.
// - [RFC 6749 §5.2] token errors: 400 {"error": "invalid_grant"}, 401 {"error": "invalid_client"}.
// - [spec] GET /api/v4/systems, /api/v4/systems/{id}/summary, …/telemetry/production_micro (5-min
//   intervals: end_at, devices_reporting, powr, enwh), …/telemetry/production_meter (15-min:
//   end_at, devices_reporting, wh_del), …/telemetry/consumption_meter (15-min: end_at,
//   devices_reporting, enwh); `key` (the application's API key) as a query parameter and
//   `Authorization: Bearer …`. start_at (epoch s) and granularity (5mins, 15mins, day, week): the
//   answer's end_at is min(now, start_at + granularity) and holds the intervals ending in
//   (start_at, end_at]; start_at older than 2 years or in the future → 422. 401 {message: "Not
//   Authorized", details, code: 401}; 403 for a system not shared with the token's user; 404 for
//   an unknown one; 429 {message: "Too Many Requests", details: "Usage limit exceeded for plan …",
//   code: 429, period: "minute"|"month", period_start, period_end, limit} and no Retry-After.
// - [issue 20] data arrives tens of minutes late: an interval is published `lagS` after its end.
// Plan limits are counted per user (the owner who authorised), API requests only (not /oauth).
// Interval values are fixed functions of the interval's end time, so tests know what to expect.
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

const DAY_S = 86_400;

/** Production (W average) of the 5-min interval ending at `endS`: a daytime arch, multiples of 12. */
export function solarPowr(endS: number): number {
  const h = ((endS - 150) % DAY_S) / 3600; // the interval's middle, UTC hour of day
  if (h < 6 || h >= 18) return 0;
  return 12 * Math.round(250 * Math.sin((Math.PI * (h - 6)) / 12));
}
/** Wh of the 5-min production interval ending at `endS` (powr · 5 min: exact, powr is a multiple of 12). */
export const solarEnwh = (endS: number): number => solarPowr(endS) / 12;
/** Wh of the 15-min consumption interval ending at `endS`. */
export function consumptionEnwh(endS: number): number {
  const q = Math.floor((endS % DAY_S) / 900);
  return 100 + (q % 8) * 25;
}

export interface StandInUser {
  systems: string[];
  /** Plan limits of this user's requests (defaults: the entry plan, 10/min, 1,000/month). */
  perMinute: number;
  perMonth: number;
  minute: { start: number; count: number };
  month: { key: string; count: number };
}

interface Token {
  user: string;
  expiresAt: number;
  used?: boolean;
}

export class EnphaseStandIn {
  private server: Server | undefined;
  url = '';
  clock: () => number = Date.now;
  apiKey = 'test-api-key';
  clientId = 'cid';
  clientSecret = 'csecret';
  accessTtlS = 86_393;
  refreshTtlS = 7 * DAY_S;
  /** Production and consumption intervals appear this long after their end. */
  productionLagS = 30 * 60;
  consumptionLagS = 45 * 60;
  readonly users = new Map<string, StandInUser>();
  readonly systems = new Map<string, { owner: string; source: 'microinverters' | 'meter'; name: string }>();
  private readonly codes = new Map<string, { user: string; redirectUri: string }>();
  readonly access = new Map<string, Token>();
  readonly refresh = new Map<string, Token>();
  /** Every token ever issued (tests scan for them where none may be). */
  readonly issued: string[] = [];
  /** Every request: path, status, user (API requests), grant type (token requests). */
  readonly requests: { method: string; path: string; status: number; user?: string; grant?: string }[] = [];

  addUser(user: string, limits: { perMinute?: number; perMonth?: number } = {}): void {
    this.users.set(user, {
      systems: [],
      perMinute: limits.perMinute ?? 10,
      perMonth: limits.perMonth ?? 1000,
      minute: { start: 0, count: 0 },
      month: { key: '', count: 0 },
    });
  }

  addSystem(id: string, owner: string, source: 'microinverters' | 'meter' = 'microinverters'): void {
    this.systems.set(id, { owner, source, name: `Enphase system ${id}` });
    this.users.get(owner)?.systems.push(id);
  }

  /** The owner approved the application: the code the authorisation page hands back. */
  issueCode(user: string, redirectUri: string): string {
    const code = randomBytes(4).toString('hex');
    this.codes.set(code, { user, redirectUri });
    return code;
  }

  /** The owner withdrew the application's access (all of this user's tokens stop working). */
  revoke(user: string): void {
    for (const m of [this.access, this.refresh]) for (const [k, t] of m) if (t.user === user) m.delete(k);
  }

  apiRequests(user: string): number {
    return this.requests.filter((r) => r.user === user && r.path.startsWith('/api/')).length;
  }

  count(grant: string): number {
    return this.requests.filter((r) => r.grant === grant && r.status === 200).length;
  }

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch(() => {
        res.statusCode = 500;
        res.end();
      });
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.url;
  }

  async stop(): Promise<void> {
    const s = this.server;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
    this.server = undefined;
  }

  private json(
    req: IncomingMessage,
    res: ServerResponse,
    status: number,
    body: unknown,
    extra: { user?: string; grant?: string } = {},
  ) {
    this.requests.push({ method: req.method ?? '', path: (req.url ?? '').split('?')[0]!, status, ...extra });
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  }

  private issue(user: string) {
    const now = this.clock();
    const access = randomBytes(16).toString('hex');
    const refresh = randomBytes(16).toString('hex');
    this.issued.push(access, refresh);
    this.access.set(access, { user, expiresAt: now + this.accessTtlS * 1000 });
    this.refresh.set(refresh, { user, expiresAt: now + this.refreshTtlS * 1000 });
    return {
      access_token: access,
      token_type: 'bearer',
      refresh_token: refresh,
      expires_in: this.accessTtlS,
      scope: 'read write',
      enl_uid: user,
      app_type: 'system',
      jti: randomBytes(8).toString('hex'),
    };
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://stand-in');
    if (req.method === 'POST' && url.pathname === '/oauth/token') return this.token(req, res, url);
    if (req.method === 'GET' && url.pathname.startsWith('/api/v4/')) return this.api(req, res, url);
    return this.json(req, res, 404, { message: 'Not Found', code: 404 });
  }

  private async token(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    let raw = '';
    for await (const chunk of req) raw += chunk;
    const p = new URLSearchParams(url.search);
    for (const [k, v] of new URLSearchParams(raw)) if (!p.has(k)) p.set(k, v);
    const grant = p.get('grant_type') ?? '';
    const basic = `Basic ${Buffer.from(`${this.clientId}:${this.clientSecret}`).toString('base64')}`;
    if (req.headers.authorization !== basic) {
      return this.json(
        req,
        res,
        401,
        { error: 'invalid_client', error_description: 'Bad client credentials' },
        { grant },
      );
    }
    if (grant === 'authorization_code') {
      const c = this.codes.get(p.get('code') ?? '');
      if (!c || c.redirectUri !== p.get('redirect_uri')) {
        return this.json(
          req,
          res,
          400,
          { error: 'invalid_grant', error_description: 'Invalid authorization code' },
          { grant },
        );
      }
      this.codes.delete(p.get('code')!);
      return this.json(req, res, 200, this.issue(c.user), { grant });
    }
    if (grant === 'refresh_token') {
      const t = this.refresh.get(p.get('refresh_token') ?? '');
      if (!t || t.used || t.expiresAt <= this.clock()) {
        return this.json(
          req,
          res,
          400,
          { error: 'invalid_grant', error_description: 'Invalid refresh token' },
          { grant },
        );
      }
      t.used = true; // rotation: a refresh token works once
      return this.json(req, res, 200, this.issue(t.user), { grant });
    }
    return this.json(req, res, 400, { error: 'unsupported_grant_type' }, { grant });
  }

  private async api(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const notAuthorized = { message: 'Not Authorized', details: 'User is not authorized', code: 401 };
    if (url.searchParams.get('key') !== this.apiKey) return this.json(req, res, 401, notAuthorized);
    const bearer = /^Bearer (.+)$/i.exec(req.headers.authorization ?? '')?.[1];
    const tok = bearer ? this.access.get(bearer) : undefined;
    const now = this.clock();
    if (!tok || tok.expiresAt <= now) return this.json(req, res, 401, notAuthorized);
    const user = this.users.get(tok.user)!;
    const who = { user: tok.user };
    // Plan limits: per minute and per calendar month (UTC); refused requests do not count.
    const nowS = Math.floor(now / 1000);
    const minuteStart = Math.floor(nowS / 60) * 60;
    if (user.minute.start !== minuteStart) user.minute = { start: minuteStart, count: 0 };
    const d = new Date(now);
    const monthKey = `${d.getUTCFullYear()}-${d.getUTCMonth()}`;
    if (user.month.key !== monthKey) user.month = { key: monthKey, count: 0 };
    const over = (period: 'minute' | 'month', start: number, end: number, limit: number) =>
      this.json(
        req,
        res,
        429,
        {
          message: 'Too Many Requests',
          details: 'Usage limit exceeded for plan Watt',
          code: 429,
          period,
          period_start: start,
          period_end: end,
          limit,
        },
        who,
      );
    if (user.month.count >= user.perMonth) {
      return over(
        'month',
        Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1) / 1000,
        Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1) / 1000,
        user.perMonth,
      );
    }
    if (user.minute.count >= user.perMinute)
      return over('minute', minuteStart, minuteStart + 60, user.perMinute);
    user.minute.count++;
    user.month.count++;

    if (url.pathname === '/api/v4/systems') {
      const systems = user.systems.map((id) => ({
        system_id: Number(id),
        name: this.systems.get(id)!.name,
        public_name: 'Residential System',
        timezone: 'Australia/Sydney',
        address: { city: 'Sydney', state: 'NSW', country: 'AU', postal_code: '2000' },
        connection_type: 'ethernet',
        energy_lifetime: -1,
        energy_today: -1,
        system_size: -1,
        status: 'normal',
        last_report_at: nowS - 600,
        last_energy_at: nowS - this.productionLagS,
        operational_at: nowS - 400 * DAY_S,
      }));
      return this.json(
        req,
        res,
        200,
        {
          total: systems.length,
          current_page: 1,
          size: 100,
          count: systems.length,
          items: 'systems',
          systems,
        },
        who,
      );
    }
    const m =
      /^\/api\/v4\/systems\/([^/]+)\/(summary|telemetry\/(production_micro|production_meter|consumption_meter))$/.exec(
        url.pathname,
      );
    if (!m) return this.json(req, res, 404, { message: 'Not Found', details: 'No route', code: 404 }, who);
    const id = decodeURIComponent(m[1]!);
    const system = this.systems.get(id);
    if (!system) {
      return this.json(
        req,
        res,
        404,
        { message: 'Not Found', details: `System not found for {:id=>"${id}"}`, code: 404 },
        who,
      );
    }
    if (system.owner !== tok.user) {
      return this.json(
        req,
        res,
        403,
        { message: 'Forbidden', details: 'Not authorized to access this resource', code: 403 },
        who,
      );
    }
    if (m[2] === 'summary') {
      return this.json(
        req,
        res,
        200,
        {
          system_id: Number(id),
          current_power: solarPowr(nowS - this.productionLagS),
          energy_lifetime: 12_345_678,
          energy_today: 0,
          last_interval_end_at: nowS - this.productionLagS,
          last_report_at: nowS - 600,
          modules: 20,
          operational_at: nowS - 400 * DAY_S,
          size_w: 6400,
          source: system.source,
          status: 'normal',
          summary_date: new Date(now).toISOString().slice(0, 10),
        },
        who,
      );
    }
    const stream = m[3] as 'production_micro' | 'production_meter' | 'consumption_meter';
    const startAt = Number(url.searchParams.get('start_at') ?? Math.floor(nowS / DAY_S) * DAY_S);
    const granularity = url.searchParams.get('granularity') ?? 'day';
    const span = { '5mins': 300, '15mins': 900, day: DAY_S, week: 7 * DAY_S }[granularity];
    if (!Number.isFinite(startAt) || span === undefined || startAt > nowS || startAt < nowS - 730 * DAY_S) {
      return this.json(
        req,
        res,
        422,
        {
          message: 'Unprocessable Entity',
          details: 'Requested date range is invalid for this system.',
          code: 422,
        },
        who,
      );
    }
    const endAt = Math.min(nowS, startAt + span);
    const step = stream === 'production_micro' ? 300 : 900;
    const lag = stream === 'consumption_meter' ? this.consumptionLagS : this.productionLagS;
    const intervals: Record<string, number>[] = [];
    for (let e = Math.floor(startAt / step) * step + step; e <= endAt && e <= nowS - lag; e += step) {
      if (stream === 'production_micro') {
        intervals.push({ end_at: e, devices_reporting: 20, powr: solarPowr(e), enwh: solarEnwh(e) });
      } else if (stream === 'production_meter') {
        intervals.push({
          end_at: e,
          devices_reporting: 1,
          wh_del: solarEnwh(e - 600) + solarEnwh(e - 300) + solarEnwh(e),
        });
      } else {
        intervals.push({ end_at: e, devices_reporting: 1, enwh: consumptionEnwh(e) });
      }
    }
    return this.json(
      req,
      res,
      200,
      {
        system_id: Number(id),
        granularity,
        total_devices: stream === 'production_micro' ? 20 : 1,
        start_at: startAt,
        end_at: endAt,
        items: 'intervals',
        intervals,
        meta: {
          status: 'normal',
          last_report_at: nowS - 600,
          last_energy_at: nowS - lag,
          operational_at: nowS - 400 * DAY_S,
        },
      },
      who,
    );
  }
}
