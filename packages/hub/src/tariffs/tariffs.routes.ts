// Tariff routes: thin, typed by the TypeBox provider from tariffs.schema.ts (params, body and
// every response). Access checks and the append-only rules are in tariffs.service.ts.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { actorOf } from '../auth/authenticate.ts';
import { errors } from '../http/responses.ts';
import { NoContent, SiteParams, Tariff, TariffBody, TariffList, TariffParams } from './tariffs.schema.ts';
import type { TariffService } from './tariffs.service.ts';

const tags = ['tariffs'];

export const tariffRoutes =
  (service: TariffService): FastifyPluginAsyncTypebox =>
  async (app) => {
    const auth = { preHandler: app.requireActor };

    app.get(
      '/sites/:id/tariffs',
      {
        ...auth,
        schema: { tags, params: SiteParams, response: { 200: TariffList, ...errors('WF_NOT_FOUND') } },
      },
      async (request) => service.list(actorOf(request), request.params.id),
    );

    app.post(
      '/sites/:id/tariffs',
      {
        ...auth,
        schema: {
          tags,
          params: SiteParams,
          body: TariffBody,
          response: { 201: Tariff, ...errors('WF_NOT_FOUND', 'WF_CONFLICT') },
        },
      },
      async (request, reply) => {
        const version = await service.create(actorOf(request), request.params.id, request.body, request.ip);
        return reply.status(201).send(version);
      },
    );

    app.delete(
      '/sites/:id/tariffs/:tariffId',
      {
        ...auth,
        schema: {
          tags,
          params: TariffParams,
          response: { 204: NoContent, ...errors('WF_NOT_FOUND', 'WF_CONFLICT') },
        },
      },
      async (request, reply) => {
        await service.remove(actorOf(request), request.params.id, request.params.tariffId, request.ip);
        return reply.status(204).send(null);
      },
    );
  };
