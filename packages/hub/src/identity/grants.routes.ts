// Installer grant routes: thin, typed by the TypeBox provider from grants.schema.ts. Access
// checks and logic are in grants.service.ts.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { actorOf } from '../auth/authenticate.ts';
import { errors } from '../http/responses.ts';
import { Grant, GrantBody, GrantList, GrantParams, GrantSiteParams } from './grants.schema.ts';
import { GrantService } from './grants.service.ts';

const tags = ['grants'];

export const grantRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const service = new GrantService(app.hub);
  const auth = { preHandler: app.requireActor };

  app.get(
    '/sites/:id/grants',
    {
      ...auth,
      schema: { tags, params: GrantSiteParams, response: { 200: GrantList, ...errors('WF_NOT_FOUND') } },
    },
    async (request) => service.list(actorOf(request), request.params.id),
  );

  app.post(
    '/sites/:id/grants',
    {
      ...auth,
      schema: {
        tags,
        params: GrantSiteParams,
        body: GrantBody,
        response: { 201: Grant, ...errors('WF_NOT_FOUND', 'WF_FORBIDDEN') },
      },
    },
    async (request, reply) => {
      const grant = await service.create(actorOf(request), request.params.id, request.body, request.ip);
      reply.status(201);
      return grant;
    },
  );

  app.delete(
    '/sites/:id/grants/:grantId',
    {
      ...auth,
      schema: {
        tags,
        params: GrantParams,
        response: { 200: Grant, ...errors('WF_NOT_FOUND', 'WF_FORBIDDEN') },
      },
    },
    async (request) =>
      service.revoke(actorOf(request), request.params.id, request.params.grantId, request.ip),
  );
};
