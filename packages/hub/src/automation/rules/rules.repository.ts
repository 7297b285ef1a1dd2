// The only place rule SQL lives. Callers pass a tenant transaction (withTenant: row-level
// security applies) for what users ask, hub.db for what the hub does on its own (live
// evaluation, firing claims, suspension).
import { type Kysely, sql } from 'kysely';
import type { DB } from '../../storage/schema.ts';
import type { RuleDefinition } from './rules.schema.ts';
import type { ActionResultValue } from './rules.tables.ts';
import './rules.tables.ts';
import '../scenes/scenes.tables.ts';

export interface RuleRow {
  id: string;
  site_id: string;
  name: string;
  description: string | null;
  enabled: boolean;
  version: number;
  definition: RuleDefinition;
  suspended_at: Date | null;
  suspended_reason: string | null;
  created_by: string | null;
  created_at: Date;
  updated_at: Date;
}

export interface FiringRow {
  id: string;
  rule_id: string;
  rule_version: number;
  source_key: string;
  crossing_at: Date;
  fired_at: Date;
  reason: string;
  outcome: 'fired' | 'skipped' | 'suspended';
  results: ActionResultValue[];
}

const json = <T>(v: unknown): T => (typeof v === 'string' ? JSON.parse(v) : v) as T;
// biome-ignore lint/suspicious/noExplicitAny: the JSON column comes back as text or object.
const toRule = (r: any): RuleRow => ({ ...r, definition: json(r.definition) });

export async function listRules(db: Kysely<DB>, siteId: string): Promise<RuleRow[]> {
  const rows = await db
    .selectFrom('rules')
    .selectAll()
    .where('site_id', '=', siteId)
    .orderBy('name')
    .execute();
  return rows.map(toRule);
}

export async function getRule(db: Kysely<DB>, id: string): Promise<RuleRow | undefined> {
  const r = await db.selectFrom('rules').selectAll().where('id', '=', id).executeTakeFirst();
  return r ? toRule(r) : undefined;
}

/** Enabled, not suspended rules of every site (the live evaluator's working set). */
export async function activeRules(db: Kysely<DB>, siteId?: string): Promise<RuleRow[]> {
  let q = db.selectFrom('rules').selectAll().where('enabled', '=', true).where('suspended_at', 'is', null);
  if (siteId) q = q.where('site_id', '=', siteId);
  return (await q.execute()).map(toRule);
}

export async function ruleNameTaken(db: Kysely<DB>, siteId: string, name: string, except?: string) {
  let q = db.selectFrom('rules').select('id').where('site_id', '=', siteId).where('name', '=', name);
  if (except) q = q.where('id', '!=', except);
  return !!(await q.executeTakeFirst());
}

