// Site routes: thin, typed by the TypeBox provider from sites.schema.ts (params, body and every
// response). Access checks and logic are in sites.service.ts; org routes are in orgs/.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { actorOf } from '../auth/authenticate.ts';
import { errors } from '../http/responses.ts';
import { Site, SiteBody, SiteDetail, SiteList, SiteParams, SitePatch } from './sites.schema.ts';
import { SiteService } from './sites.service.ts';

const tags = ['sites'];

export const siteRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const service = new SiteService(app.hub);
  const auth = { preHandler: app.requireActor };

  app.post(
    '/sites',
    { ...auth, schema: { tags, body: SiteBody, response: { 201: Site, ...errors('WF_FORBIDDEN') } } },
    async (request, reply) => {
      const site = await service.create(actorOf(request), request.body, request.ip);
      reply.status(201);
      return site;
    },
  );

  app.get('/sites', { ...auth, schema: { tags, response: { 200: SiteList } } }, async (request) =>
    service.list(actorOf(request)),
  );

  app.patch(
    '/sites/:id',
    {
      ...auth,
      schema: {
        tags,
        params: SiteParams,
        body: SitePatch,
        response: { 200: Site, ...errors('WF_NOT_FOUND', 'WF_FORBIDDEN') },
      },
    },
    async (request) => service.patch(actorOf(request), request.params.id, request.body, request.ip),
  );

  app.get(
    '/sites/:id',
    {
      ...auth,
      schema: { tags, params: SiteParams, response: { 200: SiteDetail, ...errors('WF_NOT_FOUND') } },
    },
    async (request) => service.get(actorOf(request), request.params.id),
  );
};
