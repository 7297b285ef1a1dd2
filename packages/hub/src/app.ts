// The app factory: builds a hub that never listens by itself, so tests use app.inject() or
// listen on port 0. Infrastructure is decorated at the root; each concern is a plugin.
import compress from '@fastify/compress';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { TypeBoxValidatorCompiler } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import type { DestinationStream } from 'pino';
import { alertsPlugin } from './alerts/alerts.plugin.ts';
import { analyticsPlugin } from './analytics/analytics.plugin.ts';
import { orgOwnedSiteScope } from './auth/access.ts';
import { registerAuthentication } from './auth/authenticate.ts';
import type { HubConfig } from './config.ts';
import { HubBus, type HubContext } from './context.ts';
import { registerErrorHandling } from './http/errors.ts';
import { registerInputGuard } from './http/input-guard.ts';
import { rateLimitStore } from './http/rate-limit-store.ts';
import { registerStandardResponses } from './http/responses.ts';
import { identityPlugin } from './identity/identity.plugin.ts';
import { ingestRoutes } from './ingest/ingest.routes.ts';
import { Scheduler } from './jobs/scheduler.ts';
import { controlPlane } from './mqtt/control-plane.ts';
import { NODE_SIGNATURE_SCHEME, NodeKeyCache } from './nodes/node-auth.ts';
import { nodeRoutes } from './nodes/nodes.routes.ts';
import { NonceLedger } from './nodes/nonce-ledger.ts';
import { NODE_AUTH_MARKDOWN, NODE_SIGNATURE_SECURITY_SCHEME } from './nodes/signing-docs.ts';
import { registerCollectors } from './observability/collectors.ts';
import { createHubLogger } from './observability/logger.ts';
import { HubMetrics } from './observability/metrics.ts';
import { observabilityPlugin } from './observability/observability.plugin.ts';
import { registerRequestLog } from './observability/request-log.ts';
import { siteRoutes } from './sites/sites.routes.ts';
import type { Database } from './storage/database.ts';
import { telemetryRoutes } from './telemetry/telemetry.routes.ts';

export interface BuildHubOptions {
  config: HubConfig;
  database: Database;
  /**
   * false for no logs (tests keep output readable); `{ level, stream }` writes JSON lines at that
   * level to that stream (tests that read the log); default: observability/logger.ts.
   */
  logger?: boolean | { level?: string; stream?: DestinationStream };
}

function hubLogger(opts: BuildHubOptions): FastifyBaseLogger {
  const custom = typeof opts.logger === 'object' ? opts.logger : undefined;
  const config = {
    ...opts.config,
    ...(custom?.level ? { logLevel: custom.level } : {}),
    ...(custom?.stream ? { logFormat: 'json' as const } : {}),
  };
  return createHubLogger(config, custom?.stream) as FastifyBaseLogger;
}

