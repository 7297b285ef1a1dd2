// The only place alert SQL lives: alerts and their transitions, rule settings, mutes, the
// engine's condition state, and what the rules read (nodes, recent samples, node events).
// Callers pass the Kysely handle: a tenant transaction (withTenant, so row-level security
// applies) for what users list, hub.db for the engine and the rest.
import { type Kysely, type Selectable, sql } from 'kysely';
import type { DB } from '../storage/schema.ts';
import type { NodeInfo, RecentSeries, SiteInfo } from './alert-rules.ts';
import type { AlertConditionsTable, AlertState, AlertsTable, Severity } from './alerts.tables.ts';
import './alerts.tables.ts';

export type AlertRow = Selectable<AlertsTable>;

// ---- alerts as users see them ----

export interface AlertFilter {
  /** The caller's sites, or 'all'. */
  scope: 'all' | string[];
  siteId?: string | undefined;
  /** 'active' is open or acknowledged. */
  state?: AlertState | 'active' | undefined;
  severity?: Severity | undefined;
  rule?: string | undefined;
  limit: number;
}

export async function listAlerts(db: Kysely<DB>, f: AlertFilter): Promise<AlertRow[]> {
  let query = db.selectFrom('alerts').selectAll().orderBy('opened_at', 'desc').limit(f.limit);
  if (f.scope !== 'all') query = query.where('site_id', 'in', f.scope);
  if (f.siteId) query = query.where('site_id', '=', f.siteId);
  if (f.state === 'active') query = query.where('state', '<>', 'resolved');
  else if (f.state) query = query.where('state', '=', f.state);
  if (f.severity) query = query.where('severity', '=', f.severity);
  if (f.rule) query = query.where('rule', '=', f.rule);
  return query.execute();
}

