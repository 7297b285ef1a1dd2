// Org listing and changes. POST /orgs lives with the sites routes (the spine); admins manage orgs,
// everyone else sees only their own.
import { WattfleetError } from '@wattfleet/protocol';
import type { FastifyInstance } from 'fastify';
import Type from 'typebox';
import { auditInTransaction } from '../audit/audit.ts';
import { isFleetAdmin } from '../auth/actor.ts';
import { actorOf } from '../auth/authenticate.ts';
import { requireAdmin } from './guards.ts';
import { withTenant } from './tenant.ts';

const IdParams = Type.Object({ id: Type.String({ format: 'uuid' }) });
const PatchOrgBody = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    kind: Type.Optional(
      Type.Union([Type.Literal('operator'), Type.Literal('installer'), Type.Literal('household')]),
    ),
  },
  { additionalProperties: false },
);

export async function orgRoutes(app: FastifyInstance): Promise<void> {
  const hub = app.hub;

  app.get(
    '/orgs',
    { schema: { tags: ['orgs'], security: [{ bearer: [] }] }, preHandler: app.requireActor },
    async (request) => {
      const actor = actorOf(request);
      return withTenant(hub, actor, async (trx) => {
        let q = trx.selectFrom('orgs').selectAll().orderBy('name').orderBy('id');
        if (!isFleetAdmin(actor)) q = q.where('id', '=', actor.kind === 'user' ? actor.orgId : null);
        return q.execute();
      });
    },
  );

  app.get(
    '/orgs/:id',
    {
      schema: { tags: ['orgs'], security: [{ bearer: [] }], params: IdParams },
      preHandler: app.requireActor,
    },
    async (request) => {
      const actor = actorOf(request);
      const { id } = request.params as { id: string };
      if (!isFleetAdmin(actor) && !(actor.kind === 'user' && actor.orgId === id)) {
        throw new WattfleetError('WF_NOT_FOUND', 'Org not found');
      }
      const org = await withTenant(hub, actor, (trx) =>
        trx.selectFrom('orgs').selectAll().where('id', '=', id).executeTakeFirst(),
      );
      if (!org) throw new WattfleetError('WF_NOT_FOUND', 'Org not found');
      return org;
    },
  );

  app.patch(
    '/orgs/:id',
    {
      schema: { tags: ['orgs'], security: [{ bearer: [] }], params: IdParams, body: PatchOrgBody },
      preHandler: app.requireActor,
    },
    async (request) => {
      const { id } = request.params as { id: string };
      const actor = await requireAdmin(hub, request, 'org.update', { type: 'org', id });
      const body = request.body as { name?: string; kind?: 'operator' | 'installer' | 'household' };
      if (body.kind !== undefined && body.kind !== 'operator') {
        // Fleet-wide admins exist only in operator orgs (migration 013 enforces it again).
        const admins = await hub.db
          .selectFrom('users')
          .select('id')
          .where('org_id', '=', id)
          .where('role', '=', 'admin')
          .limit(1)
          .execute();
        if (admins.length > 0)
          throw new WattfleetError(
            'WF_CONFLICT',
            'This org has fleet-wide admins; make them org_admin (or move them) before changing its kind',
          );
      }
      // The audit entry commits with the change or not at all.
      const org = await withTenant(
        hub,
        actor,
        async (trx) => {
          const row = await (Object.keys(body).length > 0
            ? trx.updateTable('orgs').set(body).where('id', '=', id).returningAll().executeTakeFirst()
            : trx.selectFrom('orgs').selectAll().where('id', '=', id).executeTakeFirst());
          if (!row) return undefined;
          await auditInTransaction(trx, actor, {
            action: 'org.update',
            targetType: 'org',
            targetId: id,
            orgId: id,
            sourceIp: request.ip,
            details: body,
          });
          return row;
        },
        'write',
      );
      if (!org) throw new WattfleetError('WF_NOT_FOUND', 'Org not found');
      return org;
    },
  );
}
