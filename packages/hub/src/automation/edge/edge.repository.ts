// The only place edge-execution SQL lives (executors, bundles, edge executions). Callers pass the
// Kysely handle: a tenant transaction when a user's save assigns an executor, hub.db for what the
// hub does on its own (compiling, pushing, ingesting a node's executions).
import { type Kysely, sql } from 'kysely';
import type { DB } from '../../storage/schema.ts';
import type { BundleState, ItemKind } from './edge.tables.ts';
import './edge.tables.ts';
import '../schedules/schedules.tables.ts';

const json = <T>(v: unknown): T => (typeof v === 'string' ? JSON.parse(v) : v) as T;

/** The channel's node and its kind (what decides a schedule's executor). */
export async function channelOwner(db: Kysely<DB>, channelId: string) {
  const r = await db
    .selectFrom('equipment_channels as c')
    .innerJoin('nodes as n', 'n.id', 'c.node_id')
    .select(['c.id', 'c.node_id', 'n.kind', 'c.site_id', 'c.capabilities'])
    .where('c.id', '=', channelId)
    .executeTakeFirst();
  return r ? { ...r, capabilities: json<{ edgeAutomation?: boolean }>(r.capabilities) } : undefined;
}

export async function executorOf(db: Kysely<DB>, kind: ItemKind, id: string): Promise<string | null> {
  const r = await db
    .selectFrom('automation_executors')
    .select('node_id')
    .where('item_kind', '=', kind)
    .where('item_id', '=', id)
    .executeTakeFirst();
  return r?.node_id ?? null;
}

/** Sets (nodeId) or clears (null = the hub) an item's executor. */
export async function setExecutor(
  db: Kysely<DB>,
  item: { kind: ItemKind; id: string; siteId: string },
  nodeId: string | null,
  reason: string,
): Promise<void> {
  if (nodeId === null) {
    await db
      .deleteFrom('automation_executors')
      .where('item_kind', '=', item.kind)
      .where('item_id', '=', item.id)
      .execute();
    return;
  }
  const row = { site_id: item.siteId, node_id: nodeId, reason, assigned_at: new Date() };
  await db
    .insertInto('automation_executors')
    .values({ item_kind: item.kind, item_id: item.id, ...row })
    .onConflict((oc) => oc.columns(['item_kind', 'item_id']).doUpdateSet(row))
    .execute();
}

/** Nodes of a site that execute something (or did: a bundle must be emptied too). */
export async function siteExecutorNodes(db: Kysely<DB>, siteId: string): Promise<string[]> {
  const rows = await db
    .selectFrom('nodes')
    .select('id')
    .where('site_id', '=', siteId)
    .where((eb) =>
      eb.or([
        eb.exists(
          eb
            .selectFrom('automation_executors as x')
            .select('x.node_id')
            .whereRef('x.node_id', '=', 'nodes.id'),
        ),
        eb.exists(
          eb.selectFrom('automation_bundles as b').select('b.node_id').whereRef('b.node_id', '=', 'nodes.id'),
        ),
      ]),
    )
    .execute();
  return rows.map((r) => r.id);
}

export async function nodeSite(db: Kysely<DB>, nodeId: string) {
  return db
    .selectFrom('nodes as n')
    .innerJoin('sites as s', 's.id', 'n.site_id')
    .select(['n.id', 'n.site_id', 'n.kind', 's.timezone', 's.latitude', 's.longitude', 's.org_id'])
    .where('n.id', '=', nodeId)
    .executeTakeFirst();
}

/** The live, enabled schedules a node executes, with their channel's address and limits. */
export async function nodeSchedules(db: Kysely<DB>, nodeId: string) {
  const rows = await db
    .selectFrom('automation_executors as x')
    .innerJoin('schedules as s', 's.id', 'x.item_id')
    .innerJoin('equipment_channels as c', 'c.id', 's.channel_id')
    .innerJoin('equipment as e', 'e.id', 'c.equipment_id')
    .select([
      's.id',
      's.version',
      's.name',
      's.priority',
      's.created_at',
      's.rule',
      's.valid_from',
      's.valid_until',
      's.except_dates',
      's.grace_min',
      's.updated_at',
      's.checked_until',
      'c.id as channel_id',
      'e.key as equipment',
      'c.channel',
      'c.min_on_s',
      'c.min_off_s',
      'c.max_switches_per_hour',
    ])
    .where('x.item_kind', '=', 'schedule')
    .where('x.node_id', '=', nodeId)
    .where('s.deleted_at', 'is', null)
    .where('s.enabled', '=', true)
    .orderBy('s.id')
    .execute();
  return rows.map((r) => ({
    ...r,
    rule: json<typeof r.rule>(r.rule),
    except_dates: json<string[]>(r.except_dates),
  }));
}

export async function latestBundle(db: Kysely<DB>, nodeId: string, state?: BundleState) {
  let q = db
    .selectFrom('automation_bundles')
    .select(['node_id', 'version', 'digest', 'bundle', 'state', 'command_id'])
    .where('node_id', '=', nodeId);
  if (state) q = q.where('state', '=', state);
  const r = await q.orderBy('version', 'desc').executeTakeFirst();
  return r ? { ...r, bundle: json<unknown>(r.bundle) } : undefined;
}

