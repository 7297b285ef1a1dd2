// Alerts as users see them: list scoped by the caller's grants (filtered in SQL, and read as the
// tenant so row-level security checks it again), detail with transitions, acknowledge, resolve,
// mute a rule for a site, rule settings per org and per site. Routes stay thin; SQL is in
// alerts.repository.ts, the state machine in alert-engine.ts.
import { WattfleetError } from '@wattfleet/protocol';
import { audit } from '../audit/audit.ts';
import { assertSiteAccess } from '../auth/access.ts';
import { type Actor, actorId, isFleetAdmin } from '../auth/actor.ts';
import type { HubContext } from '../context.ts';
import { withTenant } from '../identity/tenant.ts';
import { transitionByUser } from './alert-engine.ts';
import { RULES, RULES_BY_NAME } from './alert-rules.ts';
import {
  type AlertRow,
  findAlert,
  listAlerts,
  listAlertTransitions,
  orgExists,
  replaceRuleSettings,
  upsertMute,
} from './alerts.repository.ts';
import type {
  Alert,
  AlertDetail,
  AlertListQuery,
  Mute,
  MuteBody,
  OrgRuleSettings,
  RuleInfo,
  SettingsBody,
  SiteRuleSettings,
} from './alerts.schema.ts';

const who = (actor: Actor) => `${actor.kind}:${actorId(actor) ?? ''}`;
const iso = (d: Date | string) => new Date(d).toISOString();
const isoOrNull = (d: Date | string | null) => (d ? iso(d) : null);

export function alertView(r: AlertRow): Alert {
  return {
    id: r.id,
    rule: r.rule,
    target_type: r.target_type,
    target_id: r.target_id,
    org_id: r.org_id,
    site_id: r.site_id,
    node_id: r.node_id,
    severity: r.severity,
    state: r.state,
    message: r.message,
    value: r.value,
    opened_at: iso(r.opened_at),
    acknowledged_at: isoOrNull(r.acknowledged_at),
    acknowledged_by: r.acknowledged_by,
    resolved_at: isoOrNull(r.resolved_at),
    resolved_by: r.resolved_by,
    last_notified_at: isoOrNull(r.last_notified_at),
    repeat_count: r.repeat_count,
    updated_at: iso(r.updated_at),
  };
}

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

const settingsValues = (body: SettingsBody) => ({
  enabled: body.enabled ?? null,
  severity: body.severity ?? null,
  durationS: body.durationS ?? null,
  repeatS: body.repeatS ?? null,
  params: body.params ?? {},
});

export class AlertService {
  constructor(private readonly hub: HubContext) {}

  async list(actor: Actor, q: AlertListQuery): Promise<Alert[]> {
    const scope = await this.hub.siteScope(this.hub.db, actor, 'read');
    if (scope !== 'all' && scope.length === 0) return [];
    const rows = await withTenant(this.hub, actor, (trx) =>
      listAlerts(trx, {
        scope,
        siteId: q.siteId,
        state: q.state,
        severity: q.severity,
        rule: q.rule,
        limit: q.limit ?? 100,
      }),
    );
    return rows.map(alertView);
  }

  private async loadVisible(actor: Actor, id: string, mode: 'read' | 'write'): Promise<AlertRow> {
    const alert = await findAlert(this.hub.db, id);
    if (!alert) throw new WattfleetError('WF_NOT_FOUND', 'Alert not found');
    await assertSiteAccess(this.hub, actor, alert.site_id, mode);
    return alert;
  }

  async get(actor: Actor, id: string): Promise<AlertDetail> {
    const alert = await this.loadVisible(actor, id, 'read');
    const transitions = await listAlertTransitions(this.hub.db, id);
    return {
      ...alertView(alert),
      transitions: transitions.map((t) => ({
        at: iso(t.at),
        from_state: t.from_state,
        to_state: t.to_state,
        actor: t.actor,
        note: t.note,
      })),
    };
  }

  /** Acknowledge or resolve; a resolved alert is final (409). */
  async transition(
    actor: Actor,
    id: string,
    action: 'acknowledge' | 'resolve',
    note: string | null,
    sourceIp: string,
  ): Promise<Alert> {
    await this.loadVisible(actor, id, 'write');
    const to = action === 'acknowledge' ? 'acknowledged' : 'resolved';
    const r = await transitionByUser(this.hub, id, to, who(actor), note);
    if (!r.ok && r.reason === 'final')
      throw new WattfleetError('WF_CONFLICT', 'The alert is already resolved');
    await audit(this.hub.db, actor, {
      action: `alert.${action}`,
      targetType: 'alert',
      targetId: id,
      sourceIp,
    });
    const updated = await findAlert(this.hub.db, id);
    if (!updated) throw new WattfleetError('WF_NOT_FOUND', 'Alert not found');
    return alertView(updated);
  }

  async mute(actor: Actor, siteId: string, body: MuteBody, sourceIp: string): Promise<Mute> {
    await assertSiteAccess(this.hub, actor, siteId, 'write');
    checkRule(body.rule);
    const until = new Date(body.until);
    await upsertMute(this.hub.db, { siteId, rule: body.rule, until, createdBy: who(actor) });
    await audit(this.hub.db, actor, {
      action: 'alert.mute',
      targetType: 'site',
      targetId: siteId,
      sourceIp,
      details: body,
    });
    return { siteId, rule: body.rule, until: until.toISOString() };
  }

  rules(): RuleInfo[] {
    return RULES.map((r) => ({ name: r.name, description: r.description, defaults: r.defaults }));
  }

  async putOrgSettings(
    actor: Actor,
    orgId: string,
    rule: string,
    body: SettingsBody,
    sourceIp: string,
  ): Promise<OrgRuleSettings> {
    assertOrgAdmin(actor, orgId);
    checkRule(rule, body.params);
    // An unknown org is a 404 here, not a foreign-key failure inside the upsert.
    if (!(await orgExists(this.hub.db, orgId))) throw new WattfleetError('WF_NOT_FOUND', 'Org not found');
    await replaceRuleSettings(this.hub.db, { org_id: orgId, site_id: null }, rule, settingsValues(body));
    await audit(this.hub.db, actor, {
      action: 'alert.rule.update',
      targetType: 'org',
      targetId: orgId,
      sourceIp,
      details: { rule, ...body },
    });
    return { orgId, rule, ...body };
  }

  async putSiteSettings(
    actor: Actor,
    siteId: string,
    rule: string,
    body: SettingsBody,
    sourceIp: string,
  ): Promise<SiteRuleSettings> {
    await assertSiteAccess(this.hub, actor, siteId, 'write');
    checkRule(rule, body.params);
    await replaceRuleSettings(this.hub.db, { org_id: null, site_id: siteId }, rule, settingsValues(body));
    await audit(this.hub.db, actor, {
      action: 'alert.rule.update',
      targetType: 'site',
      targetId: siteId,
      sourceIp,
      details: { rule, ...body },
    });
    return { siteId, rule, ...body };
  }
}
