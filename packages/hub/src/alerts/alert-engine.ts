// Evaluates rules for a site and moves alerts through open → acknowledged → resolved. One open
// alert per rule and target is guaranteed by a partial unique index, so two hubs evaluating the
// same site at once cannot both open one. `now` is a parameter so silence can be tested.
import { type Kysely, sql } from 'kysely';
import type { HubContext } from '../context.ts';
import { enqueueAlertNotifications } from '../notifications/notify.service.ts';
import type { DB } from '../storage/schema.ts';
import {
  type NodeInfo,
  type Observation,
  type RecentSeries,
  RULES,
  RULES_BY_NAME,
  type RuleDefinition,
  type RuleSettings,
  type SiteInfo,
} from './alert-rules.ts';
import type { AlertState } from './alerts.schema.ts';
import './alerts.schema.ts';

export type AlertEvent = 'opened' | 'repeat' | 'acknowledged' | 'resolved';

type SettingsRow = {
  org_id: string | null;
  site_id: string | null;
  rule: string;
  enabled: boolean | null;
  severity: RuleSettings['severity'] | null;
  duration_s: number | null;
  repeat_s: number | null;
  params: unknown;
};

const asObject = (v: unknown): Record<string, number> =>
  (typeof v === 'string' ? JSON.parse(v) : (v ?? {})) as Record<string, number>;

/** Defaults, then the org's settings, then the site's: the most specific wins, field by field. */
export function resolveSettings(rule: RuleDefinition, rows: SettingsRow[], siteId: string): RuleSettings {
  const s: RuleSettings = { ...rule.defaults, params: { ...rule.defaults.params } };
  const layers = [
    rows.find((r) => r.rule === rule.name && r.org_id),
    rows.find((r) => r.rule === rule.name && r.site_id === siteId),
  ];
  for (const l of layers) {
    if (!l) continue;
    if (l.enabled !== null) s.enabled = l.enabled;
    if (l.severity !== null) s.severity = l.severity;
    if (l.duration_s !== null) s.durationS = l.duration_s;
    if (l.repeat_s !== null) s.repeatS = l.repeat_s;
    Object.assign(s.params, asObject(l.params));
  }
  return s;
}

async function recordTransition(
  db: Kysely<DB>,
  alertId: string,
  from: AlertState | null,
  to: AlertState,
  actor: string,
  note: string | null,
  at: Date,
) {
  await db
    .insertInto('alert_transitions')
    .values({ alert_id: alertId, from_state: from, to_state: to, actor, note, at })
    .execute();
}

function emit(hub: HubContext, alert: { id: string; site_id: string; state: string }) {
  hub.bus.emitEvent('alert.updated', { alertId: alert.id, siteId: alert.site_id, state: alert.state });
}

export async function evaluateSite(
  hub: HubContext,
  siteId: string,
  opts: { now?: number; rules?: string[] } = {},
): Promise<void> {
  const now = opts.now ?? Date.now();
  const site = (await hub.db
    .selectFrom('sites')
    .select(['id', 'org_id', 'latitude', 'longitude'])
    .where('id', '=', siteId)
    .executeTakeFirst()) as SiteInfo | undefined;
  if (!site) return;
  const nodes = (await hub.db
    .selectFrom('nodes')
    .select([
      'id',
      'name',
      'last_seen_at',
      'status',
      'status_reason',
      'clock_offset_ms',
      'clock_skew_at',
      'clock_skew_ms',
      'last_status',
      'created_at',
    ])
    .where('site_id', '=', siteId)
    .where('active', '=', true)
    .execute()) as unknown as NodeInfo[];
  for (const n of nodes) {
    if (typeof n.last_status === 'string') n.last_status = JSON.parse(n.last_status);
    if (n.last_seen_at && !(n.last_seen_at instanceof Date)) n.last_seen_at = new Date(n.last_seen_at);
    if (n.clock_skew_at && !(n.clock_skew_at instanceof Date)) n.clock_skew_at = new Date(n.clock_skew_at);
  }
  const settingRows = (await hub.db
    .selectFrom('alert_rule_settings')
    .selectAll()
    .where((eb) => eb.or([eb('org_id', '=', site.org_id), eb('site_id', '=', siteId)]))
    .execute()) as unknown as SettingsRow[];
  const mutes = await hub.db
    .selectFrom('alert_mutes')
    .select('rule')
    .where('site_id', '=', siteId)
    .where('until', '>', new Date(now))
    .execute();
  const muted = new Set(mutes.map((m) => m.rule));

  let cache: { windowS: number; series: RecentSeries[] } | undefined;
  const recent = async (windowS: number): Promise<RecentSeries[]> => {
    if (!cache || cache.windowS < windowS)
      cache = { windowS, series: await loadRecent(hub.db, siteId, now, windowS) };
    const from = now - windowS * 1000;
    return cache.series.map((s) => ({ ...s, samples: s.samples.filter((x) => x.ts >= from) }));
  };

  const rules = opts.rules ? opts.rules.map((r) => RULES_BY_NAME.get(r)!).filter(Boolean) : RULES;
  for (const rule of rules) {
    const settings = resolveSettings(rule, settingRows, siteId);
    if (!settings.enabled) continue;
    const observations = await rule.evaluate({
      db: hub.db,
      now,
      site,
      nodes,
      params: settings.params,
      recent,
    });
    for (const obs of observations) {
      await apply(hub, site, rule.name, settings, obs, now, muted.has(rule.name));
    }
  }
}

