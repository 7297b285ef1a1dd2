// Org and site management. Users, installer grants and role checks live in identity/; reads and
// changes here run through row-level security (withTenant) as a second fence. Creating a site
// still runs as the table owner: the sites insert policy only admits ids already in the caller's
// scope, which a new site never is.
import { WattfleetError } from '@wattfleet/protocol';
import type { FastifyInstance } from 'fastify';
import type { Kysely } from 'kysely';
import Type from 'typebox';
import { audit, auditInTransaction } from '../audit/audit.ts';
import { assertSiteAccess } from '../auth/access.ts';
import { isFleetAdmin } from '../auth/actor.ts';
import { actorOf } from '../auth/authenticate.ts';
import { withTenant } from '../identity/tenant.ts';
import { controlPlaneConfig } from '../mqtt/config.ts';
import { controlChannel } from '../nodes/control-channel.ts';
import type { DB } from '../storage/schema.ts';
import { isValidTimezone } from './timezone.ts';

export const OrgBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200 }),
    kind: Type.Union([Type.Literal('operator'), Type.Literal('installer'), Type.Literal('household')]),
  },
  { additionalProperties: false },
);

export const SiteBody = Type.Object(
  {
    orgId: Type.String({ format: 'uuid' }),
    installerOrgId: Type.Optional(Type.Union([Type.String({ format: 'uuid' }), Type.Null()])),
    name: Type.String({ minLength: 1, maxLength: 200 }),
    timezone: Type.String({ minLength: 1, maxLength: 64 }),
    latitude: Type.Optional(Type.Number({ minimum: -90, maximum: 90 })),
    longitude: Type.Optional(Type.Number({ minimum: -180, maximum: 180 })),
    systemKw: Type.Optional(Type.Number({ minimum: 0, maximum: 100000 })),
  },
  { additionalProperties: false },
);

export const SitePatch = Type.Object(
  {
    installerOrgId: Type.Optional(Type.Union([Type.String({ format: 'uuid' }), Type.Null()])),
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    timezone: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    latitude: Type.Optional(Type.Union([Type.Number({ minimum: -90, maximum: 90 }), Type.Null()])),
    longitude: Type.Optional(Type.Union([Type.Number({ minimum: -180, maximum: 180 }), Type.Null()])),
    systemKw: Type.Optional(Type.Union([Type.Number({ minimum: 0, maximum: 100000 }), Type.Null()])),
    status: Type.Optional(
      Type.Union([Type.Literal('commissioning'), Type.Literal('active'), Type.Literal('decommissioned')]),
    ),
  },
  { additionalProperties: false },
);

/**
 * Refuses references to orgs that do not exist with a 400 that
 * names the field, instead of letting the foreign key fail inside the insert.
 */
async function assertOrgsExist(
  db: Kysely<DB>,
  refs: { id: string | null | undefined; path: string }[],
): Promise<void> {
  const wanted = refs.filter((r): r is { id: string; path: string } => !!r.id);
  if (wanted.length === 0) return;
  const rows = await db
    .selectFrom('orgs')
    .select('id')
    .where(
      'id',
      'in',
      wanted.map((r) => r.id),
    )
    .execute();
  const known = new Set(rows.map((r) => r.id));
  const problems = wanted
    .filter((r) => !known.has(r.id))
    .map((r) => ({ path: r.path, message: 'unknown org' }));
  if (problems.length) throw new WattfleetError('WF_VALIDATION', undefined, problems);
}

