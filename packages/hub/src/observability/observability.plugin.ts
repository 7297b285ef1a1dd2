// /healthz, /readyz and /metrics. /metrics is never open on the public port: it answers there only
// to `Authorization: Bearer $METRICS_TOKEN`, and otherwise (no token configured) is not routed at
// all (404). METRICS_PORT starts a second listener that serves /metrics without a token, meant for
// a private interface (METRICS_HOST, default 127.0.0.1) that only the Prometheus server reaches.

import { timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WattfleetError } from '@wattfleet/protocol';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { errors } from '../http/responses.ts';
import { Health, Readiness, textResponse } from './observability.schema.ts';
import { readiness } from './readiness.ts';

const tags = ['operations'];

function tokenMatches(header: string | undefined, token: string): boolean {
  if (!header?.startsWith('Bearer ')) return false;
  const given = Buffer.from(header.slice(7).trim());
  const want = Buffer.from(token);
  return given.length === want.length && timingSafeEqual(given, want);
}

export async function observabilityPlugin(app: FastifyInstance): Promise<void> {
  const { config, metrics } = app.hub;

  app.get('/healthz', { schema: { tags, response: { 200: Health } } }, async () => ({
    ok: true,
    hub: config.hubId,
    engine: app.hub.database.engine,
    // No query here (liveness): whether a replica is configured; its lag is a metric.
    readReplica: app.hub.database.readPool !== undefined,
    uptimeS: Math.round(process.uptime()),
  }));

  app.get(
    '/readyz',
    { schema: { tags, response: { 200: Readiness, 503: Readiness } } },
    async (_request, reply) => {
      const r = await readiness(app);
      return reply.status(r.ok ? 200 : 503).send(r);
    },
  );

  if (config.metricsToken) {
    const token = config.metricsToken;
    app.get(
      '/metrics',
      {
        // Documented (the OpenAPI document is generated with a token), but routed only with one.
        schema: {
          tags,
          description: 'Prometheus metrics; routed only when METRICS_TOKEN is set, and needs it as bearer',
          security: [{ bearer: [] }],
          response: {
            200: textResponse(metrics.registry.contentType, 'Prometheus text exposition format'),
            ...errors('WF_UNAUTHENTICATED'),
          },
        },
        preHandler: async (request: FastifyRequest) => {
          if (!tokenMatches(request.headers.authorization, token))
            throw new WattfleetError(
              'WF_UNAUTHENTICATED',
              'GET /metrics needs Authorization: Bearer $METRICS_TOKEN',
            );
        },
      },
      async (_request, reply) => {
        reply.type(metrics.registry.contentType);
        return metrics.registry.metrics();
      },
    );
  }
}

export interface MetricsListener {
  url: string;
  close(): Promise<void>;
}

/** The METRICS_PORT listener: /metrics only, plain node:http (nothing else of the hub on it). */
export async function startMetricsListener(app: FastifyInstance): Promise<MetricsListener> {
  const { config, metrics } = app.hub;
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' || path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('only GET /metrics here\n');
      return;
    }
    metrics.registry.metrics().then(
      (body) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(body),
      (err: unknown) => {
        app.log.error({ err }, 'metrics scrape failed');
        res.writeHead(500, { 'content-type': 'text/plain' }).end('scrape failed\n');
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.metricsPort ?? 0, config.metricsHost, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { address, port } = server.address() as AddressInfo;
  const url = `http://${address.includes(':') ? `[${address}]` : address}:${port}/metrics`;
  const close = () =>
    new Promise<void>((resolve) => {
      if (!server.listening) return resolve();
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return { url, close };
}
