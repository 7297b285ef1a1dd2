// Enrollment codes for the portal's enrollment screen: who created which code for which site, when
// it expires and whether (and by which node) it was used. Codes are stored hashed, so the code
// itself is shown only once, by POST /sites/{siteId}/enrollment-codes; this list never has it, only
// an id derived from the stored hash, for POST /fleet/enrollment-codes/{id}/revoke.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { actorOf } from '../auth/authenticate.ts';
import { errors } from '../http/responses.ts';
import { CodeListQuery, EnrollmentCodeList } from './fleet.schema.ts';
import { FleetService } from './fleet.service.ts';

export type { EnrollmentCodeRow, EnrollmentCodeState } from './fleet.schema.ts';

export const enrollmentCodeRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const service = new FleetService(app.hub);
  app.get(
    '/fleet/enrollment-codes',
    {
      schema: {
        tags: ['fleet'],
        security: [{ bearer: [] }],
        summary:
          'Enrollment codes of the sites the caller may enroll nodes on (newest first, never the code)',
        querystring: CodeListQuery,
        response: { 200: EnrollmentCodeList, ...errors('WF_FORBIDDEN') },
      },
      preHandler: app.requireActor,
    },
    async (request) => service.enrollmentCodes(actorOf(request), request.query),
  );
};
