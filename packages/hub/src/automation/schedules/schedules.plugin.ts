// Wires schedules into a hub: the service and routes under /api/v1, and the runner as a hub job
// (every 15 s, under the scheduler's advisory lock). `app.schedules.clock` is the one "now" of
// both, so tests pin it instead of depending on the time of day.
import type { FastifyInstance } from 'fastify';
import type { AutomationService } from '../automation.service.ts';
import { type Clock, ScheduleRunner } from './runner.ts';
import { scheduleRoutes } from './schedules.routes.ts';
import { ScheduleService } from './schedules.service.ts';

/** Often enough that an action runs within seconds of its minute, rare enough to be cheap. */
const TICK = '*/15 * * * * *';

export async function schedulesPlugin(app: FastifyInstance, automation: AutomationService): Promise<void> {
  const clock: Clock = { now: () => Date.now() };
  const service = new ScheduleService(app.hub, automation, () => clock.now());
  const runner = new ScheduleRunner(app.hub, automation, clock, app.log);
  app.decorate('schedules', { service, runner, clock });
  app.scheduler.add({ name: 'schedules', schedule: TICK, run: () => runner.tick() });
  await app.register(scheduleRoutes(service), { prefix: '/api/v1' });
}

declare module 'fastify' {
  interface FastifyInstance {
    schedules: { service: ScheduleService; runner: ScheduleRunner; clock: Clock };
  }
}