export async function findAlert(db: Kysely<DB>, id: string): Promise<AlertRow | undefined> {
  return db.selectFrom('alerts').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function listAlertTransitions(db: Kysely<DB>, alertId: string) {
  return db
    .selectFrom('alert_transitions')
    .select(['at', 'from_state', 'to_state', 'actor', 'note'])
    .where('alert_id', '=', alertId)
    .orderBy('id')
    .execute();
}

export async function recordTransition(
  db: Kysely<DB>,
  alertId: string,
  from: AlertState | null,
  to: AlertState,
  actor: string,
  note: string | null,
  at: Date,
): Promise<void> {
  await db
    .insertInto('alert_transitions')
    .values({ alert_id: alertId, from_state: from, to_state: to, actor, note, at })
    .execute();
}

/** A person's acknowledge or resolve, only if the alert is still in `from` (else undefined). */
export async function setStateByUser(
  db: Kysely<DB>,
  alertId: string,
  from: AlertState,
  to: 'acknowledged' | 'resolved',
  actor: string,
  now: Date,
): Promise<AlertRow | undefined> {
  const set =
    to === 'acknowledged'
      ? { state: to, acknowledged_at: now, acknowledged_by: actor, updated_at: now }
      : { state: to, resolved_at: now, resolved_by: actor, updated_at: now };
  return db
    .updateTable('alerts')
    .set(set)
    .where('id', '=', alertId)
    .where('state', '=', from)
    .returningAll()
    .executeTakeFirst();
}

export async function upsertMute(
  db: Kysely<DB>,
  m: { siteId: string; rule: string; until: Date; createdBy: string },
): Promise<void> {
  await db
    .insertInto('alert_mutes')
    .values({ site_id: m.siteId, rule: m.rule, until: m.until, created_by: m.createdBy })
    .onConflict((oc) =>
      oc.columns(['site_id', 'rule']).doUpdateSet({ until: m.until, created_by: m.createdBy }),
    )
    .execute();
}

export async function orgExists(db: Kysely<DB>, orgId: string): Promise<boolean> {
  const row = await db.selectFrom('orgs').select('id').where('id', '=', orgId).executeTakeFirst();
  return row !== undefined;
}

/** Settings of one rule for an org or a site; unset fields (null) inherit. */
export interface RuleSettingsValues {
  enabled: boolean | null;
  severity: Severity | null;
  durationS: number | null;
  repeatS: number | null;
  params: Record<string, number>;
}

/** Replaces an org's or a site's settings of one rule. */
export async function replaceRuleSettings(
  db: Kysely<DB>,
  owner: { org_id: string; site_id: null } | { org_id: null; site_id: string },
  rule: string,
  v: RuleSettingsValues,
): Promise<void> {
  const values = {
    enabled: v.enabled,
    severity: v.severity,
    duration_s: v.durationS,
    repeat_s: v.repeatS,
    params: JSON.stringify(v.params),
    updated_at: new Date(),
  };
  // Partial unique indexes cannot be ON CONFLICT targets through Kysely's builder; replace instead.
  await db.transaction().execute(async (trx) => {
    let del = trx.deleteFrom('alert_rule_settings').where('rule', '=', rule);
    del = owner.org_id ? del.where('org_id', '=', owner.org_id) : del.where('site_id', '=', owner.site_id);
    await del.execute();
    await trx
      .insertInto('alert_rule_settings')
      .values({ ...owner, rule, ...values })
      .execute();
  });
}

// ---- what the engine reads and writes ----

export type SettingsRow = {
  org_id: string | null;
  site_id: string | null;
  rule: string;
  enabled: boolean | null;
  severity: Severity | null;
  duration_s: number | null;
  repeat_s: number | null;
  params: unknown;
};

export async function siteForEvaluation(db: Kysely<DB>, siteId: string): Promise<SiteInfo | undefined> {
  return (await db
    .selectFrom('sites')
    .select(['id', 'org_id', 'latitude', 'longitude'])
    .where('id', '=', siteId)
    .executeTakeFirst()) as SiteInfo | undefined;
}

/** Sites the schedule evaluates (all but decommissioned ones). */
export async function evaluableSiteIds(db: Kysely<DB>): Promise<string[]> {
  const rows = await db.selectFrom('sites').select('id').where('status', '<>', 'decommissioned').execute();
  return rows.map((r) => r.id);
}

/** The site's active nodes, JSON and timestamps parsed whatever the engine returned. */
export async function activeNodes(db: Kysely<DB>, siteId: string): Promise<NodeInfo[]> {
  const nodes = (await db
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
  return nodes;
}

/** The org's and the site's rule settings. */
export async function ruleSettingsRows(
  db: Kysely<DB>,
  orgId: string,
  siteId: string,
): Promise<SettingsRow[]> {
  return (await db
    .selectFrom('alert_rule_settings')
    .selectAll()
    .where((eb) => eb.or([eb('org_id', '=', orgId), eb('site_id', '=', siteId)]))
    .execute()) as unknown as SettingsRow[];
}

/** Rules muted for the site at `now`. */
export async function mutedRules(db: Kysely<DB>, siteId: string, now: Date): Promise<Set<string>> {
  const rows = await db
    .selectFrom('alert_mutes')
    .select('rule')
    .where('site_id', '=', siteId)
    .where('until', '>', now)
    .execute();
  return new Set(rows.map((m) => m.rule));
}

/** Power and gauge series of the site with their samples in (now - windowS, now]. */
export async function recentSeries(
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

export type ConditionRow = Selectable<AlertConditionsTable>;

/** (rule, target) pairs as two parallel arrays, for `(rule, target_id) IN (unnest …)`. */
function pairsOf(keys: { rule: string; targetId: string }[]) {
  return sql<boolean>`(rule, target_id) IN (SELECT * FROM unnest(${keys.map((k) => k.rule)}::text[], ${keys.map((k) => k.targetId)}::text[]))`;
}

/** The engine's condition state of each (rule, target) pair that has one. */
export async function findConditions(
  db: Kysely<DB>,
  keys: { rule: string; targetId: string }[],
): Promise<ConditionRow[]> {
  if (keys.length === 0) return [];
  return db.selectFrom('alert_conditions').selectAll().where(pairsOf(keys)).execute();
}

/** The open or acknowledged alert of each (rule, target) pair that has one (at most one each: a partial unique index). */
export async function findOpenAlerts(
  db: Kysely<DB>,
  keys: { rule: string; targetId: string }[],
): Promise<AlertRow[]> {
  if (keys.length === 0) return [];
  return db.selectFrom('alerts').selectAll().where('state', '<>', 'resolved').where(pairsOf(keys)).execute();
}

export async function markFiring(db: Kysely<DB>, rule: string, targetId: string, since: Date): Promise<void> {
  await db
    .insertInto('alert_conditions')
    .values({ rule, target_id: targetId, firing_since: since, clear_since: null })
    .onConflict((oc) =>
      oc.columns(['rule', 'target_id']).doUpdateSet({ firing_since: since, clear_since: null }),
    )
    .execute();
}

export async function markClearing(db: Kysely<DB>, rule: string, targetId: string, now: Date): Promise<void> {
  await db
    .insertInto('alert_conditions')
    .values({ rule, target_id: targetId, firing_since: null, clear_since: now, rearm_required: false })
    .onConflict((oc) =>
      oc
        .columns(['rule', 'target_id'])
        .doUpdateSet({ firing_since: null, clear_since: now, rearm_required: false }),
    )
    .execute();
}

/** After a manual resolve: the alert re-opens only once its condition has cleared. */
export async function requireRearm(db: Kysely<DB>, rule: string, targetId: string): Promise<void> {
  await db
    .insertInto('alert_conditions')
    .values({ rule, target_id: targetId, firing_since: null, clear_since: null, rearm_required: true })
    .onConflict((oc) =>
      oc.columns(['rule', 'target_id']).doUpdateSet({ firing_since: null, rearm_required: true }),
    )
    .execute();
}

export async function updateAlertValue(
  db: Kysely<DB>,
  id: string,
  value: number | null,
  now: Date,
): Promise<void> {
  await db.updateTable('alerts').set({ value, updated_at: now }).where('id', '=', id).execute();
}

export async function recordRepeat(
  db: Kysely<DB>,
  id: string,
  repeatCount: number,
  now: Date,
): Promise<void> {
  await db
    .updateTable('alerts')
    .set({ repeat_count: repeatCount, last_notified_at: now, updated_at: now })
    .where('id', '=', id)
    .execute();
}

/** Opens an alert; undefined when one is open for the rule and target already (another hub). */
export async function insertOpenAlert(
  db: Kysely<DB>,
  a: {
    rule: string;
    targetType: string;
    targetId: string;
    orgId: string;
    siteId: string;
    nodeId: string | null;
    severity: Severity;
    message: string;
    value: number | null;
    now: Date;
  },
): Promise<string | undefined> {
  const { rows } = await sql<{ id: string }>`
    INSERT INTO alerts (rule, target_type, target_id, org_id, site_id, node_id, severity, state, message, value,
                        opened_at, last_notified_at, updated_at)
    VALUES (${a.rule}, ${a.targetType}, ${a.targetId}, ${a.orgId}, ${a.siteId}, ${a.nodeId},
            ${a.severity}, 'open', ${a.message}, ${a.value}, ${a.now}, ${a.now}, ${a.now})
    ON CONFLICT (rule, target_id) WHERE state <> 'resolved' DO NOTHING
    RETURNING id`.execute(db);
  return rows[0]?.id;
}

/** The engine resolves an alert whose condition cleared; undefined if it was resolved meanwhile. */
export async function resolveBySystem(
  db: Kysely<DB>,
  id: string,
  value: number | null,
  now: Date,
): Promise<AlertRow | undefined> {
  return db
    .updateTable('alerts')
    .set({ state: 'resolved', resolved_at: now, resolved_by: 'system', value, updated_at: now })
    .where('id', '=', id)
    .where('state', '<>', 'resolved')
    .returningAll()
    .executeTakeFirst();
}

// ---- what the rules read ----

export interface LatestNodeEvent {
  node_id: string;
  equipment: string | null;
  kind: string;
  ts: Date;
  message: string;
}

/** Latest event per (node, equipment) among `kinds` since `since`. */
export async function latestNodeEvents(
  db: Kysely<DB>,
  siteId: string,
  kinds: string[],
  since: Date,
): Promise<LatestNodeEvent[]> {
  const { rows } = await sql<LatestNodeEvent>`
    SELECT DISTINCT ON (node_id, coalesce(equipment, '')) node_id, equipment, kind, ts, message
    FROM node_events
    WHERE site_id = ${siteId} AND kind IN (${sql.join(kinds)})
      AND ts >= ${since}
    ORDER BY node_id, coalesce(equipment, ''), ts DESC, id DESC`.execute(db);
  return rows;
}

/**
 * Error (and critical) events per node since `since`; an error-log burst event counts as the
 * number of lines it stands for (data.count, bounded).
 */
export async function errorCountsByNode(
  db: Kysely<DB>,
  siteId: string,
  burstKind: string,
  since: Date,
): Promise<Map<string, number>> {
  const { rows } = await sql<{ node_id: string; n: number }>`
    SELECT node_id,
      sum(CASE WHEN kind = ${burstKind} AND jsonb_typeof(data->'count') = 'number'
               THEN greatest(1, least((data->>'count')::numeric, 100000)) ELSE 1 END)::int AS n
    FROM node_events
    WHERE site_id = ${siteId} AND severity IN ('error', 'critical') AND ts >= ${since}
    GROUP BY node_id`.execute(db);
  return new Map(rows.map((r) => [r.node_id, Number(r.n)]));
}

/** The node.outbox_dropped events (the hub's record of growing drop counts) since `since`. */
export async function outboxDropEvents(
  db: Kysely<DB>,
  siteId: string,
  since: Date,
): Promise<{ node_id: string; ts: Date; dropped: string }[]> {
  const { rows } = await sql<{ node_id: string; ts: Date; dropped: string }>`
    SELECT node_id, ts, (data->>'dropped')::int8 AS dropped FROM node_events
    WHERE site_id = ${siteId} AND kind = 'node.outbox_dropped' AND ts >= ${since}`.execute(db);
  return rows;
}

/** Per node of the site: data-quality findings added to since `since` (ingest/data-quality.ts). */
export async function recentDataQuality(
  db: Kysely<DB>,
  siteId: string,
  since: Date,
): Promise<{ node_id: string; findings: number; samples: string; example: string }[]> {
  const { rows } = await sql<{ node_id: string; findings: number; samples: string; example: string }>`
    SELECT node_id, count(*)::int AS findings, sum(count)::int8 AS samples,
      (array_agg(equipment || '/' || metric || ' ' || rule ORDER BY updated_at DESC))[1] AS example
    FROM data_quality_findings
    WHERE site_id = ${siteId} AND updated_at >= ${since}
    GROUP BY node_id`.execute(db);
  return rows;
}

/** Per node of the site: open batch-sequence holes detected since `since` (ingest/batch-seq.ts). */
export async function openLostBatches(
  db: Kysely<DB>,
  siteId: string,
  since: Date,
): Promise<{ node_id: string; batches: string }[]> {
  const { rows } = await sql<{ node_id: string; batches: string }>`
    SELECT node_id, sum(to_seq - from_seq + 1)::int8 AS batches FROM batch_seq_gaps
    WHERE site_id = ${siteId} AND detected_at >= ${since}
    GROUP BY node_id`.execute(db);
  return rows;
}
