// Wires schedules into a hub: the service and routes under /api/v1, and the runner as a hub job
// (every 15 s, under the scheduler's advisory lock, so with N hubs one runs each tick; the run
// log's unique claim holds even if two did). `scheduleClock` is the one "now" of both, so tests
// pin it instead of depending on the time of day (as `switchClock` does for the safety limits).
import type { FastifyInstance } from 'fastify';
import type { AutomationService } from '../automation.service.ts';
import { type Clock, ScheduleRunner } from './runner.ts';
import { scheduleRoutes } from './schedules.routes.ts';
import { ScheduleService } from './schedules.service.ts';

/** Often enough that an action runs within seconds of its minute, rare enough to be cheap. */
const TICK = '*/15 * * * * *';

/** The hub's schedule clock; production never replaces it. */
export const scheduleClock: Clock = { now: () => Date.now() };

export async function schedulesPlugin(
  app: FastifyInstance,
  automation: AutomationService,
  /** After a save or delete: the site's automation bundles follow (edge execution, 13.7). */
  onChanged?: (siteId: string) => void,
): Promise<void> {
  const service = new ScheduleService(app.hub, automation, () => scheduleClock.now(), onChanged);
  const runner = new ScheduleRunner(app.hub, automation, scheduleClock, app.log);
  app.scheduler.add({ name: 'schedules', schedule: TICK, run: () => runner.tick() });
  await app.register(scheduleRoutes(service), { prefix: '/api/v1' });
}
