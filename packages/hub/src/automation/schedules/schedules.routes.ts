// Schedule routes: thin, typed by the TypeBox provider from schedules.schema.ts. Access checks and
// logic are in schedules.service.ts.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { actorOf } from '../../auth/authenticate.ts';
import { errors } from '../../http/responses.ts';
import {
  OccurrenceList,
  OccurrencesQuery,
  RunList,
  RunsQuery,
  Schedule,
  ScheduleBody,
  ScheduleList,
  ScheduleParams,
  SchedulePatch,
  SiteParams,
} from './schedules.schema.ts';
import type { ScheduleService } from './schedules.service.ts';

const tags = ['automation'];
const NoContent = Type.Null({ description: 'Deleted; its run log stays' });

export const scheduleRoutes =
  (service: ScheduleService): FastifyPluginAsyncTypebox =>
  async (app) => {
    const auth = { preHandler: app.requireActor };

    app.get(
      '/sites/:siteId/schedules',
      {
        ...auth,
        schema: { tags, params: SiteParams, response: { 200: ScheduleList, ...errors('WF_NOT_FOUND') } },
      },
      async (request) => service.list(actorOf(request), request.params.siteId),
    );

    app.post(
      '/sites/:siteId/schedules',
      {
        ...auth,
        schema: {
          tags,
          params: SiteParams,
          body: ScheduleBody,
          response: { 201: Schedule, ...errors('WF_NOT_FOUND', 'WF_FORBIDDEN', 'WF_CONFLICT') },
        },
      },
      async (request, reply) => {
        const s = await service.create(actorOf(request), request.params.siteId, request.body, request.ip);
        reply.status(201);
        return s;
      },
    );

    app.get(
      '/schedules/:id',
      {
        ...auth,
        schema: { tags, params: ScheduleParams, response: { 200: Schedule, ...errors('WF_NOT_FOUND') } },
      },
      async (request) => service.get(actorOf(request), request.params.id),
    );

    app.patch(
      '/schedules/:id',
      {
        ...auth,
        schema: {
          tags,
          params: ScheduleParams,
          body: SchedulePatch,
          response: { 200: Schedule, ...errors('WF_NOT_FOUND', 'WF_FORBIDDEN', 'WF_CONFLICT') },
        },
      },
      async (request) => service.patch(actorOf(request), request.params.id, request.body, request.ip),
    );

    app.delete(
      '/schedules/:id',
      {
        ...auth,
        schema: {
          tags,
          params: ScheduleParams,
          response: { 204: NoContent, ...errors('WF_NOT_FOUND', 'WF_FORBIDDEN') },
        },
      },
      async (request, reply) => {
        await service.remove(actorOf(request), request.params.id, request.ip);
        reply.status(204);
      },
    );

    app.get(
      '/schedules/:id/occurrences',
      {
        ...auth,
        schema: {
          tags,
          summary: "The schedule's next switching instants",
          params: ScheduleParams,
          querystring: OccurrencesQuery,
          response: { 200: OccurrenceList, ...errors('WF_NOT_FOUND') },
        },
      },
      async (request) =>
        service.upcoming(actorOf(request), request.params.id, request.query.count ?? 10, request.query.from),
    );

    app.get(
      '/schedules/:id/runs',
      {
        ...auth,
        schema: {
          tags,
          params: ScheduleParams,
          querystring: RunsQuery,
          response: { 200: RunList, ...errors('WF_NOT_FOUND') },
        },
      },
      async (request) => service.runs(actorOf(request), request.params.id, request.query.limit ?? 100),
    );
  };