export async function siteRoutes(app: FastifyInstance): Promise<void> {
  const hub = app.hub;

  app.post(
    '/orgs',
    { schema: { tags: ['orgs'], body: OrgBody }, preHandler: app.requireActor },
    async (request, reply) => {
      const actor = actorOf(request);
      if (!isFleetAdmin(actor)) throw new WattfleetError('WF_FORBIDDEN');
      const body = request.body as { name: string; kind: 'operator' | 'installer' | 'household' };
      const org = await withTenant(
        hub,
        actor,
        async (trx) => {
          const created = await trx.insertInto('orgs').values(body).returningAll().executeTakeFirstOrThrow();
          await auditInTransaction(trx, actor, {
            action: 'org.create',
            targetType: 'org',
            targetId: created.id,
            sourceIp: request.ip,
          });
          return created;
        },
        'write',
      );
      reply.status(201);
      return org;
    },
  );

  app.post(
    '/sites',
    { schema: { tags: ['sites'], body: SiteBody }, preHandler: app.requireActor },
    async (request, reply) => {
      const actor = actorOf(request);
      const body = request.body as {
        orgId: string;
        installerOrgId?: string | null;
        name: string;
        timezone: string;
        latitude?: number;
        longitude?: number;
        systemKw?: number;
      };
      if (
        !isFleetAdmin(actor) &&
        !(actor.kind === 'user' && actor.orgId === body.orgId && actor.role !== 'viewer')
      ) {
        throw new WattfleetError('WF_FORBIDDEN');
      }
      if (!isValidTimezone(body.timezone)) {
        throw new WattfleetError('WF_VALIDATION', undefined, [
          { path: '/body/timezone', message: `Unknown IANA time zone "${body.timezone}"` },
        ]);
      }
      await assertOrgsExist(hub.db, [
        { id: body.orgId, path: '/body/orgId' },
        { id: body.installerOrgId, path: '/body/installerOrgId' },
      ]);
      const site = await hub.db.transaction().execute(async (trx) => {
        const created = await trx
          .insertInto('sites')
          .values({
            org_id: body.orgId,
            installer_org_id: body.installerOrgId ?? null,
            name: body.name,
            timezone: body.timezone,
            latitude: body.latitude ?? null,
            longitude: body.longitude ?? null,
            system_kw: body.systemKw ?? null,
          })
          .returningAll()
          .executeTakeFirstOrThrow();
        await audit(trx, actor, {
          action: 'site.create',
          targetType: 'site',
          targetId: created.id,
          sourceIp: request.ip,
        });
        return created;
      });
      reply.status(201);
      return site;
    },
  );

  app.get('/sites', { schema: { tags: ['sites'] }, preHandler: app.requireActor }, async (request) => {
    const actor = actorOf(request);
    const scope = await hub.siteScope(hub.db, actor, 'read');
    if (scope !== 'all' && scope.length === 0) return [];
    // Scoped twice: by the grants-aware list here, and by row-level security inside withTenant.
    return withTenant(hub, actor, async (trx) => {
      let q = trx.selectFrom('sites').selectAll().orderBy('name').orderBy('id');
      if (scope !== 'all') q = q.where('id', 'in', scope);
      return q.execute();
    });
  });

  app.patch(
    '/sites/:id',
    {
      schema: {
        tags: ['sites'],
        params: Type.Object({ id: Type.String({ format: 'uuid' }) }),
        body: SitePatch,
      },
      preHandler: app.requireActor,
    },
    async (request) => {
      const actor = actorOf(request);
      const { id } = request.params as { id: string };
      await assertSiteAccess(hub, actor, id, 'write');
      const body = request.body as {
        installerOrgId?: string | null;
        name?: string;
        timezone?: string;
        latitude?: number | null;
        longitude?: number | null;
        systemKw?: number | null;
        status?: 'commissioning' | 'active' | 'decommissioned';
      };
      const site = await hub.db
        .selectFrom('sites')
        .select('org_id')
        .where('id', '=', id)
        .executeTakeFirstOrThrow();
      // Who installs a site is the owner's decision (or an admin's), not the installer's.
      if (
        body.installerOrgId !== undefined &&
        !isFleetAdmin(actor) &&
        !(
          actor.kind === 'user' &&
          (actor.role === 'owner' || actor.role === 'org_admin') &&
          actor.orgId === site.org_id
        )
      ) {
        await audit(hub.db, actor, {
          action: 'site.update',
          targetType: 'site',
          targetId: id,
          result: 'denied',
          sourceIp: request.ip,
        });
        throw new WattfleetError('WF_FORBIDDEN');
      }
      if (body.timezone !== undefined && !isValidTimezone(body.timezone)) {
        throw new WattfleetError('WF_VALIDATION', undefined, [
          { path: '/body/timezone', message: `Unknown IANA time zone "${body.timezone}"` },
        ]);
      }
      await assertOrgsExist(hub.db, [{ id: body.installerOrgId, path: '/body/installerOrgId' }]);
      const patch = {
        ...(body.installerOrgId !== undefined ? { installer_org_id: body.installerOrgId } : {}),
        ...(body.name !== undefined ? { name: body.name } : {}),
        ...(body.timezone !== undefined ? { timezone: body.timezone } : {}),
        ...(body.latitude !== undefined ? { latitude: body.latitude } : {}),
        ...(body.longitude !== undefined ? { longitude: body.longitude } : {}),
        ...(body.systemKw !== undefined ? { system_kw: body.systemKw } : {}),
        ...(body.status !== undefined ? { status: body.status } : {}),
      };
      // The change itself runs as the tenant with write scope: row-level security refuses it too.
      // The audit entry commits with the change or not at all.
      const updated = await withTenant(
        hub,
        actor,
        async (trx) => {
          const row = await (Object.keys(patch).length > 0
            ? trx.updateTable('sites').set(patch).where('id', '=', id).returningAll().executeTakeFirst()
            : trx.selectFrom('sites').selectAll().where('id', '=', id).executeTakeFirst());
          if (!row) return undefined;
          await auditInTransaction(trx, actor, {
            action: 'site.update',
            targetType: 'site',
            targetId: id,
            orgId: row.org_id,
            sourceIp: request.ip,
            details: body,
          });
          return row;
        },
        'write',
      );
      if (!updated) throw new WattfleetError('WF_NOT_FOUND', 'Site not found');
      return updated;
    },
  );

  app.get(
    '/sites/:id',
    {
      schema: { tags: ['sites'], params: Type.Object({ id: Type.String({ format: 'uuid' }) }) },
      preHandler: app.requireActor,
    },
    async (request) => {
      const { id } = request.params as { id: string };
      const actor = actorOf(request);
      await assertSiteAccess(hub, actor, id);
      const found = await withTenant(hub, actor, async (trx) => {
        const site = await trx.selectFrom('sites').selectAll().where('id', '=', id).executeTakeFirst();
        if (!site) return undefined;
        const nodes = await trx
          .selectFrom('nodes')
          .select([
            'id',
            'name',
            'kind',
            'active',
            'status',
            'last_seen_at',
            'agent_version',
            controlChannel(controlPlaneConfig(hub.config).offlineAfterS).as('control_channel'),
          ])
          .where('site_id', '=', id)
          .orderBy('name')
          .execute();
        return { ...site, nodes };
      });
      if (!found) throw new WattfleetError('WF_NOT_FOUND', 'Site not found');
      return found;
    },
  );
}
