// The audit trail for admins: filter by actor, action (exact, or a prefix with ".*"), target and
// time; newest first, paged by id cursor so inserts during paging never shift pages.
import { SafeInteger } from '@wattfleet/protocol';
import type { FastifyInstance } from 'fastify';
import Type from 'typebox';
import { requireAdmin } from './guards.ts';
import { withTenant } from './tenant.ts';

const AuditQuery = Type.Object(
  {
    actor: Type.Optional(Type.String({ maxLength: 200 })),
    actorType: Type.Optional(Type.String({ maxLength: 20 })),
    action: Type.Optional(Type.String({ maxLength: 200 })),
    targetType: Type.Optional(Type.String({ maxLength: 50 })),
    target: Type.Optional(Type.String({ maxLength: 200 })),
    result: Type.Optional(Type.Union([Type.Literal('ok'), Type.Literal('denied'), Type.Literal('failed')])),
    from: Type.Optional(Type.String({ format: 'date-time' })),
    to: Type.Optional(Type.String({ format: 'date-time' })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })),
    cursor: Type.Optional(SafeInteger({ minimum: 1 })),
  },
  { additionalProperties: false },
);

export async function auditRoutes(app: FastifyInstance): Promise<void> {
  const hub = app.hub;
  app.get(
    '/audit',
    {
      schema: { tags: ['audit'], security: [{ bearer: [] }], querystring: AuditQuery },
      preHandler: app.requireActor,
    },
    async (request) => {
      const actor = await requireAdmin(hub, request, 'audit.read', { type: 'audit' });
      const f = request.query as {
        actor?: string;
        actorType?: string;
        action?: string;
        targetType?: string;
        target?: string;
        result?: 'ok' | 'denied' | 'failed';
        from?: string;
        to?: string;
        limit?: number;
        cursor?: number;
      };
      const limit = f.limit ?? 100;
      const rows = await withTenant(hub, actor, async (trx) => {
        let q = trx
          .selectFrom('audit_log')
          .selectAll()
          .orderBy('id', 'desc')
          .limit(limit + 1);
        if (f.actor) q = q.where('actor_id', '=', f.actor);
        if (f.actorType) q = q.where('actor_type', '=', f.actorType as 'user');
        if (f.action?.endsWith('.*'))
          q = q.where('action', 'like', `${f.action.slice(0, -2).replace(/[%_\\]/g, '\\$&')}.%`);
        else if (f.action) q = q.where('action', '=', f.action);
        if (f.targetType) q = q.where('target_type', '=', f.targetType);
        if (f.target) q = q.where('target_id', '=', f.target);
        if (f.result) q = q.where('result', '=', f.result);
        if (f.from) q = q.where('at', '>=', new Date(f.from));
        if (f.to) q = q.where('at', '<', new Date(f.to));
        if (f.cursor) q = q.where('id', '<', f.cursor);
        return q.execute();
      });
      const page = rows.slice(0, limit);
      return {
        items: page.map((r) => ({
          id: r.id,
          at: r.at.toISOString(),
          actorType: r.actor_type,
          actorId: r.actor_id,
          orgId: r.org_id,
          action: r.action,
          targetType: r.target_type,
          targetId: r.target_id,
          result: r.result,
          sourceIp: r.source_ip,
          details: r.details,
        })),
        nextCursor: rows.length > limit ? (page[page.length - 1]?.id ?? null) : null,
      };
    },
  );
}
