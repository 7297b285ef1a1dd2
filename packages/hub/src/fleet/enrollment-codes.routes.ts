// Enrollment codes for the portal's enrollment screen: who created which code for which site, when
// it expires and whether (and by which node) it was used. Codes are stored hashed, so the code
// itself is shown only once, by POST /sites/{siteId}/enrollment-codes; this list never has it, only
// an id derived from the stored hash, for POST /fleet/enrollment-codes/{id}/revoke.
import { WattfleetError } from '@wattfleet/protocol';
import type { FastifyInstance } from 'fastify';
import Type from 'typebox';
import { appSiteScope } from '../auth/access.ts';
import { isFleetAdmin } from '../auth/actor.ts';
import { actorOf } from '../auth/authenticate.ts';
import { withTenant } from '../identity/tenant.ts';
import { enrollmentCodeId, isRevoked } from '../nodes/enrollment.service.ts';

const ListQuery = Type.Object(
  {
    siteId: Type.Optional(Type.String({ format: 'uuid' })),
    state: Type.Optional(
      Type.Union([
        Type.Literal('pending'),
        Type.Literal('used'),
        Type.Literal('expired'),
        Type.Literal('revoked'),
        Type.Literal('all'),
      ]),
    ),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })),
  },
  { additionalProperties: false },
);

export type EnrollmentCodeState = 'pending' | 'used' | 'expired' | 'revoked';

export interface EnrollmentCodeRow {
  id: string;
  siteId: string;
  siteName: string;
  nodeName: string | null;
  createdBy: string | null;
  createdAt: string;
  expiresAt: string;
  usedAt: string | null;
  revokedAt: string | null;
  /** The node enrolled with it, or the node a re-enrollment code is bound to. */
  nodeId: string | null;
  state: EnrollmentCodeState;
}

export async function enrollmentCodeRoutes(app: FastifyInstance): Promise<void> {
  const hub = app.hub;
  app.get(
    '/fleet/enrollment-codes',
    {
      schema: {
        tags: ['fleet'],
        security: [{ bearer: [] }],
        summary:
          'Enrollment codes of the sites the caller may enroll nodes on (newest first, never the code)',
        querystring: ListQuery,
      },
      preHandler: app.requireActor,
    },
    async (request): Promise<EnrollmentCodeRow[]> => {
      const actor = actorOf(request);
      // The same people who may create codes (POST /sites/{id}/enrollment-codes) may list them.
      if (!isFleetAdmin(actor) && !(actor.kind === 'user' && actor.role === 'installer'))
        throw new WattfleetError('WF_FORBIDDEN', 'Only admins and installers manage enrollment codes');
      const q = request.query as {
        siteId?: string;
        state?: EnrollmentCodeState | 'all';
        limit?: number;
      };
      const scope = await appSiteScope(hub, actor, 'write');
      if (scope !== 'all' && scope.length === 0) return [];
      const now = new Date();
      const rows = await withTenant(
        hub,
        actor,
        async (trx) => {
          let sel = trx
            .selectFrom('enrollment_codes as c')
            .innerJoin('sites as s', 's.id', 'c.site_id')
            .select([
              enrollmentCodeId('c').as('id'),
              'c.site_id',
              's.name as site_name',
              'c.node_name',
              'c.created_by',
              'c.created_at',
              'c.expires_at',
              'c.used_at',
              'c.node_id',
              'c.revoked_at',
            ])
            .orderBy('c.created_at', 'desc')
            .limit(q.limit ?? 100);
          if (scope !== 'all') sel = sel.where('c.site_id', 'in', scope);
          if (q.siteId) sel = sel.where('c.site_id', '=', q.siteId);
          if (q.state === 'used') sel = sel.where('c.used_at', 'is not', null);
          const open = () => sel.where('c.used_at', 'is', null).where('c.revoked_at', 'is', null);
          if (q.state === 'pending') sel = open().where('c.expires_at', '>', now);
          if (q.state === 'expired') sel = open().where('c.expires_at', '<=', now);
          if (q.state === 'revoked')
            sel = sel.where('c.used_at', 'is', null).where('c.revoked_at', 'is not', null);
          return sel.execute();
        },
        'write',
      );
      return rows.map((r) => ({
        id: r.id,
        siteId: r.site_id,
        siteName: r.site_name,
        nodeName: r.node_name,
        createdBy: r.created_by,
        createdAt: r.created_at.toISOString(),
        expiresAt: r.expires_at.toISOString(),
        usedAt: r.used_at?.toISOString() ?? null,
        revokedAt: r.revoked_at?.toISOString() ?? null,
        nodeId: r.node_id,
        state: r.used_at ? 'used' : isRevoked(r) ? 'revoked' : r.expires_at <= now ? 'expired' : 'pending',
      }));
    },
  );
}
