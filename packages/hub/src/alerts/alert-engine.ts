// Evaluates rules for a site and moves alerts through open → acknowledged → resolved. One open
// alert per rule and target is guaranteed by a partial unique index, so two hubs evaluating the
// same site at once cannot both open one. `now` is a parameter so silence can be tested.
import type { HubContext } from '../context.ts';
import { enqueueAlertNotifications } from '../notifications/notify.service.ts';
import {
  type Observation,
  type RecentSeries,
  RULES,
  RULES_BY_NAME,
  type RuleDefinition,
  type RuleSettings,
  type SiteInfo,
} from './alert-rules.ts';
import {
  type AlertRow,
  activeNodes,
  type ConditionRow,
  evaluableSiteIds,
  findAlert,
  findConditions,
  findOpenAlerts,
  insertOpenAlert,
  markClearing,
  markFiring,
  mutedRules,
  recentSeries,
  recordRepeat,
  recordTransition,
  requireRearm,
  resolveBySystem,
  ruleSettingsRows,
  type SettingsRow,
  setStateByUser,
  siteForEvaluation,
  updateAlertValue,
} from './alerts.repository.ts';

export type AlertEvent = 'opened' | 'repeat' | 'acknowledged' | 'resolved';

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

function emit(hub: HubContext, alert: { id: string; site_id: string; state: string }) {
  hub.bus.emitEvent('alert.updated', { alertId: alert.id, siteId: alert.site_id, state: alert.state });
}

export async function evaluateSite(
  hub: HubContext,
  siteId: string,
  opts: { now?: number; rules?: string[] } = {},
): Promise<void> {
  const now = opts.now ?? Date.now();
  const site = await siteForEvaluation(hub.db, siteId);
  if (!site) return;
  const nodes = await activeNodes(hub.db, siteId);
  const settingRows = await ruleSettingsRows(hub.db, site.org_id, siteId);
  const muted = await mutedRules(hub.db, siteId, new Date(now));

  let cache: { windowS: number; series: RecentSeries[] } | undefined;
  const recent = async (windowS: number): Promise<RecentSeries[]> => {
    if (!cache || cache.windowS < windowS)
      cache = { windowS, series: await recentSeries(hub.db, siteId, now, windowS) };
    const from = now - windowS * 1000;
    return cache.series.map((s) => ({ ...s, samples: s.samples.filter((x) => x.ts >= from) }));
  };

  const rules = opts.rules ? opts.rules.map((r) => RULES_BY_NAME.get(r)!).filter(Boolean) : RULES;
  const observed: { rule: string; settings: RuleSettings; obs: Observation }[] = [];
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
    for (const obs of observations) observed.push({ rule: rule.name, settings, obs });
  }
  if (observed.length === 0) return;
  // A site has rules × targets observations on every evaluation and almost all of them change
  // nothing: their conditions and open alerts are read in two queries, not two per observation.
  const keys = observed.map((o) => ({ rule: o.rule, targetId: o.obs.targetId }));
  const [conditions, openAlerts] = await Promise.all([
    findConditions(hub.db, keys),
    findOpenAlerts(hub.db, keys),
  ]);
  const key = (rule: string, targetId: string) => `${rule}\u0000${targetId}`;
  const condBy = new Map(conditions.map((c) => [key(c.rule, c.target_id), c]));
  const openBy = new Map(openAlerts.map((a) => [key(a.rule, a.target_id), a]));
  for (const { rule, settings, obs } of observed) {
    const k = key(rule, obs.targetId);
    await apply(hub, site, rule, settings, obs, now, muted.has(rule), condBy.get(k), openBy.get(k));
  }
}

async function apply(
  hub: HubContext,
  site: SiteInfo,
  rule: string,
  settings: RuleSettings,
  obs: Observation,
  nowMs: number,
  muted: boolean,
  cond: ConditionRow | undefined,
  open: AlertRow | undefined,
): Promise<void> {
  const db = hub.db;
  const now = new Date(nowMs);

  if (obs.firing) {
    const since = cond?.firing_since ? new Date(cond.firing_since) : now;
    // Already firing since then: nothing to write.
    if (!cond?.firing_since) await markFiring(db, rule, obs.targetId, since);
    if (open) {
      await updateAlertValue(db, open.id, obs.value, now);
      const last = open.last_notified_at
        ? new Date(open.last_notified_at).getTime()
        : new Date(open.opened_at).getTime();
      if (
        settings.repeatS > 0 &&
        !muted &&
        open.state === 'open' &&
        nowMs - last >= settings.repeatS * 1000
      ) {
        await recordRepeat(db, open.id, open.repeat_count + 1, now);
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
    const id = await insertOpenAlert(db, {
      rule,
      targetType: obs.targetType,
      targetId: obs.targetId,
      orgId: site.org_id,
      siteId: site.id,
      nodeId: obs.nodeId,
      severity: settings.severity,
      message: obs.message,
      value: obs.value,
      now,
    });
    if (!id) return; // another hub opened it a moment ago
    await recordTransition(db, id, null, 'open', 'system', obs.message, now);
    const alert = await findAlert(db, id);
    if (!alert) throw new Error(`alert ${id} vanished after it was opened`);
    emit(hub, alert);
    await enqueueAlertNotifications(hub, alert, 'opened', now);
    return;
  }

  if (obs.clearing) {
    // A clear condition is the same as none: written only when it was firing or awaits re-arming.
    if (cond && (cond.firing_since || cond.rearm_required)) await markClearing(db, rule, obs.targetId, now);
    if (open) {
      const resolved = await resolveBySystem(db, open.id, obs.value, now);
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
  const alert = await findAlert(hub.db, alertId);
  if (!alert) throw new Error(`alert ${alertId} not found`);
  if (alert.state === 'resolved') return { ok: false, reason: 'final' };
  if (alert.state === to) return { ok: false, reason: 'same' };
  const updated = await setStateByUser(hub.db, alertId, alert.state, to, actor, now);
  if (!updated) return { ok: false, reason: 'final' };
  if (to === 'resolved') await requireRearm(hub.db, alert.rule, alert.target_id);
  await recordTransition(hub.db, alertId, alert.state, to, actor, note, now);
  emit(hub, updated);
  await enqueueAlertNotifications(hub, updated, to, now);
  return { ok: true };
}

export async function evaluateAllSites(hub: HubContext, now = Date.now()): Promise<number> {
  const sites = await evaluableSiteIds(hub.db);
  for (const id of sites) await evaluateSite(hub, id, { now });
  hub.metrics.alertEvaluations.inc({ result: 'ok' }, sites.length);
  return sites.length;
}
