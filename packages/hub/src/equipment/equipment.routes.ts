// Equipment registry and asset hierarchy routes: thin, typed by the TypeBox provider from
// equipment.schema.ts; access checks and logic are in equipment.service.ts.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { actorOf } from '../auth/authenticate.ts';
import { errors } from '../http/responses.ts';
import {
  Area,
  Commissioning,
  EquipmentItem,
  IdParams,
  Line,
  NameBody,
  PlacementBody,
  SiteEquipment,
  SiteIdParams,
} from './equipment.schema.ts';
import type { EquipmentService } from './equipment.service.ts';

const tags = ['equipment'];

export const equipmentRoutes =
  (service: EquipmentService): FastifyPluginAsyncTypebox =>
  async (app) => {
    const auth = { preHandler: app.requireActor };

    app.get(
      '/sites/:siteId/equipment',
      {
        ...auth,
        schema: { tags, params: SiteIdParams, response: { 200: SiteEquipment, ...errors('WF_NOT_FOUND') } },
      },
      async (request) => service.list(actorOf(request), request.params.siteId),
    );

    app.get(
      '/sites/:siteId/commissioning',
      {
        ...auth,
        schema: { tags, params: SiteIdParams, response: { 200: Commissioning, ...errors('WF_NOT_FOUND') } },
      },
      async (request) => service.commissioning(actorOf(request), request.params.siteId),
    );

    app.patch(
      '/equipment/:id',
      {
        ...auth,
        schema: {
          tags,
          params: IdParams,
          body: PlacementBody,
          response: { 200: EquipmentItem, ...errors('WF_NOT_FOUND', 'WF_FORBIDDEN', 'WF_VALIDATION') },
        },
      },
      async (request) => service.place(actorOf(request), request.params.id, request.body, request.ip),
    );

    app.post(
      '/sites/:siteId/areas',
      {
        ...auth,
        schema: {
          tags,
          params: SiteIdParams,
          body: NameBody,
          response: { 201: Area, ...errors('WF_NOT_FOUND', 'WF_FORBIDDEN', 'WF_CONFLICT') },
        },
      },
      async (request, reply) => {
        reply.status(201);
        return service.createArea(actorOf(request), request.params.siteId, request.body.name, request.ip);
      },
    );

    app.post(
      '/areas/:id/lines',
      {
        ...auth,
        schema: {
          tags,
          params: IdParams,
          body: NameBody,
          response: { 201: Line, ...errors('WF_NOT_FOUND', 'WF_FORBIDDEN', 'WF_CONFLICT') },
        },
      },
      async (request, reply) => {
        reply.status(201);
        return service.createLine(actorOf(request), request.params.id, request.body.name, request.ip);
      },
    );

    for (const [path, remove] of [
      ['/areas/:id', (a: Parameters<typeof service.removeArea>) => service.removeArea(...a)],
      ['/lines/:id', (a: Parameters<typeof service.removeLine>) => service.removeLine(...a)],
    ] as const) {
      app.delete(
        path,
        {
          ...auth,
          schema: {
            tags,
            params: IdParams,
            response: { 204: Type.Null(), ...errors('WF_NOT_FOUND', 'WF_FORBIDDEN') },
          },
        },
        async (request, reply) => {
          await remove([actorOf(request), request.params.id, request.ip]);
          reply.status(204);
          return null;
        },
      );
    }
  };
