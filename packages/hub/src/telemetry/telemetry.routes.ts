// Telemetry read routes: thin, typed by the TypeBox provider from telemetry.schema.ts (params,
// query and every response). Access checks and the resolution choice are in telemetry.service.ts.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { actorOf } from '../auth/authenticate.ts';
import { errors } from '../http/responses.ts';
import { Latest, NodeParams, SiteParams, TelemetryAnswer, TelemetryQuery } from './telemetry.schema.ts';
import { TelemetryService } from './telemetry.service.ts';

const tags = ['telemetry'];

export const telemetryRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const service = new TelemetryService(app.hub);
  const auth = { preHandler: app.requireActor };

  app.get(
    '/sites/:id/telemetry',
    {
      ...auth,
      schema: {
        tags,
        params: SiteParams,
        querystring: TelemetryQuery,
        response: { 200: TelemetryAnswer, ...errors('WF_NOT_FOUND') },
      },
    },
    async (request) => service.site(actorOf(request), request.params.id, request.query),
  );

  app.get(
    '/nodes/:id/latest',
    { ...auth, schema: { tags, params: NodeParams, response: { 200: Latest, ...errors('WF_NOT_FOUND') } } },
    async (request) => service.latest(actorOf(request), request.params.id),
  );
};
