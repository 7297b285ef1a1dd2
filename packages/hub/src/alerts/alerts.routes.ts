// Alert API: list with filters, detail with transitions, acknowledge, resolve, mute a rule for a
// site, rule settings per org and per site. Scoped by the caller's grants.
import { WattfleetError } from '@wattfleet/protocol';
import type { FastifyInstance } from 'fastify';
import Type from 'typebox';
import { audit } from '../audit/audit.ts';
import { assertSiteAccess } from '../auth/access.ts';
import { type Actor, actorId, isFleetAdmin } from '../auth/actor.ts';
import { actorOf } from '../auth/authenticate.ts';
import { withTenant } from '../identity/tenant.ts';
import { transitionByUser } from './alert-engine.ts';
import { RULES, RULES_BY_NAME } from './alert-rules.ts';
import './alerts.schema.ts';

const Uuid = Type.String({ format: 'uuid' });
const RuleName = Type.String({ minLength: 1, maxLength: 64 });
const SeverityT = Type.Union([Type.Literal('info'), Type.Literal('warning'), Type.Literal('critical')]);
const StateT = Type.Union([Type.Literal('open'), Type.Literal('acknowledged'), Type.Literal('resolved')]);
const NoteBody = Type.Object(
  { note: Type.Optional(Type.String({ maxLength: 1000 })) },
  { additionalProperties: false },
);
const SettingsBody = Type.Object(
  {
    enabled: Type.Optional(Type.Boolean()),
    severity: Type.Optional(SeverityT),
    durationS: Type.Optional(Type.Integer({ minimum: 0, maximum: 7 * 86_400 })),
    repeatS: Type.Optional(Type.Integer({ minimum: 0, maximum: 30 * 86_400 })),
    params: Type.Optional(Type.Record(Type.String(), Type.Number())),
  },
  { additionalProperties: false },
);
type SettingsBody = {
  enabled?: boolean;
  severity?: 'info' | 'warning' | 'critical';
  durationS?: number;
  repeatS?: number;
  params?: Record<string, number>;
};

const who = (actor: Actor) => `${actor.kind}:${actorId(actor) ?? ''}`;

function assertOrgAdmin(actor: Actor, orgId: string) {
  if (isFleetAdmin(actor)) return;
  if (actor.kind === 'user' && actor.orgId === orgId && (actor.role as string) !== 'viewer') return;
  throw new WattfleetError('WF_FORBIDDEN');
}

function checkRule(rule: string, params?: Record<string, number>) {
  const def = RULES_BY_NAME.get(rule);
  if (!def) throw new WattfleetError('WF_NOT_FOUND', `Unknown alert rule "${rule}"`);
  const unknown = Object.keys(params ?? {}).filter((k) => !(k in def.defaults.params));
  if (unknown.length) {
    throw new WattfleetError(
      'WF_VALIDATION',
      undefined,
      unknown.map((k) => ({ path: `/body/params/${k}`, message: `Rule ${rule} has no parameter ${k}` })),
    );
  }
}

