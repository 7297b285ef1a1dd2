// A LOCAL STAND-IN for select.live (Selectronic SP PRO cloud), not the real service. It is a real
// HTTP server on loopback written from select.live's published behaviour (issue 20):
// - POST /login, form fields `email` and `pwd`: 302 to /dashboard with the session cookie
//   `mojolicious`, or a 200 page containing "Bad email address or password".
// - GET /dashboard/hfdata/{system_number} → {"items": {…}} with the published field names; the
//   *_wh_total / *_wh_today counters are in kWh despite their names; 401 when the session expired.
// - 500/503 can happen in minutes 48–52 of every hour (maintenance window).
// - Signs as public clients measured: grid_w negative while importing, battery_w negative while
//   charging (`invertBattery` flips the battery to the older write-up's convention).
// `items.timestamp` (epoch s of the reading) is included as the reading time. Readings change once
// a minute; powers follow a fixed pattern so tests know exactly what to expect.
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface StandInSystem {
  owner: string;
  counters: { solar: number; load: number; gridIn: number; gridOut: number; battIn: number; battOut: number };
  minute: number;
  invertBattery: boolean;
}

/** Our-convention powers in minute m: 10 min importing + discharging, 10 min exporting + charging. */
export function powersAt(m: number): { solar: number; load: number; battery: number; grid: number } {
  const exporting = Math.floor(m / 10) % 2 === 1;
  const solar = exporting ? 5000 : 0;
  const load = exporting ? 1000 : 2000;
  const battery = exporting ? -1500 : 500; // + discharge
  return { solar, load, battery, grid: load - solar - battery }; // + import
}

export class SelectLiveStandIn {
  private server: Server | undefined;
  readonly users = new Map<string, string>();
  readonly systems = new Map<string, StandInSystem>();
  private readonly sessions = new Map<string, string>();
  /** Every request, for assertions ("logged in twice", "no request during breaker open"). */
  readonly requests: { method: string; path: string; status: number; at: number }[] = [];
  clock: () => number = Date.now;
  /** Answer hfdata with this status (e.g. 429, 500) instead of data while set. */
  failWith: number | undefined;
  /** Answer the next N hfdata requests with failWith only. */
  failCount = Number.POSITIVE_INFINITY;
  delayMs = 0;
  /** 503 in minutes 48–52 when true (the stand-in's clock decides the minute). */
  maintenance = true;
  url = '';
  /** Called when an hfdata request arrives, before any delay (tests time a hub kill on it). */
  onHfdata: ((systemNumber: string) => void) | undefined;

  addUser(email: string, password: string): void {
    this.users.set(email, password);
  }

  addSystem(systemNumber: string, owner: string, opts: { invertBattery?: boolean } = {}): void {
    this.systems.set(systemNumber, {
      owner,
      counters: { solar: 1000, load: 2000, gridIn: 3000, gridOut: 500, battIn: 700, battOut: 650 },
      minute: Math.floor(this.clock() / 60_000),
      invertBattery: opts.invertBattery ?? false,
    });
  }

  /** Ends every session, as select.live does when one expires. */
  expireSessions(): void {
    this.sessions.clear();
  }

