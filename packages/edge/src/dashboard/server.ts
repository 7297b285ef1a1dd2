// The local dashboard and /metrics on one small node:http server (a handful of GET routes; a web
// framework would cost the Pi several MB of resident memory for nothing — bench B5). It reads
// only local state (SQLite and memory), so it keeps working when the hub is unreachable. In
// config-error mode the same server runs with nothing else, listing the problems instead of the
// agent crash-looping.
//
// Safe by default: it binds to loopback (`dashboard.host` to open it to the LAN), reading needs no
// login (it shows what the installer standing next to the box may see), and anything that changes
// something is a POST action that needs the local token (`dashboard.token`); without a token
// configured, actions are off.
import { timingSafeEqual } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Problem } from '@wattfleet/protocol';
import type { Registry } from 'prom-client';
import type { LocalHistory } from '../outbox/history.ts';
import type { LiveState } from '../runtime/live-state.ts';
import { renderPage } from './page.ts';

export interface DashboardDeps {
  status: () => Record<string, unknown>;
  live?: LiveState;
  history?: LocalHistory;
  registry?: Registry;
  configProblems?: () => Problem[];
  configPath?: string;
  /** How often SSE pushes live values. */
  liveIntervalMs?: number;
  /**
   * The local token (`dashboard.token`). Reading needs none; every POST action needs
   * `Authorization: Bearer <token>`, and without a configured token actions are off.
   */
  localToken?: string | undefined;
  /** POST routes that change something (send the outbox now, …); each needs the local token. */
  actions?: Record<string, () => Promise<unknown> | unknown>;
}

export interface Dashboard {
  /** Resolves with the URL it answers on. Port 0 takes a free port. */
  listen(opts: { port: number; host: string }): Promise<string>;
  close(): Promise<void>;
}

type Route = (req: IncomingMessage, res: ServerResponse, query: URLSearchParams) => Promise<void> | void;

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function json(res: ServerResponse, value: unknown, status = 200): void {
  send(res, status, 'application/json; charset=utf-8', JSON.stringify(value));
}

function tokenMatches(header: string | undefined, token: string): boolean {
  if (!header?.startsWith('Bearer ')) return false;
  const given = Buffer.from(header.slice(7).trim());
  const want = Buffer.from(token);
  return given.length === want.length && timingSafeEqual(given, want);
}

export function buildDashboard(deps: DashboardDeps): Dashboard {
  const routes: Record<string, Route> = {
    '/': (_req, res) =>
      send(
        res,
        200,
        'text/html; charset=utf-8',
        renderPage({
          title: 'Wattfleet agent',
          configProblems: deps.configProblems?.(),
          configPath: deps.configPath,
        }),
      ),
    '/healthz': (_req, res) => {
      const problems = deps.configProblems?.() ?? [];
      json(res, { ok: problems.length === 0 }, problems.length ? 503 : 200);
    },
    '/api/status': (_req, res) =>
      json(res, { ...deps.status(), configProblems: deps.configProblems?.() ?? [] }),
    '/api/live': (req, res) => {
      res.writeHead(200, {
        'content-type': 'text/event-stream',
        'cache-control': 'no-cache',
        connection: 'keep-alive',
      });
      const push = () =>
        res.write(`data: ${JSON.stringify({ ts: Date.now(), values: deps.live?.toJSON() ?? {} })}\n\n`);
      push();
      const timer = setInterval(push, deps.liveIntervalMs ?? 250);
      req.on('close', () => clearInterval(timer));
    },
    '/api/series': (_req, res) => json(res, deps.history?.metrics(Date.now() - 86_400_000) ?? []),
    '/api/history': (_req, res, query) => {
      const metric = query.get('metric');
      const equipment = query.get('equipment') ?? '';
      const h = Math.min(Math.max(Number(query.get('hours') ?? 24) || 24, 1), 24 * 7);
      if (!metric || !/^[a-z][a-z0-9_]{0,62}$/.test(metric))
        return json(res, { message: 'metric is required' }, 400);
      const to = Date.now();
      json(res, deps.history?.series({ metric, equipment, from: to - h * 3_600_000, to }) ?? []);
    },
    '/api/daily': (_req, res) =>
      json(res, deps.history?.days(new Date(Date.now() - 31 * 86_400_000).toISOString().slice(0, 10)) ?? []),
    '/metrics': async (_req, res) => {
      if (!deps.registry) return json(res, { message: 'no metrics' }, 404);
      send(res, 200, deps.registry.contentType, await deps.registry.metrics());
    },
  };

  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://dashboard');
    const action = deps.actions?.[url.pathname];
    if (req.method === 'POST' && action) {
      // Beyond read-only: only with the local token, compared in constant time.
      if (!deps.localToken) return json(res, { message: 'actions are off: set dashboard.token' }, 403);
      if (!tokenMatches(req.headers.authorization, deps.localToken))
        return json(res, { message: 'Authorization: Bearer <dashboard.token> required' }, 401);
      Promise.resolve()
        .then(action)
        .then(
          (result) => json(res, { ok: true, result: result ?? null }),
          (err: Error) => json(res, { message: err.message }, 500),
        );
      return;
    }
    const route = routes[url.pathname];
    if (req.method !== 'GET' || !route) {
      json(res, { message: `${req.method} ${url.pathname} not found` }, 404);
      return;
    }
    Promise.resolve()
      .then(() => route(req, res, url.searchParams))
      .catch((err: Error) => {
        if (res.headersSent) res.destroy(err);
        else json(res, { message: err.message }, 500);
      });
  });
  // A browser tab left open keeps its SSE stream: close() must not wait for it.
  const sockets = new Set<import('node:net').Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });

  return {
    async listen({ port, host }) {
      server.listen(port, host);
      await Promise.race([
        once(server, 'listening'),
        once(server, 'error').then(([err]) => Promise.reject(err)),
      ]);
      const addr = server.address() as AddressInfo;
      const shown = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
      return `http://${shown === '0.0.0.0' ? '127.0.0.1' : shown === '[::]' ? '[::1]' : shown}:${addr.port}`;
    },
    async close() {
      if (!server.listening) return;
      const closed = once(server, 'close');
      server.close();
      for (const s of sockets) s.destroy();
      await closed;
    },
  };
}
