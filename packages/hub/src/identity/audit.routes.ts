// The audit trail route: thin, typed by the TypeBox provider from audit.schema.ts. The admin
// check and paging are in audit.service.ts.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { actorOf } from '../auth/authenticate.ts';
import { errors } from '../http/responses.ts';
import { AuditPage, AuditQuery } from './audit.schema.ts';
import { AuditService } from './audit.service.ts';

export const auditRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const service = new AuditService(app.hub);
  app.get(
    '/audit',
    {
      preHandler: app.requireActor,
      schema: {
        tags: ['audit'],
        querystring: AuditQuery,
        response: { 200: AuditPage, ...errors('WF_FORBIDDEN') },
      },
    },
    async (request) => service.list(actorOf(request), request.query, request.ip),
  );
};
