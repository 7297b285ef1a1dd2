// One line per answered request, replacing Fastify's two ("incoming request" + "request
// completed"): at debug normally, at info when slower than SLOW_REQUEST_MS, at warn for a 5xx.
// The error behind a 5xx is logged once, by the error handler, with the same reqId (the
// correlation id the client got); this line only points at it. Also counts requests per route
// pattern for /metrics (the pattern, not the URL: ids would make the label set unbounded).
import type { FastifyInstance } from 'fastify';
import { redactUrl } from '../http/log-redaction.ts';

export function registerRequestLog(app: FastifyInstance): void {
  const { config, metrics } = app.hub;
  // A WebSocket upgrade never reaches onResponse (the socket is handed over): logged when it comes.
  app.addHook('onRequest', async (request) => {
    if (request.headers.upgrade?.toLowerCase() !== 'websocket') return;
    const route = request.routeOptions.url ?? 'unmatched';
    request.log.debug({ method: request.method, url: redactUrl(request.url), route }, 'websocket upgrade');
  });
  app.addHook('onResponse', async (request, reply) => {
    const ms = Math.round(reply.elapsedTime);
    const status = reply.statusCode;
    const route = request.routeOptions.url ?? 'unmatched';
    metrics.requests.inc({ method: request.method, route, status: String(status) });
    const line = { method: request.method, url: redactUrl(request.url), route, status, ms };
    if (status >= 500) request.log.warn(line, 'request failed');
    else if (ms > config.slowRequestMs) request.log.info(line, 'slow request');
    else request.log.debug(line, 'request');
  });
}
