// Node → hub ingest over HTTP. Bodies are signed raw bytes (gzip accepted); see node-auth.ts.
import { DailyBatch, EventBatch, TelemetryBatch, WattfleetError } from '@wattfleet/protocol';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import Type from 'typebox';
import { actorOf } from '../auth/authenticate.ts';
import { useNodeSignatures } from '../nodes/node-auth.ts';
import { ingestDaily, ingestEvents } from './reports.service.ts';
import { type NodeRef, TelemetryIngest } from './telemetry.service.ts';

const IngestAnswer = Type.Object({
  status: Type.Union([Type.Literal('stored'), Type.Literal('duplicate')]),
  batchId: Type.String(),
  stored: Type.Integer(),
});

declare module 'fastify' {
  interface FastifyInstance {
    telemetryIngest: TelemetryIngest;
  }
}

function nodeOf(request: FastifyRequest): NodeRef {
  const actor = actorOf(request);
  if (actor.kind !== 'node') throw new WattfleetError('WF_FORBIDDEN', 'Only nodes ingest');
  return { nodeId: actor.nodeId, siteId: actor.siteId };
}

export async function ingestRoutes(app: FastifyInstance): Promise<void> {
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
      schema: { tags: ['ingest'], body: TelemetryBatch, response: { 200: IngestAnswer } },
      // Validated in the service (schema and semantics together, every problem listed).
      attachValidation: true,
      config: { rateLimit },
    },
    async (request) => hub.metrics.observeIngest('http', () => ingest.ingest(nodeOf(request), request.body)),
  );
  app.post(
    '/ingest/daily',
    {
      schema: { tags: ['ingest'], body: DailyBatch, response: { 200: IngestAnswer } },
      config: { rateLimit },
    },
    async (request) => ingestDaily(hub, nodeOf(request), request.body as DailyBatch),
  );
  app.post(
    '/ingest/events',
    {
      schema: { tags: ['ingest'], body: EventBatch, response: { 200: IngestAnswer } },
      config: { rateLimit },
    },
    async (request) => ingestEvents(hub, nodeOf(request), request.body as EventBatch),
  );
}
