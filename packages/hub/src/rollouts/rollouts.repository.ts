// SQL of the rollout concern. Everything runs as the hub (table owner): the routes admit fleet
// admins only, and the job is the system.
import type { RolloutNodeState, RolloutState } from '@wattfleet/protocol';
import type { Insertable, Kysely, Selectable, Updateable } from 'kysely';
import type { DB } from '../storage/schema.ts';
import '../alerts/alerts.tables.ts';
import '../commands/commands.tables.ts';
import './rollouts.tables.ts';

export type RolloutRow = Selectable<DB['rollouts']>;
export type RolloutNodeRow = Selectable<DB['rollout_nodes']> & { node_name: string };

export async function insertRollout(
  db: Kysely<DB>,
  row: Insertable<DB['rollouts']>,
  nodes: Omit<Insertable<DB['rollout_nodes']>, 'rollout_id'>[],
): Promise<RolloutRow> {
  const created = await db.insertInto('rollouts').values(row).returningAll().executeTakeFirstOrThrow();
  await db
    .insertInto('rollout_nodes')
    .values(nodes.map((n) => ({ ...n, rollout_id: created.id })))
    .execute();
  return created;
}

export async function findRollout(db: Kysely<DB>, id: string): Promise<RolloutRow | undefined> {
  return db.selectFrom('rollouts').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function listRollouts(db: Kysely<DB>, limit = 50): Promise<RolloutRow[]> {
  return db.selectFrom('rollouts').selectAll().orderBy('created_at', 'desc').limit(limit).execute();
}

export async function rolloutNodes(db: Kysely<DB>, rolloutId: string): Promise<RolloutNodeRow[]> {
  return db
    .selectFrom('rollout_nodes as r')
    .innerJoin('nodes as n', 'n.id', 'r.node_id')
    .selectAll('r')
    .select('n.name as node_name')
    .where('r.rollout_id', '=', rolloutId)
    .orderBy('r.ring')
    .orderBy('r.position')
    .execute();
}

/** Rollouts the job looks at: running or paused ones, and any other with a node still in flight. */
export async function rolloutsToTrack(db: Kysely<DB>): Promise<RolloutRow[]> {
  return db
    .selectFrom('rollouts')
    .selectAll()
    .where((eb) =>
      eb.or([
        eb('state', 'in', ['running', 'paused']),
        eb.exists(
          eb
            .selectFrom('rollout_nodes')
            .select('node_id')
            .whereRef('rollout_nodes.rollout_id', '=', 'rollouts.id')
            .where('rollout_nodes.state', 'in', ['updating', 'verifying']),
        ),
      ]),
    )
    .orderBy('created_at')
    .execute();
}

/** Nodes among `nodeIds` that belong to a running or paused rollout. */
export async function nodesInActiveRollouts(db: Kysely<DB>, nodeIds: string[]): Promise<string[]> {
  if (!nodeIds.length) return [];
  const rows = await db
    .selectFrom('rollout_nodes as r')
    .innerJoin('rollouts as o', 'o.id', 'r.rollout_id')
    .select('r.node_id')
    .where('o.state', 'in', ['running', 'paused'])
    .where('r.node_id', 'in', nodeIds)
    .execute();
  return rows.map((r) => r.node_id);
}

/** Moves a rollout between states only from the expected ones, so a pause is never overwritten. */
export async function setRolloutState(
  db: Kysely<DB>,
  id: string,
  from: RolloutState[],
  patch: Updateable<DB['rollouts']>,
  now: Date,
): Promise<RolloutRow | undefined> {
  return db
    .updateTable('rollouts')
    .set({ ...patch, updated_at: now })
    .where('id', '=', id)
    .where('state', 'in', from)
    .returningAll()
    .executeTakeFirst();
}

export async function updateRolloutNode(
  db: Kysely<DB>,
  rolloutId: string,
  nodeId: string,
  from: RolloutNodeState,
  patch: Updateable<DB['rollout_nodes']>,
): Promise<boolean> {
  const r = await db
    .updateTable('rollout_nodes')
    .set(patch)
    .where('rollout_id', '=', rolloutId)
    .where('node_id', '=', nodeId)
    .where('state', '=', from)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

/** Waiting nodes never started: skipped (halt, abort). */
export async function skipWaiting(
  db: Kysely<DB>,
  rolloutId: string,
  reason: string,
  now: Date,
): Promise<void> {
  await db
    .updateTable('rollout_nodes')
    .set({ state: 'skipped', reason, settled_at: now })
    .where('rollout_id', '=', rolloutId)
    .where('state', '=', 'waiting')
    .execute();
}

export async function nodesForPlan(db: Kysely<DB>, ids: string[]) {
  return db
    .selectFrom('nodes')
    .select(['id', 'site_id', 'name', 'kind', 'active', 'agent_version', 'status'])
    .where('id', 'in', ids)
    .execute();
}

export async function commandOutcome(db: Kysely<DB>, id: string) {
  return db.selectFrom('commands').select(['state', 'error']).where('id', '=', id).executeTakeFirst();
}

export async function nodeHealth(db: Kysely<DB>, nodeId: string) {
  return db
    .selectFrom('nodes')
    .select(['status', 'agent_version', 'active'])
    .where('id', '=', nodeId)
    .executeTakeFirst();
}

/** The first error event the node sent since `since`, if any (the health gate's "new error"). */
export async function errorEventSince(db: Kysely<DB>, nodeId: string, since: Date) {
  return db
    .selectFrom('node_events')
    .select(['kind', 'message', 'severity'])
    .where('node_id', '=', nodeId)
    .where('severity', 'in', ['error', 'critical'])
    .where('received_at', '>=', since)
    .orderBy('received_at')
    .limit(1)
    .executeTakeFirst();
}

/** The first alert opened on the node since `since`, if any. */
export async function alertSince(db: Kysely<DB>, nodeId: string, since: Date) {
  return db
    .selectFrom('alerts')
    .select(['rule', 'message'])
    .where('node_id', '=', nodeId)
    .where('opened_at', '>=', since)
    .orderBy('opened_at')
    .limit(1)
    .executeTakeFirst();
}
