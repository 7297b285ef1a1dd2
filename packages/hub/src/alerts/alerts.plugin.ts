// Wires alerts and notifications into a hub: evaluation when data arrives (bus events, coalesced
// per site), on a schedule (silence is only visible to a clock), and outbox delivery.
import type { FastifyInstance } from 'fastify';
import type { HubContext } from '../context.ts';
import { dispatchDue } from '../notifications/dispatcher.ts';
import { notificationRoutes } from '../notifications/notifications.routes.ts';
import { evaluateAllSites, evaluateSite } from './alert-engine.ts';
import { alertRoutes } from './alerts.routes.ts';

const idle = new WeakMap<HubContext, () => Promise<void>>();

/** Resolves when event-triggered evaluations queued so far have finished (tests, shutdown). */
export function alertsIdle(hub: HubContext): Promise<void> {
  return idle.get(hub)?.() ?? Promise.resolve();
}

export async function alertsPlugin(app: FastifyInstance): Promise<void> {
  const hub = app.hub;
  const running = new Map<string, Promise<void>>();
  const again = new Set<string>();
  let closed = false;
  // One evaluation per site at a time; events during a run ask for exactly one more run.
  const trigger = (siteId: string) => {
    if (closed) return;
    if (running.has(siteId)) {
      again.add(siteId);
      return;
    }
    const p = (async () => {
      do {
        again.delete(siteId);
        try {
          await evaluateSite(hub, siteId);
        } catch (err) {
          app.log.error({ err, siteId }, 'alert evaluation failed');
        }
      } while (again.has(siteId) && !closed);
    })().finally(() => running.delete(siteId));
    running.set(siteId, p);
  };
  const offs = [
    hub.bus.onEvent('telemetry.ingested', (e) => trigger(e.siteId)),
    hub.bus.onEvent('node.status', (e) => trigger(e.siteId)),
    hub.bus.onEvent('node.events', (e) => trigger(e.siteId)),
  ];
  idle.set(hub, async () => {
    while (running.size) await Promise.all([...running.values()]);
  });
  app.addHook('onClose', async () => {
    closed = true;
    for (const off of offs) off();
    await Promise.all([...running.values()]);
  });
  app.scheduler.add({ name: 'alerts.evaluate', schedule: '15 * * * * *', run: (h) => evaluateAllSites(h) });
  app.scheduler.add({
    name: 'notifications.dispatch',
    schedule: '*/5 * * * * *',
    run: (h) => dispatchDue(h),
  });
  await app.register(alertRoutes);
  await app.register(notificationRoutes);
}