export async function alertRoutes(app: FastifyInstance): Promise<void> {
  const hub = app.hub;

  app.get(
    '/alerts',
    {
      schema: {
        tags: ['alerts'],
        querystring: Type.Object(
          {
            siteId: Type.Optional(Uuid),
            state: Type.Optional(Type.Union([StateT, Type.Literal('active')])),
            severity: Type.Optional(SeverityT),
            rule: Type.Optional(RuleName),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })),
          },
          { additionalProperties: false },
        ),
      },
      preHandler: app.requireActor,
    },
    async (request) => {
      const q = request.query as {
        siteId?: string;
        state?: string;
        severity?: string;
        rule?: string;
        limit?: number;
      };
      const actor = actorOf(request);
      const scope = await hub.siteScope(hub.db, actor, 'read');
      if (scope !== 'all' && scope.length === 0) return [];
      // Filtered in SQL by scope, and read as the tenant so row-level security checks it again.
      return withTenant(hub, actor, async (trx) => {
        let query = trx
          .selectFrom('alerts')
          .selectAll()
          .orderBy('opened_at', 'desc')
          .limit(q.limit ?? 100);
        if (scope !== 'all') query = query.where('site_id', 'in', scope);
        if (q.siteId) query = query.where('site_id', '=', q.siteId);
        if (q.state === 'active') query = query.where('state', '<>', 'resolved');
        else if (q.state) query = query.where('state', '=', q.state as 'open');
        if (q.severity) query = query.where('severity', '=', q.severity as 'warning');
        if (q.rule) query = query.where('rule', '=', q.rule);
        return query.execute();
      });
    },
  );

  const loadVisible = async (actor: Actor, id: string, mode: 'read' | 'write') => {
    const alert = await hub.db.selectFrom('alerts').selectAll().where('id', '=', id).executeTakeFirst();
    if (!alert) throw new WattfleetError('WF_NOT_FOUND', 'Alert not found');
    await assertSiteAccess(hub, actor, alert.site_id, mode);
    return alert;
  };

  app.get(
    '/alerts/:id',
    { schema: { tags: ['alerts'], params: Type.Object({ id: Uuid }) }, preHandler: app.requireActor },
    async (request) => {
      const { id } = request.params as { id: string };
      const alert = await loadVisible(actorOf(request), id, 'read');
      const transitions = await hub.db
        .selectFrom('alert_transitions')
        .select(['at', 'from_state', 'to_state', 'actor', 'note'])
        .where('alert_id', '=', id)
        .orderBy('id')
        .execute();
      return { ...alert, transitions };
    },
  );

  for (const [path, to] of [
    ['acknowledge', 'acknowledged'],
    ['resolve', 'resolved'],
  ] as const) {
    app.post(
      `/alerts/:id/${path}`,
      {
        schema: { tags: ['alerts'], params: Type.Object({ id: Uuid }), body: Type.Optional(NoteBody) },
        preHandler: app.requireActor,
      },
      async (request) => {
        const { id } = request.params as { id: string };
        const actor = actorOf(request);
        await loadVisible(actor, id, 'write');
        const note = (request.body as { note?: string } | undefined)?.note ?? null;
        const r = await transitionByUser(hub, id, to, who(actor), note);
        if (!r.ok && r.reason === 'final')
          throw new WattfleetError('WF_CONFLICT', 'The alert is already resolved');
        await audit(hub.db, actor, {
          action: `alert.${path}`,
          targetType: 'alert',
          targetId: id,
          sourceIp: request.ip,
        });
        return hub.db.selectFrom('alerts').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
      },
    );
  }

  app.post(
    '/sites/:id/alert-mutes',
    {
      schema: {
        tags: ['alerts'],
        params: Type.Object({ id: Uuid }),
        body: Type.Object(
          { rule: RuleName, until: Type.String({ format: 'date-time' }) },
          { additionalProperties: false },
        ),
      },
      preHandler: app.requireActor,
    },
    async (request, reply) => {
      const { id } = request.params as { id: string };
      const body = request.body as { rule: string; until: string };
      const actor = actorOf(request);
      await assertSiteAccess(hub, actor, id, 'write');
      checkRule(body.rule);
      const until = new Date(body.until);
      await hub.db
        .insertInto('alert_mutes')
        .values({ site_id: id, rule: body.rule, until, created_by: who(actor) })
        .onConflict((oc) => oc.columns(['site_id', 'rule']).doUpdateSet({ until, created_by: who(actor) }))
        .execute();
      await audit(hub.db, actor, {
        action: 'alert.mute',
        targetType: 'site',
        targetId: id,
        sourceIp: request.ip,
        details: body,
      });
      reply.status(201);
      return { siteId: id, rule: body.rule, until: until.toISOString() };
    },
  );

  app.get('/alert-rules', { schema: { tags: ['alerts'] }, preHandler: app.requireActor }, async () =>
    RULES.map((r) => ({ name: r.name, description: r.description, defaults: r.defaults })),
  );

  app.put(
    '/orgs/:org/alert-rules/:rule',
    {
      schema: {
        tags: ['alerts'],
        params: Type.Object({ org: Uuid, rule: RuleName }),
        body: SettingsBody,
      },
      preHandler: app.requireActor,
    },
    async (request) => {
      const { org, rule } = request.params as { org: string; rule: string };
      const body = request.body as SettingsBody;
      const actor = actorOf(request);
      assertOrgAdmin(actor, org);
      checkRule(rule, body.params);
      // An unknown org is a 404 here, not a foreign-key failure inside the upsert.
      const known = await hub.db.selectFrom('orgs').select('id').where('id', '=', org).executeTakeFirst();
      if (!known) throw new WattfleetError('WF_NOT_FOUND', 'Org not found');
      await upsertSettings({ org_id: org, site_id: null }, rule, body);
      await audit(hub.db, actor, {
        action: 'alert.rule.update',
        targetType: 'org',
        targetId: org,
        sourceIp: request.ip,
        details: { rule, ...body },
      });
      return { orgId: org, rule, ...body };
    },
  );

  app.put(
    '/sites/:id/alert-rules/:rule',
    {
      schema: {
        tags: ['alerts'],
        params: Type.Object({ id: Uuid, rule: RuleName }),
        body: SettingsBody,
      },
      preHandler: app.requireActor,
    },
    async (request) => {
      const { id, rule } = request.params as { id: string; rule: string };
      const body = request.body as SettingsBody;
      const actor = actorOf(request);
      await assertSiteAccess(hub, actor, id, 'write');
      checkRule(rule, body.params);
      await upsertSettings({ org_id: null, site_id: id }, rule, body);
      await audit(hub.db, actor, {
        action: 'alert.rule.update',
        targetType: 'site',
        targetId: id,
        sourceIp: request.ip,
        details: { rule, ...body },
      });
      return { siteId: id, rule, ...body };
    },
  );

  async function upsertSettings(
    owner: { org_id: string | null; site_id: string | null },
    rule: string,
    body: SettingsBody,
  ) {
    const values = {
      enabled: body.enabled ?? null,
      severity: body.severity ?? null,
      duration_s: body.durationS ?? null,
      repeat_s: body.repeatS ?? null,
      params: JSON.stringify(body.params ?? {}),
      updated_at: new Date(),
    };
    // Partial unique indexes cannot be ON CONFLICT targets through Kysely's builder; replace instead.
    await hub.db.transaction().execute(async (trx) => {
      let del = trx.deleteFrom('alert_rule_settings').where('rule', '=', rule);
      del = owner.org_id ? del.where('org_id', '=', owner.org_id) : del.where('site_id', '=', owner.site_id!);
      await del.execute();
      await trx
        .insertInto('alert_rule_settings')
        .values({ ...owner, rule, ...values })
        .execute();
    });
  }
}