  count(path: RegExp, method = 'GET'): number {
    return this.requests.filter((r) => r.method === method && path.test(r.path)).length;
  }

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch(() => {
        res.statusCode = 500;
        res.end();
      });
    });
    this.server.keepAliveTimeout = 30_000;
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

  private reply(
    req: IncomingMessage,
    res: ServerResponse,
    status: number,
    body: string,
    headers: Record<string, string> = {},
  ) {
    this.requests.push({
      method: req.method ?? '',
      path: (req.url ?? '').split('?')[0]!,
      status,
      at: this.clock(),
    });
    res.writeHead(status, headers);
    res.end(body);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '').split('?')[0]!;
    const hf = /^\/dashboard\/hfdata\/([^/]+)$/.exec(path);
    if (hf) this.onHfdata?.(decodeURIComponent(hf[1]!));
    if (this.delayMs) await new Promise((r) => setTimeout(r, this.delayMs));
    if (req.method === 'POST' && path === '/login') {
      let raw = '';
      for await (const chunk of req) raw += chunk;
      const form = new URLSearchParams(raw);
      const email = form.get('email') ?? '';
      if (this.users.has(email) && this.users.get(email) === form.get('pwd')) {
        const sid = randomBytes(18).toString('base64url');
        this.sessions.set(sid, email);
        return this.reply(req, res, 302, '', {
          location: '/dashboard',
          'set-cookie': `mojolicious=${sid}; Path=/; HttpOnly; SameSite=Lax`,
        });
      }
      return this.reply(
        req,
        res,
        200,
        '<html><body><p class="error">Bad email address or password</p></body></html>',
        {
          'content-type': 'text/html',
        },
      );
    }
    const m = /^\/dashboard\/hfdata\/([^/]+)$/.exec(path);
    if (req.method === 'GET' && m) {
      const sid = /(?:^|;\s*)mojolicious=([^;]+)/.exec(req.headers.cookie ?? '')?.[1];
      const email = sid ? this.sessions.get(sid) : undefined;
      if (!email) return this.reply(req, res, 401, 'Unauthorized');
      const minute = new Date(this.clock()).getUTCMinutes();
      if (this.maintenance && minute >= 48 && minute <= 52)
        return this.reply(req, res, 503, 'Service Unavailable');
      if (this.failWith !== undefined && this.failCount > 0) {
        this.failCount--;
        return this.reply(req, res, this.failWith, this.failWith === 429 ? 'Too Many Requests' : 'error');
      }
      const system = this.systems.get(decodeURIComponent(m[1]!));
      if (!system || system.owner !== email) return this.reply(req, res, 404, 'Not Found');
      return this.reply(req, res, 200, JSON.stringify({ items: this.read(system) }), {
        'content-type': 'application/json',
      });
    }
    return this.reply(req, res, 404, 'Not Found');
  }

  /** Advances the system to the current minute, integrating each minute's power into the counters. */
  private read(s: StandInSystem) {
    const now = Math.floor(this.clock() / 60_000);
    const c = s.counters;
    // Bounded catch-up: a long pause (or a clock jump in a test) does not loop for years.
    for (let m = Math.max(s.minute, now - 10_000) + 1; m <= now; m++) {
      const p = powersAt(m);
      c.solar += p.solar / 60_000;
      c.load += p.load / 60_000;
      c.gridIn += Math.max(p.grid, 0) / 60_000;
      c.gridOut += Math.max(-p.grid, 0) / 60_000;
      c.battIn += Math.max(-p.battery, 0) / 60_000;
      c.battOut += Math.max(p.battery, 0) / 60_000;
    }
    s.minute = now;
    const p = powersAt(now);
    const kwh = (v: number) => Math.round(v * 1000) / 1000;
    return {
      timestamp: now * 60,
      solarinverter_w: p.solar * 0.6,
      shunt_w: p.solar * 0.4,
      load_w: p.load,
      grid_w: -p.grid,
      battery_w: s.invertBattery ? -p.battery : p.battery,
      battery_soc: 55.5,
      fault_code: 0,
      fault_ts: 0,
      gen_status: 0,
      solar_wh_total: kwh(c.solar),
      load_wh_total: kwh(c.load),
      battery_in_wh_total: kwh(c.battIn),
      battery_out_wh_total: kwh(c.battOut),
      grid_in_wh_total: kwh(c.gridIn),
      grid_out_wh_total: kwh(c.gridOut),
      solar_wh_today: kwh(c.solar % 50),
      load_wh_today: kwh(c.load % 50),
      battery_in_wh_today: 0,
      battery_out_wh_today: 0,
      grid_in_wh_today: 0,
      grid_out_wh_today: 0,
    };
  }
}
