// Notification channels of an org: where alerts go, from which severity, with what throttle.
import { WattfleetError } from '@wattfleet/protocol';
import type { FastifyInstance } from 'fastify';
import Type from 'typebox';
import { audit } from '../audit/audit.ts';
import { type Actor, isFleetAdmin } from '../auth/actor.ts';
import { actorOf } from '../auth/authenticate.ts';
import '../alerts/alerts.tables.ts';
import { notificationSettings } from './dispatcher.ts';
import { assertPublicTarget, parseAllowList, TargetRefusedError } from './net-guard.ts';

const Uuid = Type.String({ format: 'uuid' });
const ChannelBody = Type.Object(
  {
    kind: Type.Union([Type.Literal('webhook'), Type.Literal('slack'), Type.Literal('email')]),
    target: Type.String({ minLength: 3, maxLength: 2000 }),
    minSeverity: Type.Optional(
      Type.Union([Type.Literal('info'), Type.Literal('warning'), Type.Literal('critical')]),
    ),
    throttleS: Type.Optional(Type.Integer({ minimum: 0, maximum: 86_400 })),
  },
  { additionalProperties: false },
);

function assertOrg(actor: Actor, orgId: string, write: boolean) {
  if (isFleetAdmin(actor)) return;
  if (actor.kind === 'user' && actor.orgId === orgId && (!write || (actor.role as string) !== 'viewer'))
    return;
  throw new WattfleetError('WF_NOT_FOUND', 'Organisation not found');
}

function checkTarget(kind: string, target: string) {
  const ok =
    kind === 'email'
      ? /^[^\s@]+@[^\s@]+$/.test(target)
      : (() => {
          try {
            const u = new URL(target);
            return u.protocol === 'https:' || u.protocol === 'http:';
          } catch {
            return false;
          }
        })();
  if (!ok)
    throw new WattfleetError('WF_VALIDATION', undefined, [
      { path: '/body/target', message: kind === 'email' ? 'Not an email address' : 'Not an http(s) URL' },
    ]);
}

export async function notificationRoutes(app: FastifyInstance): Promise<void> {
  const hub = app.hub;

  app.get(
    '/orgs/:org/notification-channels',
    { schema: { tags: ['notifications'], params: Type.Object({ org: Uuid }) }, preHandler: app.requireActor },
    async (request) => {
      const { org } = request.params as { org: string };
      assertOrg(actorOf(request), org, false);
      return hub.db
        .selectFrom('notification_channels')
        .selectAll()
        .where('org_id', '=', org)
        .orderBy('created_at')
        .execute();
    },
  );

  app.post(
    '/orgs/:org/notification-channels',
    {
      schema: { tags: ['notifications'], params: Type.Object({ org: Uuid }), body: ChannelBody },
      preHandler: app.requireActor,
    },
    async (request, reply) => {
      const { org } = request.params as { org: string };
      const actor = actorOf(request);
      assertOrg(actor, org, true);
      const b = request.body as {
        kind: 'webhook' | 'slack' | 'email';
        target: string;
        minSeverity?: 'info' | 'warning' | 'critical';
        throttleS?: number;
      };
      checkTarget(b.kind, b.target);
      if (b.kind !== 'email') {
        // Refused now rather than at the first alert; delivery checks again (DNS may change).
        try {
          await assertPublicTarget(new URL(b.target), parseAllowList(notificationSettings(hub).allowHosts));
        } catch (err) {
          if (!(err instanceof TargetRefusedError)) throw err;
          throw new WattfleetError('WF_TARGET_REFUSED', undefined, [
            { path: '/body/target', message: err.message },
          ]);
        }
      }
      const ch = await hub.db
        .insertInto('notification_channels')
        .values({
          org_id: org,
          kind: b.kind,
          target: b.target,
          min_severity: b.minSeverity ?? 'warning',
          throttle_s: b.throttleS ?? 900,
          created_at: new Date(),
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      await audit(hub.db, actor, {
        action: 'notification.channel.create',
        targetType: 'org',
        targetId: org,
        sourceIp: request.ip,
        details: { channelId: ch.id, kind: b.kind },
      });
      reply.status(201);
      return ch;
    },
  );

  app.delete(
    '/orgs/:org/notification-channels/:id',
    {
      schema: { tags: ['notifications'], params: Type.Object({ org: Uuid, id: Uuid }) },
      preHandler: app.requireActor,
    },
    async (request, reply) => {
      const { org, id } = request.params as { org: string; id: string };
      const actor = actorOf(request);
      assertOrg(actor, org, true);
      // Disabled, not deleted: outbox rows keep pointing at it.
      const r = await hub.db
        .updateTable('notification_channels')
        .set({ enabled: false })
        .where('id', '=', id)
        .where('org_id', '=', org)
        .executeTakeFirst();
      if (Number(r.numUpdatedRows) === 0) throw new WattfleetError('WF_NOT_FOUND', 'Channel not found');
      await audit(hub.db, actor, {
        action: 'notification.channel.disable',
        targetType: 'org',
        targetId: org,
        sourceIp: request.ip,
        details: { channelId: id },
      });
      reply.status(204);
    },
  );
}
