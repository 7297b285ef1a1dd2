// Org routes (the one org module: create, list, read, change): thin, typed by the TypeBox
// provider from orgs.schema.ts. Access checks and logic are in orgs.service.ts.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { actorOf } from '../auth/authenticate.ts';
import { errors } from '../http/responses.ts';
import { Org, OrgBody, OrgList, OrgParams, PatchOrgBody } from './orgs.schema.ts';
import { OrgService } from './orgs.service.ts';

const tags = ['orgs'];

export const orgRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const service = new OrgService(app.hub);
  const auth = { preHandler: app.requireActor };

  app.post(
    '/orgs',
    { ...auth, schema: { tags, body: OrgBody, response: { 201: Org, ...errors('WF_FORBIDDEN') } } },
    async (request, reply) => {
      const org = await service.create(actorOf(request), request.body, request.ip);
      reply.status(201);
      return org;
    },
  );

  app.get('/orgs', { ...auth, schema: { tags, response: { 200: OrgList } } }, async (request) =>
    service.list(actorOf(request)),
  );

  app.get(
    '/orgs/:id',
    { ...auth, schema: { tags, params: OrgParams, response: { 200: Org, ...errors('WF_NOT_FOUND') } } },
    async (request) => service.get(actorOf(request), request.params.id),
  );

  app.patch(
    '/orgs/:id',
    {
      ...auth,
      schema: {
        tags,
        params: OrgParams,
        body: PatchOrgBody,
        response: { 200: Org, ...errors('WF_FORBIDDEN', 'WF_NOT_FOUND', 'WF_CONFLICT') },
      },
    },
    async (request) => service.patch(actorOf(request), request.params.id, request.body, request.ip),
  );
};
