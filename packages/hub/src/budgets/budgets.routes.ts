// Budget routes: thin, typed by the TypeBox provider from the protocol's budget schemas. Access
// checks and logic are in budgets.service.ts.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { BudgetBody, BudgetStatus } from '@wattfleet/protocol';
import Type from 'typebox';
import { actorOf } from '../auth/authenticate.ts';
import { errors } from '../http/responses.ts';
import type { BudgetService } from './budgets.service.ts';

const tags = ['budgets'];
const SiteParams = Type.Object({ id: Type.String({ format: 'uuid' }) });

export const budgetRoutes =
  (service: BudgetService): FastifyPluginAsyncTypebox =>
  async (app) => {
    const auth = { preHandler: app.requireActor };

    app.get(
      '/sites/:id/budget',
      {
        ...auth,
        schema: { tags, params: SiteParams, response: { 200: BudgetStatus, ...errors('WF_NOT_FOUND') } },
      },
      async (request) => service.get(actorOf(request), request.params.id),
    );

    app.put(
      '/sites/:id/budget',
      {
        ...auth,
        schema: {
          tags,
          params: SiteParams,
          body: BudgetBody,
          response: { 200: BudgetStatus, ...errors('WF_NOT_FOUND', 'WF_VALIDATION') },
        },
      },
      async (request) => service.put(actorOf(request), request.params.id, request.body, request.ip),
    );
  };
