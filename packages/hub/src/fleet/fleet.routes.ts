// Fleet overview in one request: every site the caller may see with node counts, last
// communication, open alerts and a derived health, so the installer table never fans out to one
// call per site. HTTP only; scope, health and SQL are in fleet.service.ts / fleet.repository.ts.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { actorOf } from '../auth/authenticate.ts';
import { FleetQuery, FleetSiteList } from './fleet.schema.ts';
import { FleetService } from './fleet.service.ts';

export type { FleetSiteRow } from './fleet.schema.ts';

export const fleetRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const service = new FleetService(app.hub);
  app.get(
    '/fleet/sites',
    {
      schema: {
        tags: ['fleet'],
        security: [{ bearer: [] }],
        summary: 'Every visible site with its health',
        // One site's row (its page shows the same health word as the fleet table, from this rule).
        querystring: FleetQuery,
        // A site outside the caller's scope is no error: the list is empty.
        response: { 200: FleetSiteList },
      },
      preHandler: app.requireActor,
    },
    async (request) => service.sites(actorOf(request), request.query.site),
  );
};