/** A new bundle row; undefined when another hub took that version first. */
export async function insertBundle(
  db: Kysely<DB>,
  b: { nodeId: string; siteId: string; version: number; digest: string; bundle: unknown },
): Promise<boolean> {
  const r = await db
    .insertInto('automation_bundles')
    .values({
      node_id: b.nodeId,
      site_id: b.siteId,
      version: b.version,
      digest: b.digest,
      bundle: JSON.stringify(b.bundle),
    })
    .onConflict((oc) => oc.columns(['node_id', 'version']).doNothing())
    .returning('version')
    .executeTakeFirst();
  return r !== undefined;
}

export async function attachBundleCommand(
  db: Kysely<DB>,
  nodeId: string,
  version: number,
  commandId: string,
) {
  await db
    .updateTable('automation_bundles')
    .set({ command_id: commandId })
    .where('node_id', '=', nodeId)
    .where('version', '=', version)
    .execute();
}

/** Settles a pending bundle; the row when this call settled it (once, whichever hub asks). */
export async function settleBundle(
  db: Kysely<DB>,
  commandId: string,
  state: BundleState,
  detail: string | null,
) {
  const r = await db
    .updateTable('automation_bundles')
    .set({ state, detail, settled_at: new Date() })
    .where('command_id', '=', commandId)
    .where('state', '=', 'pending')
    .returning(['node_id', 'version', 'site_id', 'bundle'])
    .executeTakeFirst();
  return r ? { ...r, bundle: json<unknown>(r.bundle) } : undefined;
}

/** The events of one kind in one stored batch of a node. */
export async function batchEvents(db: Kysely<DB>, nodeId: string, batchId: string, kind: string) {
  return db
    .selectFrom('node_events')
    .select(['id', 'data', 'ts'])
    .where('node_id', '=', nodeId)
    .where('batch_id', '=', batchId)
    .where('kind', '=', kind)
    .orderBy('id')
    .execute();
}

/** Claims an edge execution once: false when it was reported (and recorded) before. */
export async function claimEdgeExecution(
  db: Kysely<DB>,
  e: {
    kind: 'schedule' | 'rule';
    id: string;
    dueAt: Date;
    siteId: string;
    nodeId: string;
    version: number;
    bundleVersion: number;
    outcome: string;
    ranAt: Date;
  },
): Promise<boolean> {
  const r = await db
    .insertInto('edge_executions')
    .values({
      item_kind: e.kind,
      item_id: e.id,
      due_at: e.dueAt,
      site_id: e.siteId,
      node_id: e.nodeId,
      item_version: e.version,
      bundle_version: e.bundleVersion,
      outcome: e.outcome,
      ran_at: e.ranAt,
    })
    .onConflict((oc) => oc.columns(['item_kind', 'item_id', 'due_at']).doNothing())
    .returning('item_id')
    .executeTakeFirst();
  return r !== undefined;
}

/** What the hub shows of a channel a node switched on its own (only if nothing newer is known). */
export async function recordEdgeSwitch(
  db: Kysely<DB>,
  channelId: string,
  s: {
    state: 'on' | 'off';
    by: string;
    at: Date;
    confirmed: 'on' | 'off' | undefined;
    failure: string | null;
  },
): Promise<void> {
  await db
    .updateTable('equipment_channels')
    .set({
      desired_state: s.state,
      desired_at: s.at,
      desired_by: s.by,
      command_id: null,
      status: s.failure ? 'failed' : 'confirmed',
      failure_reason: s.failure,
      ...(s.confirmed ? { reported_state: s.confirmed, reported_at: s.at } : {}),
      updated_at: new Date(),
    })
    .where('id', '=', channelId)
    .where((eb) => eb.or([eb('desired_at', 'is', null), eb('desired_at', '<=', s.at)]))
    .execute();
}

export async function scheduleForExecution(db: Kysely<DB>, id: string) {
  return db
    .selectFrom('schedules as s')
    .innerJoin('sites as site', 'site.id', 's.site_id')
    .select(['s.id', 's.name', 's.site_id', 's.channel_id', 's.version', 'site.org_id'])
    .where('s.id', '=', id)
    .executeTakeFirst();
}

/**
 * Event batches (node, site, batch) holding a schedule execution the hub has not recorded yet:
 * what a hub that stopped between storing a batch and reading it left behind. Received at least
 * `settleMs` ago (the live path gets the fresh ones), within `since`.
 */
export async function unrecordedExecutionBatches(
  db: Kysely<DB>,
  kind: string,
  since: Date,
  before: Date,
  limit = 100,
): Promise<{ node_id: string; site_id: string; batch_id: string }[]> {
  const r = await sql<{ node_id: string; site_id: string; batch_id: string }>`
    SELECT DISTINCT e.node_id, e.site_id, e.batch_id FROM node_events e
    WHERE e.kind = ${kind} AND e.received_at >= ${since} AND e.received_at < ${before}
      AND e.data->>'source' = 'schedule'
      AND NOT EXISTS (
        SELECT 1 FROM edge_executions x
        WHERE x.item_kind = 'schedule' AND x.item_id::text = e.data->>'id'
          AND (extract(epoch FROM x.due_at) * 1000)::bigint = (e.data->>'dueAt')::bigint)
    LIMIT ${limit}`.execute(db);
  return r.rows;
}