async function loadRecent(
  db: Kysely<DB>,
  siteId: string,
  now: number,
  windowS: number,
): Promise<RecentSeries[]> {
  const series = await db
    .selectFrom('series')
    .select(['id', 'node_id', 'equipment', 'metric'])
    .where('site_id', '=', siteId)
    .where('kind', 'in', ['power', 'gauge'])
    .execute();
  if (series.length === 0) return [];
  const rows = await db
    .selectFrom('samples')
    .select(['series_id', 'ts', 'value'])
    .where(
      'series_id',
      'in',
      series.map((s) => s.id),
    )
    .where('ts', '>=', new Date(now - windowS * 1000))
    .where('ts', '<=', new Date(now))
    .orderBy('ts')
    .execute();
  const byId = new Map<number, RecentSeries>(
    series.map((s) => [
      s.id,
      { id: s.id, nodeId: s.node_id, equipment: s.equipment, metric: s.metric, samples: [] },
    ]),
  );
  for (const r of rows) byId.get(r.series_id)?.samples.push({ ts: new Date(r.ts).getTime(), value: r.value });
  return [...byId.values()];
}

async function apply(
  hub: HubContext,
  site: SiteInfo,
  rule: string,
  settings: RuleSettings,
  obs: Observation,
  nowMs: number,
  muted: boolean,
): Promise<void> {
  const db = hub.db;
  const now = new Date(nowMs);
  const cond = await db
    .selectFrom('alert_conditions')
    .selectAll()
    .where('rule', '=', rule)
    .where('target_id', '=', obs.targetId)
    .executeTakeFirst();
  const open = await db
    .selectFrom('alerts')
    .selectAll()
    .where('rule', '=', rule)
    .where('target_id', '=', obs.targetId)
    .where('state', '<>', 'resolved')
    .executeTakeFirst();

  if (obs.firing) {
    const since = cond?.firing_since ? new Date(cond.firing_since) : now;
    await db
      .insertInto('alert_conditions')
      .values({ rule, target_id: obs.targetId, firing_since: since, clear_since: null })
      .onConflict((oc) =>
        oc.columns(['rule', 'target_id']).doUpdateSet({ firing_since: since, clear_since: null }),
      )
      .execute();
    if (open) {
      await db
        .updateTable('alerts')
        .set({ value: obs.value, updated_at: now })
        .where('id', '=', open.id)
        .execute();
      const last = open.last_notified_at
        ? new Date(open.last_notified_at).getTime()
        : new Date(open.opened_at).getTime();
      if (
        settings.repeatS > 0 &&
        !muted &&
        open.state === 'open' &&
        nowMs - last >= settings.repeatS * 1000
      ) {
        await db
          .updateTable('alerts')
          .set({ repeat_count: open.repeat_count + 1, last_notified_at: now, updated_at: now })
          .where('id', '=', open.id)
          .execute();
        await recordTransition(
          db,
          open.id,
          open.state,
          open.state,
          'system',
          `repeat ${open.repeat_count + 1}`,
          now,
        );
        await enqueueAlertNotifications(hub, { ...open, value: obs.value }, 'repeat', now);
      }
      return;
    }
    if (cond?.rearm_required || muted) return;
    if (nowMs - since.getTime() < settings.durationS * 1000) return;
    const { rows } = await sql<{ id: string }>`
      INSERT INTO alerts (rule, target_type, target_id, org_id, site_id, node_id, severity, state, message, value,
                          opened_at, last_notified_at, updated_at)
      VALUES (${rule}, ${obs.targetType}, ${obs.targetId}, ${site.org_id}, ${site.id}, ${obs.nodeId},
              ${settings.severity}, 'open', ${obs.message}, ${obs.value}, ${now}, ${now}, ${now})
      ON CONFLICT (rule, target_id) WHERE state <> 'resolved' DO NOTHING
      RETURNING id`.execute(db);
    const id = rows[0]?.id;
    if (!id) return; // another hub opened it a moment ago
    await recordTransition(db, id, null, 'open', 'system', obs.message, now);
    const alert = await db.selectFrom('alerts').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    emit(hub, alert);
    await enqueueAlertNotifications(hub, alert, 'opened', now);
    return;
  }

  if (obs.clearing) {
    await db
      .insertInto('alert_conditions')
      .values({ rule, target_id: obs.targetId, firing_since: null, clear_since: now, rearm_required: false })
      .onConflict((oc) =>
        oc
          .columns(['rule', 'target_id'])
          .doUpdateSet({ firing_since: null, clear_since: now, rearm_required: false }),
      )
      .execute();
    if (open) {
      const resolved = await db
        .updateTable('alerts')
        .set({
          state: 'resolved',
          resolved_at: now,
          resolved_by: 'system',
          value: obs.value,
          updated_at: now,
        })
        .where('id', '=', open.id)
        .where('state', '<>', 'resolved')
        .returningAll()
        .executeTakeFirst();
      if (!resolved) return;
      await recordTransition(db, open.id, open.state, 'resolved', 'system', 'condition cleared', now);
      emit(hub, resolved);
      await enqueueAlertNotifications(hub, resolved, 'resolved', now);
    }
  }
  // Neither firing nor clearing: inside the hysteresis band, nothing changes.
}

