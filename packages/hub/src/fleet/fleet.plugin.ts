// Portal-facing fleet routes: the one-request fleet overview, the agent config editor's API and
// the enrollment codes list.
import type { FastifyInstance } from 'fastify';
import { agentConfigRoutes } from './agent-config.routes.ts';
import { enrollmentCodeRoutes } from './enrollment-codes.routes.ts';
import { fleetRoutes } from './fleet.routes.ts';

export async function fleetPlugin(app: FastifyInstance): Promise<void> {
  await app.register(fleetRoutes);
  await app.register(agentConfigRoutes);
  await app.register(enrollmentCodeRoutes);
}
