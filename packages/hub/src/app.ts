// The app factory: builds a hub that never listens by itself, so tests use app.inject() or
// listen on port 0. Infrastructure is decorated at the root; each concern is a plugin.
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { TypeBoxValidatorCompiler } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyInstance } from 'fastify';
import { alertsPlugin } from './alerts/alerts.plugin.ts';
import { analyticsPlugin } from './analytics/analytics.plugin.ts';
import { orgOwnedSiteScope } from './auth/access.ts';
import { registerAuthentication } from './auth/authenticate.ts';
import type { HubConfig } from './config.ts';
import { HubBus, type HubContext } from './context.ts';
import { registerErrorHandling } from './http/errors.ts';
import { registerInputGuard } from './http/input-guard.ts';
import { withRedaction } from './http/log-redaction.ts';
import { identityPlugin } from './identity/identity.plugin.ts';
import { ingestRoutes } from './ingest/ingest.routes.ts';
import { Scheduler } from './jobs/scheduler.ts';
import { controlPlane } from './mqtt/control-plane.ts';
import { NodeKeyCache } from './nodes/node-auth.ts';
import { nodeRoutes } from './nodes/nodes.routes.ts';
import { NonceLedger } from './nodes/nonce-ledger.ts';
import { siteRoutes } from './sites/sites.routes.ts';
import type { Database } from './storage/database.ts';
import { telemetryRoutes } from './telemetry/telemetry.routes.ts';

export interface BuildHubOptions {
  config: HubConfig;
  database: Database;
  /** pino logger options or false; tests pass false to keep output readable. */
  logger?: boolean | object;
}

export async function buildHub(opts: BuildHubOptions): Promise<FastifyInstance> {
  const app = Fastify({
    logger: withRedaction(opts.logger ?? { level: opts.config.logLevel }),
    bodyLimit: 1024 * 1024,
    trustProxy: opts.config.trustProxy,
    genReqId: () => crypto.randomUUID(),
    ajv: undefined,
  });
  app.setValidatorCompiler(TypeBoxValidatorCompiler);

  const hub: HubContext = {
    config: opts.config,
    database: opts.database,
    db: opts.database.db,
    bus: new HubBus(),
    siteScope: orgOwnedSiteScope,
  };
  app.decorate('hub', hub);
  app.decorate('nodeKeys', new NodeKeyCache(hub));
  app.decorate('nonces', new NonceLedger(hub));
  // Jobs are added by each module and started by the server (not by tests unless they ask).
  app.decorate('scheduler', new Scheduler(hub, app.log));
  app.addHook('onClose', async () => app.scheduler.stop());
  registerErrorHandling(app);
  registerInputGuard(app);
  registerAuthentication(app, opts.config.adminToken);

  await app.register(swagger, {
    openapi: {
      info: { title: 'Wattfleet hub API', version: '1' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    },
  });
  await app.register(swaggerUi, { routePrefix: '/api/docs' });
  // Limits are per route (config.rateLimit) and run first (onRequest), before the body is parsed
  // or validated, so malformed requests are limited too. Routes keyed on a verified node identity
  // set hook: 'preValidation' (after the signature check, still before body validation).
  await app.register(rateLimit, { global: false, hook: 'onRequest' });
  await app.register(identityPlugin);

  app.get('/healthz', async () => ({ ok: true, engine: hub.database.engine }));

  await app.register(nodeRoutes, { prefix: '/api/v1' });
  await app.register(ingestRoutes, { prefix: '/api/v1' });
  await app.register(siteRoutes, { prefix: '/api/v1' });
  await app.register(telemetryRoutes, { prefix: '/api/v1' });
  await app.register(analyticsPlugin, { prefix: '/api/v1' });
  await app.register(alertsPlugin, { prefix: '/api/v1' });
  await app.register((await import('./fleet/fleet.plugin.ts')).fleetPlugin, { prefix: '/api/v1' });
  await app.register(controlPlane); // routes only; the broker starts with startControlPlane(app)
  await app.register((await import('./web/web.plugin.ts')).webPortal); // portal at / when built
  return app;
}