export async function insertRule(
  db: Kysely<DB>,
  r: {
    siteId: string;
    name: string;
    description: string | null;
    enabled: boolean;
    definition: RuleDefinition;
    by: string;
  },
): Promise<RuleRow> {
  const row = await db
    .insertInto('rules')
    .values({
      site_id: r.siteId,
      name: r.name,
      description: r.description,
      enabled: r.enabled,
      definition: JSON.stringify(r.definition),
      created_by: r.by,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  return toRule(row);
}

/** An edit: a new version, and the run-time suspension lifted (the author looked at it again). */
export async function updateRule(
  db: Kysely<DB>,
  id: string,
  r: { name: string; description: string | null; enabled: boolean; definition: RuleDefinition },
): Promise<RuleRow | undefined> {
  const row = await db
    .updateTable('rules')
    .set((eb) => ({
      name: r.name,
      description: r.description,
      enabled: r.enabled,
      definition: JSON.stringify(r.definition),
      version: eb('version', '+', 1),
      suspended_at: null,
      suspended_reason: null,
      updated_at: new Date(),
    }))
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirst();
  return row ? toRule(row) : undefined;
}

export async function deleteRule(db: Kysely<DB>, id: string): Promise<boolean> {
  const r = await db.deleteFrom('rules').where('id', '=', id).executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}

export async function suspendRule(db: Kysely<DB>, id: string, at: Date, reason: string): Promise<boolean> {
  const r = await db
    .updateTable('rules')
    .set({ suspended_at: at, suspended_reason: reason })
    .where('id', '=', id)
    .where('suspended_at', 'is', null)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

export async function siteNodes(db: Kysely<DB>, siteId: string): Promise<Set<string>> {
  const rows = await db.selectFrom('nodes').select('id').where('site_id', '=', siteId).execute();
  return new Set(rows.map((r) => r.id));
}

export async function siteScenes(db: Kysely<DB>, siteId: string) {
  const rows = await db
    .selectFrom('scenes')
    .select(['id', 'name', 'targets'])
    .where('site_id', '=', siteId)
    .execute();
  return new Map(
    rows.map((r) => [
      r.id,
      { name: r.name, targets: json<{ channelId: string; state: 'on' | 'off' }[]>(r.targets) },
    ]),
  );
}

export async function siteTimezone(db: Kysely<DB>, siteId: string): Promise<string> {
  const r = await db.selectFrom('sites').select('timezone').where('id', '=', siteId).executeTakeFirst();
  return r?.timezone ?? 'UTC';
}

export interface StoredSample {
  nodeId: string;
  equipment: string;
  metric: string;
  ts: number;
  value: number;
}

/** Stored samples of the site's series of these metrics in [fromMs, toMs], in time order. */
export async function storedSamples(
  db: Kysely<DB>,
  q: { siteId: string; metrics: readonly string[]; fromMs: number; toMs: number; nodeId?: string },
): Promise<StoredSample[]> {
  if (q.metrics.length === 0) return [];
  let query = db
    .selectFrom('samples')
    .innerJoin('series', 'series.id', 'samples.series_id')
    .select(['series.node_id', 'series.equipment', 'series.metric', 'samples.ts', 'samples.value'])
    .where('series.site_id', '=', q.siteId)
    .where('series.metric', 'in', [...q.metrics])
    .where('samples.ts', '>=', new Date(q.fromMs))
    .where('samples.ts', '<=', new Date(q.toMs));
  if (q.nodeId) query = query.where('series.node_id', '=', q.nodeId);
  const rows = await query.orderBy('samples.ts').orderBy('series.id').execute();
  return rows.map((r) => ({
    nodeId: r.node_id,
    equipment: r.equipment,
    metric: r.metric,
    ts: new Date(r.ts).getTime(),
    value: Number(r.value),
  }));
}

/** The site's latest battery_soc at or before `at` (the live side of the SoC condition). */
export async function socAt(db: Kysely<DB>, siteId: string, at: number): Promise<number | undefined> {
  const r = await db
    .selectFrom('samples')
    .innerJoin('series', 'series.id', 'samples.series_id')
    .select(['samples.value'])
    .where('series.site_id', '=', siteId)
    .where('series.metric', '=', 'battery_soc')
    .where('samples.ts', '<=', new Date(at))
    .where('samples.ts', '>', new Date(at - 86_400_000))
    .orderBy('samples.ts', 'desc')
    .limit(1)
    .executeTakeFirst();
  return r ? Number(r.value) : undefined;
}

/**
 * Claims a firing: true for the one hub whose insert made the row (the same rule version,
 * source and crossing instant seen by a second hub, or resent, changes nothing).
 */
export async function claimFiring(
  db: Kysely<DB>,
  f: {
    ruleId: string;
    siteId: string;
    version: number;
    sourceKey: string;
    crossingAt: number;
    firedAt: number;
    reason: string;
    outcome: 'fired' | 'skipped' | 'suspended';
  },
): Promise<string | undefined> {
  const r = await db
    .insertInto('rule_firings')
    .values({
      rule_id: f.ruleId,
      site_id: f.siteId,
      rule_version: f.version,
      source_key: f.sourceKey,
      crossing_at: new Date(f.crossingAt),
      fired_at: new Date(f.firedAt),
      reason: f.reason,
      outcome: f.outcome,
      results: '[]',
    })
    .onConflict((oc) => oc.columns(['rule_id', 'rule_version', 'source_key', 'crossing_at']).doNothing())
    .returning('id')
    .executeTakeFirst();
  return r?.id;
}

export async function recordResults(
  db: Kysely<DB>,
  id: string,
  outcome: 'fired' | 'suspended',
  results: ActionResultValue[],
): Promise<void> {
  await db
    .updateTable('rule_firings')
    .set({ outcome, results: JSON.stringify(results) })
    .where('id', '=', id)
    .execute();
}

export async function listFirings(db: Kysely<DB>, ruleId: string, limit: number): Promise<FiringRow[]> {
  const rows = await db
    .selectFrom('rule_firings')
    .selectAll()
    .where('rule_id', '=', ruleId)
    .orderBy('fired_at', 'desc')
    .limit(limit)
    .execute();
  return rows.map((r) => ({
    ...r,
    crossing_at: new Date(r.crossing_at),
    fired_at: new Date(r.fired_at),
    results: json<ActionResultValue[]>(r.results),
  }));
}

/** State changes rules made on a channel since `since` (the run-time loop guard counts them). */
export async function ruleSwitchesSince(db: Kysely<DB>, channelId: string, since: Date): Promise<number> {
  const r = await db
    .selectFrom('equipment_switch_log')
    .select(sql<number>`count(*)::int`.as('n'))
    .where('channel_id', '=', channelId)
    .where('origin', '=', 'rule')
    .where('at', '>=', since)
    .executeTakeFirst();
  return Number(r?.n ?? 0);
}

export async function siteOrgId(db: Kysely<DB>, siteId: string): Promise<string | undefined> {
  const r = await db.selectFrom('sites').select('org_id').where('id', '=', siteId).executeTakeFirst();
  return r?.org_id;
}

/** A rule's notify action: one message per enabled channel of the site's org (the notification outbox). */
export async function enqueueRuleNotification(
  db: Kysely<DB>,
  orgId: string,
  key: string,
  payload: unknown,
  now: Date,
): Promise<number> {
  const channels = await db
    .selectFrom('notification_channels')
    .select('id')
    .where('org_id', '=', orgId)
    .where('enabled', '=', true)
    .execute();
  for (const ch of channels)
    await db
      .insertInto('notification_outbox')
      .values({
        channel_id: ch.id,
        alert_id: null,
        throttle_key: key,
        payload: JSON.stringify(payload),
        status: 'pending',
        next_attempt_at: now,
        last_error: null,
        created_at: now,
        sent_at: null,
      })
      .execute();
  return channels.length;
}

/** The site's "automation paused" switch (no settings row: not paused). */
export async function sitePaused(db: Kysely<DB>, siteId: string): Promise<boolean> {
  const row = await db
    .selectFrom('site_automation_settings')
    .select('paused')
    .where('site_id', '=', siteId)
    .executeTakeFirst();
  return !!row?.paused;
}

/** A node's site, for a command action (undefined when the node does not exist). */
export function nodeSite(db: Kysely<DB>, nodeId: string) {
  return db.selectFrom('nodes').select(['id', 'site_id']).where('id', '=', nodeId).executeTakeFirst();
}

/** The alert rule (e.g. node_offline) of an alert, for alert triggers naming one. */
export async function alertRuleOf(db: Kysely<DB>, alertId: string): Promise<string | undefined> {
  const row = await db.selectFrom('alerts').select('rule').where('id', '=', alertId).executeTakeFirst();
  return row?.rule;
}
