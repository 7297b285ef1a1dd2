// Wires staged rollouts into a hub: the service, its job (every 5 s, under the scheduler's
// advisory lock so one hub executes each pass) and the routes under /api/v1.
import type { FastifyInstance } from 'fastify';
import { rolloutRoutes } from './rollouts.routes.ts';
import { RolloutService } from './rollouts.service.ts';

declare module 'fastify' {
  interface FastifyInstance {
    rollouts: RolloutService;
  }
}

export async function rolloutsPlugin(app: FastifyInstance): Promise<void> {
  const service = new RolloutService(app.hub, () => app.controlPlane.commands);
  app.decorate('rollouts', service);
  app.scheduler.add({ name: 'rollouts', schedule: '*/5 * * * * *', run: () => service.tick() });
  await app.register(rolloutRoutes(service), { prefix: '/api/v1' });
}
