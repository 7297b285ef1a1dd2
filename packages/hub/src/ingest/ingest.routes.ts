// Node → hub ingest over HTTP. Bodies are signed raw bytes (gzip accepted); see node-auth.ts and the
// OpenAPI "Node authentication" section. HTTP only: the services validate and store.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { WattfleetError } from '@wattfleet/protocol';
import type { FastifyRequest } from 'fastify';
import type { Actor } from '../auth/actor.ts';
import { actorOf } from '../auth/authenticate.ts';
import { errors, NODE_AUTH_ERRORS } from '../http/responses.ts';
import { useNodeSignatures } from '../nodes/node-auth.ts';
import { DailyBatch, EventBatch, IngestAnswer, TelemetryBatch } from './ingest.schema.ts';
import { ingestDaily, ingestEvents } from './reports.service.ts';
import { type NodeRef, TelemetryIngest } from './telemetry.service.ts';

declare module 'fastify' {
  interface FastifyInstance {
    telemetryIngest: TelemetryIngest;
  }
}

/** Only a node (signed request) ingests, and only as itself. */
function nodeOf(actor: Actor): NodeRef {
  if (actor.kind !== 'node') throw new WattfleetError('WF_FORBIDDEN', 'Only nodes ingest');
  return { nodeId: actor.nodeId, siteId: actor.siteId };
}

const tags = ['ingest'];
const response = { 200: IngestAnswer, ...errors(...NODE_AUTH_ERRORS, 'WF_FORBIDDEN') };

export const ingestRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const hub = app.hub;
  if (!app.hasDecorator('telemetryIngest')) app.decorate('telemetryIngest', new TelemetryIngest(hub));
  const ingest = app.telemetryIngest;
  useNodeSignatures(app, hub.config.ingest.maxBodyBytes);
  // Refusals before the service sees the batch (signature, rate limit, body size) count as rejects too.
  app.addHook('onError', async (request, _reply, err) => {
    if (request.url.startsWith('/api/v1/ingest/telemetry')) hub.metrics.countIngestError('http', err);
  });

  // Per-node limit keyed on the signed node id: it runs in preValidation right after the scope's
  // signature check and before body validation, so malformed batches are limited as well.
  const rateLimit = {
    hook: 'preValidation' as const,
    max: hub.config.ingest.nodeRatePerMinute,
    timeWindow: '1 minute',
    keyGenerator: (request: FastifyRequest) => `node:${String(request.headers['x-wf-node'] ?? request.ip)}`,
  };

  app.post(
    '/ingest/telemetry',
    {
      schema: {
        tags,
        summary: 'Store a batch of samples (exactly once per batch id); every problem listed on a 400',
        body: TelemetryBatch,
        response,
      },
      // Validated in the service (schema and semantics together, every problem listed).
      attachValidation: true,
      config: { rateLimit },
    },
    async (request) =>
      hub.metrics.observeIngest('http', () => ingest.ingest(nodeOf(actorOf(request)), request.body)),
  );
  app.post(
    '/ingest/daily',
    {
      schema: { tags, summary: "Store the device's own daily summaries", body: DailyBatch, response },
      config: { rateLimit },
    },
    async (request) => ingestDaily(hub, nodeOf(actorOf(request)), request.body),
  );
  app.post(
    '/ingest/events',
    {
      schema: { tags, summary: 'Store health and state events', body: EventBatch, response },
      config: { rateLimit },
    },
    async (request) => ingestEvents(hub, nodeOf(actorOf(request)), request.body),
  );
};
