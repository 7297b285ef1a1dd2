// Reading telemetry back: raw, hourly or daily, chosen so no series exceeds ~2,000 points.
import { WattfleetError } from '@wattfleet/protocol';
import type { FastifyInstance } from 'fastify';
import Type from 'typebox';
import { assertNodeAccess, assertSiteAccess } from '../auth/access.ts';
import { actorOf } from '../auth/authenticate.ts';
import { withTenant } from '../identity/tenant.ts';
import { chooseResolution, latestValues, querySeries } from './telemetry.repository.ts';

const MAX_POINTS = 2000;

const TelemetryQuery = Type.Object(
  {
    from: Type.String({ format: 'date-time' }),
    to: Type.String({ format: 'date-time' }),
    metrics: Type.Optional(Type.String({ pattern: '^[a-z0-9_,]{1,1000}$' })),
    step: Type.Optional(
      Type.Union([Type.Literal('auto'), Type.Literal('raw'), Type.Literal('hour'), Type.Literal('day')]),
    ),
    node: Type.Optional(Type.String({ format: 'uuid' })),
  },
  { additionalProperties: false },
);

export async function telemetryRoutes(app: FastifyInstance): Promise<void> {
  const hub = app.hub;

  app.get(
    '/sites/:id/telemetry',
    {
      schema: {
        tags: ['telemetry'],
        params: Type.Object({ id: Type.String({ format: 'uuid' }) }),
        querystring: TelemetryQuery,
      },
      preHandler: app.requireActor,
    },
    async (request) => {
      const { id } = request.params as { id: string };
      const q = request.query as { from: string; to: string; metrics?: string; step?: string; node?: string };
      await assertSiteAccess(hub, actorOf(request), id);
      const from = Date.parse(q.from);
      const to = Date.parse(q.to);
      if (!(to > from)) {
        throw new WattfleetError('WF_VALIDATION', undefined, [
          { path: '/querystring/to', message: '"to" must be after "from"' },
        ]);
      }
      const interval = await hub.db
        .selectFrom('nodes')
        .select((eb) => eb.fn.min('sample_interval_s').as('s'))
        .where('site_id', '=', id)
        .executeTakeFirst();
      const step =
        q.step && q.step !== 'auto'
          ? q.step
          : chooseResolution(from, to, Number(interval?.s ?? 10), MAX_POINTS);
      const metrics = q.metrics ? q.metrics.split(',').filter(Boolean) : undefined;
      // Row-level security again under the tenant's role: the data query itself cannot leak.
      const series = await withTenant(hub, actorOf(request), (trx) =>
        querySeries(trx, {
          siteId: id,
          nodeId: q.node,
          metrics,
          from,
          to,
          resolution: step as 'raw' | 'hour' | 'day',
          maxPoints: MAX_POINTS,
        }),
      );
      return {
        siteId: id,
        from: new Date(from).toISOString(),
        to: new Date(to).toISOString(),
        resolution: step,
        series,
      };
    },
  );

  app.get(
    '/nodes/:id/latest',
    {
      schema: { tags: ['telemetry'], params: Type.Object({ id: Type.String({ format: 'uuid' }) }) },
      preHandler: app.requireActor,
    },
    async (request) => {
      const { id } = request.params as { id: string };
      await assertNodeAccess(hub, actorOf(request), id);
      return { nodeId: id, values: await withTenant(hub, actorOf(request), (trx) => latestValues(trx, id)) };
    },
  );
}