export async function buildHub(opts: BuildHubOptions): Promise<FastifyInstance> {
  const app = Fastify({
    ...(opts.logger === false
      ? { logger: false }
      : {
          loggerInstance: hubLogger(opts),
        }),
    // One line per request from observability/request-log.ts instead of Fastify's two at info.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 1024 * 1024,
    // TLS_CERT_FILE/TLS_KEY_FILE: HTTPS here (else plain HTTP, behind a TLS proxy in production).
    ...(opts.config.tls ? { https: { cert: opts.config.tls.cert, key: opts.config.tls.key } } : {}),
    trustProxy: opts.config.trustProxy,
    genReqId: () => crypto.randomUUID(),
    ajv: undefined,
    // Fastify's 10 s default is too short when PGlite shares the event loop on a busy 2-core box
    // (a Pi, or CI): plugins such as swagger-ui then fail to start for no fault of their own.
    pluginTimeout: 60_000,
  });
  app.setValidatorCompiler(TypeBoxValidatorCompiler);
  for (const message of opts.config.deprecations ?? []) app.log.warn({ deprecated: true }, message);

  const hub: HubContext = {
    config: opts.config,
    database: opts.database,
    db: opts.database.db,
    bus: new HubBus(),
    metrics: new HubMetrics(opts.config.hubId),
    siteScope: orgOwnedSiteScope,
  };
  app.decorate('hub', hub);
  app.decorate('nodeKeys', new NodeKeyCache(hub));
  app.decorate('nonces', new NonceLedger(hub));
  // Jobs are added by each module and started by the server (not by tests unless they ask).
  app.decorate('scheduler', new Scheduler(hub, app.log));
  app.addHook('onClose', async () => app.scheduler.stop());
  app.addHook('onClose', async () => hub.metrics.close());
  registerErrorHandling(app);
  registerRequestLog(app);
  registerInputGuard(app);
  registerAuthentication(app, opts.config.adminToken);
  registerStandardResponses(app);

  await app.register(swagger, {
    openapi: {
      info: { title: 'Wattfleet hub API', version: '1', description: NODE_AUTH_MARKDOWN },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer' },
          [NODE_SIGNATURE_SCHEME]: NODE_SIGNATURE_SECURITY_SCHEME,
        },
      },
    },
  });
  await app.register(swaggerUi, { routePrefix: '/api/docs' });
  // Limits are per route (config.rateLimit) and run first (onRequest), before the body is parsed
  // or validated, so malformed requests are limited too. Routes keyed on a verified node identity
  // set hook: 'preValidation' (after the signature check, still before body validation).
  // Counters in Redis when REDIS_URL is set, so limits hold across hubs (http/rate-limit-store.ts).
  const limitStore = rateLimitStore(opts.config.rateLimit, app.log);
  app.addHook('onClose', () => limitStore.close());
  await limitStore.ready();
  if (limitStore.kind === 'memory' && opts.config.mqttUrl)
    app.log.info('rate limits are counted per hub process: set REDIS_URL when several hubs serve one fleet');
  await app.register(rateLimit, { global: false, hook: 'onRequest', ...limitStore.pluginOptions });
  // Answers of 1 KiB or more go out compressed when the client accepts it (br, then gzip): a
  // year of daily rows or the portal's bundle shrink several times over a phone link. Request
  // bodies are not touched here: ingest decompresses its own gzip with its size guard, after the
  // signature has been checked over the bytes as sent.
  await app.register(compress, { globalDecompression: false, threshold: 1024, encodings: ['br', 'gzip'] });
  await app.register(identityPlugin);

  await app.register(observabilityPlugin); // /healthz, /readyz, /metrics (token-protected)

  await app.register(nodeRoutes, { prefix: '/api/v1' });
  await app.register(ingestRoutes, { prefix: '/api/v1' });
  await app.register(siteRoutes, { prefix: '/api/v1' });
  await app.register(telemetryRoutes, { prefix: '/api/v1' });
  await app.register(analyticsPlugin, { prefix: '/api/v1' });
  await app.register(alertsPlugin, { prefix: '/api/v1' });
  await app.register((await import('./fleet/fleet.plugin.ts')).fleetPlugin, { prefix: '/api/v1' });
  await app.register(controlPlane); // routes only; the broker starts with startControlPlane(app)
  await app.register((await import('./vendors/vendors.plugin.ts')).vendorsPlugin); // routes under /api/v1
  await app.register((await import('./automation/automation.plugin.ts')).automationPlugin); // switchable equipment, /api/v1
  await app.register((await import('./equipment/equipment.plugin.ts')).equipmentPlugin); // registry, areas, lines, /api/v1
  await app.register((await import('./budgets/budgets.plugin.ts')).budgetsPlugin); // site budgets, /api/v1
  await app.register((await import('./uns/uns.plugin.ts')).unsPlugin); // unified namespace export, /api/v1
  await app.register((await import('./rollouts/rollouts.plugin.ts')).rolloutsPlugin); // staged rollouts, /api/v1
  await app.register((await import('./web/web.plugin.ts')).webPortal); // portal at / when built
  registerCollectors(app, hub.metrics);
  return app;
}
