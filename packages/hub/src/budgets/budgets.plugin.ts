// Wires site budgets into a hub: the routes, and the job that notifies at 80 % and 100 %.
import type { FastifyInstance } from 'fastify';
import { budgetRoutes } from './budgets.routes.ts';
import { BudgetService, notifyBudgets } from './budgets.service.ts';

export async function budgetsPlugin(app: FastifyInstance): Promise<void> {
  // Daily costs change as the analytics job prices days; checking a few times an hour is enough.
  app.scheduler.add({ name: 'budgets.notify', schedule: '40 */5 * * * *', run: (h) => notifyBudgets(h) });
  await app.register(budgetRoutes(new BudgetService(app.hub)), { prefix: '/api/v1' });
}
