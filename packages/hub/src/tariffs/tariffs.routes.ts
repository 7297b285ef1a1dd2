// Tariff CRUD per site. Versions are append-only in effect: a new version prices days from its own
// date on, and versions that already priced a day cannot be deleted, so past costs never move.
import { WattfleetError } from '@wattfleet/protocol';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import Type from 'typebox';
import { markDays } from '../analytics/site-day.service.ts';
import { audit } from '../audit/audit.ts';
import { assertSiteAccess } from '../auth/access.ts';
import { actorId } from '../auth/actor.ts';
import { actorOf } from '../auth/authenticate.ts';
import { withTenant } from '../identity/tenant.ts';
import { localDate } from '../time/zoned.ts';
import { TariffDefinition } from './tariff-cost.ts';
import { insertTariff, listTariffs } from './tariffs.repository.ts';

// The protocol's strict calendar date: 2024-02-30 and year 0000 never reach SQL.
const DATE = Type.String({ format: 'date' });
const SiteParams = Type.Object({ id: Type.String({ format: 'uuid' }) });
const TariffBody = Type.Object(
  { validFrom: DATE, name: Type.Optional(Type.String({ maxLength: 200 })), definition: TariffDefinition },
  { additionalProperties: false },
);

export async function tariffRoutes(app: FastifyInstance): Promise<void> {
  const hub = app.hub;

  app.get(
    '/sites/:id/tariffs',
    { schema: { tags: ['tariffs'], params: SiteParams }, preHandler: app.requireActor },
    async (request) => {
      const { id } = request.params as { id: string };
      const actor = actorOf(request);
      await assertSiteAccess(hub, actor, id);
      return withTenant(hub, actor, (trx) => listTariffs(trx, id));
    },
  );

  app.post(
    '/sites/:id/tariffs',
    { schema: { tags: ['tariffs'], params: SiteParams, body: TariffBody }, preHandler: app.requireActor },
    async (request, reply) => {
      const { id } = request.params as { id: string };
      const actor = actorOf(request);
      await assertSiteAccess(hub, actor, id, 'write');
      const body = request.body as { validFrom: string; name?: string; definition: TariffDefinition };
      if (Number.isNaN(Date.parse(`${body.validFrom}T00:00:00Z`))) {
        throw new WattfleetError('WF_VALIDATION', undefined, [
          { path: '/body/validFrom', message: 'Not a real date' },
        ]);
      }
      const existing = await listTariffs(hub.db, id);
      if (existing.some((v) => v.validFrom === body.validFrom)) {
        throw new WattfleetError('WF_CONFLICT', `A tariff version already starts on ${body.validFrom}`);
      }
      const version = await insertTariff(hub.db, {
        siteId: id,
        validFrom: body.validFrom,
        name: body.name ?? null,
        definition: body.definition,
        createdBy: actorId(actor),
      });
      // Re-price the stored days this version now covers: from its date to the next version's.
      const next = existing.find((v) => v.validFrom > body.validFrom)?.validFrom;
      let q = hub.db
        .selectFrom('site_daily')
        .select(sql<string>`day::text`.as('day'))
        .where('site_id', '=', id)
        .where('day', '>=', body.validFrom);
      if (next) q = q.where('day', '<', next);
      const days = (await q.execute()).map((r) => r.day);
      await markDays(hub, id, days);
      await audit(hub.db, actor, {
        action: 'tariff.create',
        targetType: 'site',
        targetId: id,
        sourceIp: request.ip,
        details: { validFrom: body.validFrom, tariffId: version.id },
      });
      reply.status(201);
      return version;
    },
  );

  app.delete(
    '/sites/:id/tariffs/:tariffId',
    {
      schema: {
        tags: ['tariffs'],
        params: Type.Object({
          id: Type.String({ format: 'uuid' }),
          tariffId: Type.String({ format: 'uuid' }),
        }),
      },
      preHandler: app.requireActor,
    },
    async (request, reply) => {
      const { id, tariffId } = request.params as { id: string; tariffId: string };
      const actor = actorOf(request);
      await assertSiteAccess(hub, actor, id, 'write');
      const site = await hub.db
        .selectFrom('sites')
        .select('timezone')
        .where('id', '=', id)
        .executeTakeFirstOrThrow();
      const version = (await listTariffs(hub.db, id)).find((v) => v.id === tariffId);
      if (!version) throw new WattfleetError('WF_NOT_FOUND', 'Tariff version not found');
      // A version that has priced a day is history; correct it with a newer version instead.
      if (version.validFrom <= localDate(Date.now(), site.timezone)) {
        throw new WattfleetError('WF_CONFLICT', 'Tariff versions already in effect cannot be deleted');
      }
      await hub.db.deleteFrom('tariff_versions').where('id', '=', tariffId).execute();
      await audit(hub.db, actor, {
        action: 'tariff.delete',
        targetType: 'site',
        targetId: id,
        sourceIp: request.ip,
        details: { tariffId, validFrom: version.validFrom },
      });
      reply.status(204);
    },
  );
}
