// The only place command SQL lives: commands, their state history and the log chunks nodes
// upload. Callers pass the Kysely handle: a tenant transaction (withTenant, so row-level security
// applies) for what users read, a transaction for a state change, hub.db for jobs and delivery.
import type { CommandState } from '@wattfleet/protocol';
import type { Kysely, Selectable } from 'kysely';
import type { DB } from '../storage/schema.ts';
import type { CommandsTable, CommandTransitionsTable } from './commands.tables.ts';
import './commands.tables.ts';

export type CommandRow = Selectable<CommandsTable>;
export type TransitionSource = CommandTransitionsTable['source'];

export async function insertCommand(
  db: Kysely<DB>,
  c: {
    nodeId: string;
    siteId: string;
    type: string;
    args: Record<string, unknown>;
    expiresAt: Date;
    createdByType: string;
    createdById: string | null;
  },
): Promise<CommandRow> {
  return db
    .insertInto('commands')
    .values({
      node_id: c.nodeId,
      site_id: c.siteId,
      type: c.type,
      args: JSON.stringify(c.args),
      expires_at: c.expiresAt,
      created_by_type: c.createdByType,
      created_by_id: c.createdById,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function insertTransition(
  db: Kysely<DB>,
  t: {
    commandId: string;
    from: CommandState | null;
    to: CommandState;
    source: TransitionSource;
    data?: Record<string, unknown> | null;
  },
): Promise<void> {
  await db
    .insertInto('command_transitions')
    .values({
      command_id: t.commandId,
      from_state: t.from,
      to_state: t.to,
      source: t.source,
      data: t.data ? JSON.stringify(t.data) : null,
    })
    .execute();
}

export async function findCommand(db: Kysely<DB>, id: string): Promise<CommandRow | undefined> {
  return db.selectFrom('commands').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function listTransitions(db: Kysely<DB>, commandId: string) {
  return db
    .selectFrom('command_transitions')
    .select(['from_state', 'to_state', 'at', 'source', 'data'])
    .where('command_id', '=', commandId)
    .orderBy('id')
    .execute();
}

export async function listCommands(
  db: Kysely<DB>,
  filter: {
    nodeId: string;
    state?: CommandState | undefined;
    type?: string | undefined;
    limit: number;
    offset: number;
  },
): Promise<CommandRow[]> {
  let q = db.selectFrom('commands').selectAll().where('node_id', '=', filter.nodeId);
  if (filter.state) q = q.where('state', '=', filter.state);
  if (filter.type) q = q.where('type', '=', filter.type);
  return q.orderBy('created_at', 'desc').orderBy('id').limit(filter.limit).offset(filter.offset).execute();
}

/** The current state, row locked until the transaction ends (state changes are serialised). */
export async function lockCommand(
  db: Kysely<DB>,
  id: string,
): Promise<{ state: CommandState; node_id: string } | undefined> {
  return db
    .selectFrom('commands')
    .select(['state', 'node_id'])
    .where('id', '=', id)
    .forUpdate()
    .executeTakeFirst();
}

export async function updateCommandState(
  db: Kysely<DB>,
  id: string,
  to: CommandState,
  extra: { result?: Record<string, unknown>; error?: { code: string; message: string } },
): Promise<CommandRow> {
  return db
    .updateTable('commands')
    .set({
      state: to,
      updated_at: new Date(),
      ...(extra.result ? { result: JSON.stringify(extra.result) } : {}),
      ...(extra.error ? { error: JSON.stringify(extra.error) } : {}),
    })
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function markPublished(db: Kysely<DB>, id: string): Promise<void> {
  await db.updateTable('commands').set({ published_at: new Date() }).where('id', '=', id).execute();
}

/** Pending, unexpired commands of a node, oldest first. */
export async function pendingForNode(db: Kysely<DB>, nodeId: string, now: Date): Promise<CommandRow[]> {
  return db
    .selectFrom('commands')
    .selectAll()
    .where('node_id', '=', nodeId)
    .where('state', '=', 'pending')
    .where('expires_at', '>', now)
    .orderBy('created_at')
    .execute();
}

/** Pending commands of online nodes created before `cutoff` and not published since. */
export async function stalePendingOfOnlineNodes(
  db: Kysely<DB>,
  cutoff: Date,
  now: Date,
  limit: number,
): Promise<CommandRow[]> {
  return db
    .selectFrom('commands')
    .innerJoin('nodes', 'nodes.id', 'commands.node_id')
    .selectAll('commands')
    .where('commands.state', '=', 'pending')
    .where('commands.expires_at', '>', now)
    .where('nodes.status', '=', 'online')
    .where((eb) => eb.or([eb('commands.published_at', 'is', null), eb('commands.published_at', '<', cutoff)]))
    .where('commands.created_at', '<', cutoff)
    .orderBy('commands.created_at')
    .limit(limit)
    .execute();
}

/** Ids of commands past their expiry: waiting ones at `now`, running ones at `runningBefore`. */
export async function dueForExpiry(
  db: Kysely<DB>,
  now: Date,
  runningBefore: Date,
  limit: number,
): Promise<string[]> {
  const rows = await db
    .selectFrom('commands')
    .select('id')
    .where((eb) =>
      eb.or([
        eb.and([eb('state', 'in', ['pending', 'delivered']), eb('expires_at', '<=', now)]),
        eb.and([eb('state', '=', 'running'), eb('expires_at', '<=', runningBefore)]),
      ]),
    )
    .limit(limit)
    .execute();
  return rows.map((r) => r.id);
}

/** The chunks of one upload (a command's id, or 'adhoc'), in order. */
export async function listLogChunks(db: Kysely<DB>, nodeId: string, uploadKey: string) {
  return db
    .selectFrom('node_log_chunks')
    .select(['upload_key', 'command_id', 'chunk', 'final', 'lines', 'received_at'])
    .where('node_id', '=', nodeId)
    .where('upload_key', '=', uploadKey)
    .orderBy('chunk')
    .execute();
}

/** Stores a chunk; false when it was stored before (a resent chunk changes nothing). */
export async function insertLogChunk(
  db: Kysely<DB>,
  c: { nodeId: string; commandId: string | null; chunk: number; final: boolean; lines: string[] },
): Promise<boolean> {
  const inserted = await db
    .insertInto('node_log_chunks')
    .values({
      node_id: c.nodeId,
      upload_key: c.commandId ?? 'adhoc',
      command_id: c.commandId,
      chunk: c.chunk,
      final: c.final,
      lines: JSON.stringify(c.lines),
    })
    .onConflict((oc) => oc.columns(['node_id', 'upload_key', 'chunk']).doNothing())
    .returning('chunk')
    .executeTakeFirst();
  return inserted !== undefined;
}