/** A person acknowledges or resolves an alert. Resolving by hand re-arms only after the condition clears. */
export async function transitionByUser(
  hub: HubContext,
  alertId: string,
  to: 'acknowledged' | 'resolved',
  actor: string,
  note: string | null,
): Promise<{ ok: true } | { ok: false; reason: 'final' | 'same' }> {
  const now = new Date();
  const alert = await hub.db
    .selectFrom('alerts')
    .selectAll()
    .where('id', '=', alertId)
    .executeTakeFirstOrThrow();
  if (alert.state === 'resolved') return { ok: false, reason: 'final' };
  if (alert.state === to) return { ok: false, reason: 'same' };
  const set =
    to === 'acknowledged'
      ? { state: to, acknowledged_at: now, acknowledged_by: actor, updated_at: now }
      : { state: to, resolved_at: now, resolved_by: actor, updated_at: now };
  const updated = await hub.db
    .updateTable('alerts')
    .set(set)
    .where('id', '=', alertId)
    .where('state', '=', alert.state)
    .returningAll()
    .executeTakeFirst();
  if (!updated) return { ok: false, reason: 'final' };
  if (to === 'resolved') {
    await hub.db
      .insertInto('alert_conditions')
      .values({
        rule: alert.rule,
        target_id: alert.target_id,
        firing_since: null,
        clear_since: null,
        rearm_required: true,
      })
      .onConflict((oc) =>
        oc.columns(['rule', 'target_id']).doUpdateSet({ firing_since: null, rearm_required: true }),
      )
      .execute();
  }
  await recordTransition(hub.db, alertId, alert.state, to, actor, note, now);
  emit(hub, updated);
  await enqueueAlertNotifications(hub, updated, to, now);
  return { ok: true };
}

export async function evaluateAllSites(hub: HubContext, now = Date.now()): Promise<number> {
  const sites = await hub.db
    .selectFrom('sites')
    .select('id')
    .where('status', '<>', 'decommissioned')
    .execute();
  for (const s of sites) await evaluateSite(hub, s.id, { now });
  hub.metrics.alertEvaluations.inc({ result: 'ok' }, sites.length);
  return sites.length;
}
