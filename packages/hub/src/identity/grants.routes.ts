// Installer grants: the owner org of a site (its owners) or an admin lets an installer org access
// the site, optionally until a date, and can revoke it. Installers never grant. Grant rows are read
// and written as the tenant (row-level security), after the code-level checks.
import { WattfleetError } from '@wattfleet/protocol';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import Type from 'typebox';
import { audit } from '../audit/audit.ts';
import { assertSiteAccess } from '../auth/access.ts';
import { type Actor, isFleetAdmin } from '../auth/actor.ts';
import { actorOf } from '../auth/authenticate.ts';
import type { HubContext } from '../context.ts';
import { withTenant } from './tenant.ts';

const SiteParams = Type.Object({ id: Type.String({ format: 'uuid' }) });
const GrantParams = Type.Object({
  id: Type.String({ format: 'uuid' }),
  grantId: Type.String({ format: 'uuid' }),
});
const GrantBody = Type.Object(
  {
    orgId: Type.String({ format: 'uuid' }),
    expiresAt: Type.Optional(Type.Union([Type.String({ format: 'date-time' }), Type.Null()])),
  },
  { additionalProperties: false },
);

interface GrantRow {
  id: string;
  site_id: string;
  grantee_org_id: string;
  granted_by: string | null;
  created_at: Date;
  expires_at: Date | null;
  revoked_at: Date | null;
}

function grantView(g: GrantRow, now = Date.now()) {
  return {
    id: g.id,
    siteId: g.site_id,
    orgId: g.grantee_org_id,
    grantedBy: g.granted_by,
    createdAt: g.created_at.toISOString(),
    expiresAt: g.expires_at?.toISOString() ?? null,
    revokedAt: g.revoked_at?.toISOString() ?? null,
    active: !g.revoked_at && (!g.expires_at || g.expires_at.getTime() > now),
  };
}

/** Site owners (owner or org_admin of the owner org) and fleet admins manage grants; others get 403/404. */
async function assertGrantManager(
  hub: HubContext,
  request: FastifyRequest,
  siteId: string,
  action: string,
): Promise<Actor> {
  const actor = actorOf(request);
  await assertSiteAccess(hub, actor, siteId, 'read');
  if (isFleetAdmin(actor)) return actor;
  const site = await hub.db
    .selectFrom('sites')
    .select('org_id')
    .where('id', '=', siteId)
    .executeTakeFirstOrThrow();
  if (
    actor.kind === 'user' &&
    (actor.role === 'owner' || actor.role === 'org_admin') &&
    actor.orgId === site.org_id
  )
    return actor;
  await audit(hub.db, actor, {
    action,
    targetType: 'site',
    targetId: siteId,
    result: 'denied',
    sourceIp: request.ip,
  });
  throw new WattfleetError('WF_FORBIDDEN');
}

export async function grantRoutes(app: FastifyInstance): Promise<void> {
  const hub = app.hub;

  app.get(
    '/sites/:id/grants',
    {
      schema: { tags: ['grants'], security: [{ bearer: [] }], params: SiteParams },
      preHandler: app.requireActor,
    },
    async (request) => {
      const { id } = request.params as { id: string };
      const actor = actorOf(request);
      await assertSiteAccess(hub, actor, id, 'read');
      const rows = await withTenant(hub, actor, (trx) =>
        trx.selectFrom('site_grants').selectAll().where('site_id', '=', id).orderBy('created_at').execute(),
      );
      return rows.map((g) => grantView(g));
    },
  );

  app.post(
    '/sites/:id/grants',
    {
      schema: { tags: ['grants'], security: [{ bearer: [] }], params: SiteParams, body: GrantBody },
      preHandler: app.requireActor,
    },
    async (request, reply) => {
      const { id } = request.params as { id: string };
      const actor = await assertGrantManager(hub, request, id, 'grant.create');
      const body = request.body as { orgId: string; expiresAt?: string | null };
      const org = await hub.db
        .selectFrom('orgs')
        .select(['id', 'kind'])
        .where('id', '=', body.orgId)
        .executeTakeFirst();
      if (org?.kind !== 'installer') {
        throw new WattfleetError('WF_VALIDATION', undefined, [
          { path: '/body/orgId', message: 'must be an installer org' },
        ]);
      }
      const expiresAt = body.expiresAt ? new Date(body.expiresAt) : null;
      if (expiresAt && expiresAt.getTime() <= Date.now()) {
        throw new WattfleetError('WF_VALIDATION', undefined, [
          { path: '/body/expiresAt', message: 'must be in the future' },
        ]);
      }
      // The installer org is looked up as the system above (an owner cannot read other orgs); the
      // grant itself is written as the tenant with write scope.
      const grant = await withTenant(
        hub,
        actor,
        (trx) =>
          trx
            .insertInto('site_grants')
            .values({
              site_id: id,
              grantee_org_id: body.orgId,
              granted_by: actor.kind === 'user' ? actor.userId : actor.kind,
              expires_at: expiresAt,
              revoked_at: null,
              revoked_by: null,
            })
            .returningAll()
            .executeTakeFirstOrThrow(),
        'write',
      );
      await audit(hub.db, actor, {
        action: 'grant.create',
        targetType: 'site',
        targetId: id,
        sourceIp: request.ip,
        details: { grantId: grant.id, granteeOrgId: body.orgId, expiresAt: expiresAt?.toISOString() ?? null },
      });
      reply.status(201);
      return grantView(grant);
    },
  );

  app.delete(
    '/sites/:id/grants/:grantId',
    {
      schema: { tags: ['grants'], security: [{ bearer: [] }], params: GrantParams },
      preHandler: app.requireActor,
    },
    async (request) => {
      const { id, grantId } = request.params as { id: string; grantId: string };
      const actor = await assertGrantManager(hub, request, id, 'grant.revoke');
      const grant = await withTenant(
        hub,
        actor,
        (trx) =>
          trx
            .updateTable('site_grants')
            .set({ revoked_at: new Date(), revoked_by: actor.kind === 'user' ? actor.userId : actor.kind })
            .where('id', '=', grantId)
            .where('site_id', '=', id)
            .where('revoked_at', 'is', null)
            .returningAll()
            .executeTakeFirst(),
        'write',
      );
      if (!grant) throw new WattfleetError('WF_NOT_FOUND', 'Grant not found or already revoked');
      await audit(hub.db, actor, {
        action: 'grant.revoke',
        targetType: 'site',
        targetId: id,
        sourceIp: request.ip,
        details: { grantId, granteeOrgId: grant.grantee_org_id },
      });
      return grantView(grant);
    },
  );
}
