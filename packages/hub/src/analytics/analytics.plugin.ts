// Wires analytics into a hub: late data marks site days dirty, a job recomputes them, routes read.
import type { FastifyInstance } from 'fastify';
import type { HubContext } from '../context.ts';
import { tariffRoutes } from '../tariffs/tariffs.routes.ts';
import { analyticsRoutes } from './analytics.routes.ts';
import { markDaysDirty, processDirtyDays } from './site-day.service.ts';

export async function analyticsPlugin(app: FastifyInstance): Promise<void> {
  const hub = app.hub;
  // The listener only queues; the recompute runs in the job (or on read), never in the ingest path.
  const pending = new Set<Promise<void>>();
  const off = hub.bus.onEvent('telemetry.ingested', (e) => {
    const p = markDaysDirty(hub, e.siteId, e.fromMs, e.toMs)
      .catch((err) => app.log.error({ err, siteId: e.siteId }, 'marking analytics days dirty failed'))
      .finally(() => pending.delete(p));
    pending.add(p);
  });
  app.addHook('onClose', async () => {
    off();
    await Promise.all(pending);
  });
  idle.set(hub, () => Promise.all(pending).then(() => {}));
  app.scheduler.add({
    name: 'analytics.site-days',
    schedule: '*/30 * * * * *',
    run: (h) => processDirtyDays(h),
  });
  await app.register(analyticsRoutes);
  await app.register(tariffRoutes);
}

const idle = new WeakMap<HubContext, () => Promise<void>>();

/** Resolves once the dirty-day marks queued by ingest events are written (tests, shutdown). */
export function analyticsIdle(hub: HubContext): Promise<void> {
  return idle.get(hub)?.() ?? Promise.resolve();
}
