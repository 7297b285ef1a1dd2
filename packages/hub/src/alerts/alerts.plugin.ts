// Wires alerts and notifications into a hub: evaluation when data arrives (bus events, coalesced
// per site), on a schedule (silence is only visible to a clock), and outbox delivery.
import type { FastifyInstance } from 'fastify';
import type { HubContext } from '../context.ts';
import { isRemote } from '../mqtt/cluster-bridge.ts';
import { dispatchDue } from '../notifications/dispatcher.ts';
import { notificationRoutes } from '../notifications/notifications.routes.ts';
import { evaluateAllSites, evaluateSite } from './alert-engine.ts';
import { alertRoutes } from './alerts.routes.ts';
import { AlertService } from './alerts.service.ts';

const TELEMETRY_EVAL_MS = 5_000;
/**
 * Share of one core telemetry-triggered evaluations may take. Many busy sites (a hub polling
 * thousands of vendor accounts) would otherwise evaluate every site every 5 s; the per-site
 * interval then stretches to sites × mean evaluation time / budget (a few small sites: 5 s). The
 * minute job and status/event triggers are not throttled by it.
 */
const TELEMETRY_EVAL_BUDGET = 0.1;
const MAX_TELEMETRY_EVAL_MS = 60_000;

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
  const lastRun = new Map<string, number>();
  const deferred = new Map<string, NodeJS.Timeout>();
  /** Mean duration of one site's evaluation (ms, moving average) and when sites sent telemetry. */
  let evalMs = 0;
  const telemetrySites = new Map<string, number>();
  let sitesCountedAt = 0;
  // One evaluation per site at a time; events during a run ask for exactly one more run.
  const trigger = (siteId: string) => {
    if (closed) return;
    const timer = deferred.get(siteId);
    if (timer) {
      clearTimeout(timer);
      deferred.delete(siteId);
    }
    lastRun.set(siteId, Date.now());
    if (running.has(siteId)) {
      again.add(siteId);
      return;
    }
    const p = (async () => {
      do {
        again.delete(siteId);
        try {
          const started = performance.now();
          await evaluateSite(hub, siteId);
          evalMs = evalMs * 0.9 + (performance.now() - started) * 0.1;
          hub.metrics.alertEvaluations.inc({ result: 'ok' });
        } catch (err) {
          hub.metrics.alertEvaluations.inc({ result: 'failed' });
          app.log.error({ err, siteId }, 'alert evaluation failed');
        }
      } while (again.has(siteId) && !closed);
    })().finally(() => running.delete(siteId));
    running.set(siteId, p);
  };
  // Telemetry arrives many times a minute per site and rarely changes an alert between two
  // batches: it triggers at most one evaluation per site every TELEMETRY_EVAL_MS, or longer when
  // many sites share TELEMETRY_EVAL_BUDGET (the last batch of a burst is always evaluated).
  // Status changes and events are evaluated at once.
  const soon = (siteId: string) => {
    if (closed || deferred.has(siteId)) return;
    const now = Date.now();
    telemetrySites.set(siteId, now);
    if (now - sitesCountedAt > 10_000) {
      // Sites that sent telemetry in the last minute: the ones this budget is shared among.
      for (const [id, at] of telemetrySites) if (now - at > 60_000) telemetrySites.delete(id);
      sitesCountedAt = now;
    }
    const interval = Math.min(
      MAX_TELEMETRY_EVAL_MS,
      Math.max(TELEMETRY_EVAL_MS, (telemetrySites.size * evalMs) / TELEMETRY_EVAL_BUDGET),
    );
    const wait = (lastRun.get(siteId) ?? 0) + interval - now;
    if (wait <= 0) return trigger(siteId);
    const timer = setTimeout(() => {
      deferred.delete(siteId);
      trigger(siteId);
    }, wait);
    timer.unref();
    deferred.set(siteId, timer);
  };
  const offs = [
    hub.bus.onEvent('telemetry.ingested', (e) => soon(e.siteId)),
    // Events relayed from another hub were evaluated there.
    hub.bus.onEvent('node.status', (e) => isRemote(e) || trigger(e.siteId)),
    hub.bus.onEvent('node.events', (e) => isRemote(e) || trigger(e.siteId)),
  ];
  idle.set(hub, async () => {
    for (const siteId of [...deferred.keys()]) trigger(siteId);
    while (running.size) await Promise.all([...running.values()]);
  });
  app.addHook('onClose', async () => {
    closed = true;
    for (const timer of deferred.values()) clearTimeout(timer);
    for (const off of offs) off();
    await Promise.all([...running.values()]);
  });
  app.scheduler.add({ name: 'alerts.evaluate', schedule: '15 * * * * *', run: (h) => evaluateAllSites(h) });
  app.scheduler.add({
    name: 'notifications.dispatch',
    schedule: '*/5 * * * * *',
    run: (h) => dispatchDue(h),
  });
  await app.register(alertRoutes(new AlertService(hub)));
  await app.register(notificationRoutes);
}
