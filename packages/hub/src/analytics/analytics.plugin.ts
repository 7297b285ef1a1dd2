// Wires analytics into a hub: late data marks site days dirty, a job recomputes them, routes read.
import type { FastifyInstance } from 'fastify';
import { tariffRoutes } from '../tariffs/tariffs.routes.ts';
import { TariffService } from '../tariffs/tariffs.service.ts';
import { analyticsRoutes } from './analytics.routes.ts';
import { AnalyticsService } from './analytics.service.ts';
import { processDirtyDays } from './site-day.service.ts';

export async function analyticsPlugin(app: FastifyInstance): Promise<void> {
  // Telemetry ingest marks the site days it touches in its own transaction (telemetry-writer.ts);
  // the recompute runs in the job (or on read), never in the ingest path.
  app.scheduler.add({
    name: 'analytics.site-days',
    schedule: '*/30 * * * * *',
    run: (h) => processDirtyDays(h),
  });
  await app.register(analyticsRoutes(new AnalyticsService(app.hub)));
  await app.register(tariffRoutes(new TariffService(app.hub)));
}
