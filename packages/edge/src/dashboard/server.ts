// The local dashboard and /metrics on one Fastify server. It reads only local state (SQLite and
// memory), so it keeps working when the hub is unreachable. In config-error mode the same server
// runs with nothing else, listing the problems instead of the agent crash-looping.
import type { Problem } from '@wattfleet/protocol';
import Fastify, { type FastifyInstance } from 'fastify';
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
}

export function buildDashboard(deps: DashboardDeps): FastifyInstance {
  const app = Fastify({ logger: false });
  app.get('/', async (_req, reply) =>
    reply.type('text/html; charset=utf-8').send(
      renderPage({
        title: 'Wattfleet agent',
        configProblems: deps.configProblems?.(),
        configPath: deps.configPath,
      }),
    ),
  );
  app.get('/healthz', async (_req, reply) => {
    const problems = deps.configProblems?.() ?? [];
    return reply.code(problems.length ? 503 : 200).send({ ok: problems.length === 0 });
  });
  app.get('/api/status', async () => ({ ...deps.status(), configProblems: deps.configProblems?.() ?? [] }));
  app.get('/api/live', (req, reply) => {
    reply.hijack();
    reply.raw.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
    });
    const push = () =>
      reply.raw.write(`data: ${JSON.stringify({ ts: Date.now(), values: deps.live?.toJSON() ?? {} })}\n\n`);
    push();
    const timer = setInterval(push, deps.liveIntervalMs ?? 250);
    req.raw.on('close', () => clearInterval(timer));
  });
  app.get('/api/series', async () => deps.history?.metrics(Date.now() - 86_400_000) ?? []);
  app.get<{ Querystring: { metric?: string; equipment?: string; hours?: string } }>(
    '/api/history',
    async (req, reply) => {
      const { metric, equipment = '', hours = '24' } = req.query;
      const h = Math.min(Math.max(Number(hours) || 24, 1), 24 * 7);
      if (!metric || !/^[a-z][a-z0-9_]{0,62}$/.test(metric))
        return reply.code(400).send({ message: 'metric is required' });
      const to = Date.now();
      return deps.history?.series({ metric, equipment, from: to - h * 3_600_000, to }) ?? [];
    },
  );
  app.get(
    '/api/daily',
    async () => deps.history?.days(new Date(Date.now() - 31 * 86_400_000).toISOString().slice(0, 10)) ?? [],
  );
  app.get('/metrics', async (_req, reply) => {
    if (!deps.registry) return reply.code(404).send();
    return reply.type(deps.registry.contentType).send(await deps.registry.metrics());
  });
  return app;
}
