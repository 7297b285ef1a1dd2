// Commands: who may send what (the node's site must be writable for the caller and the caller's
// role must be listed for the type in COMMAND_ROLES), per-type arguments, the state machine and
// delivery, node log uploads for FETCH_LOGS and the fleet-wide broadcast. Every command and every
// state change is written to the audit log in the same transaction as the change itself, and
// announced on the bus ('command.updated') after it commits. Routes stay thin; SQL is in
// commands.repository.ts.
import {
  BROADCAST_TOPIC,
  type Broadcast,
  COMMAND_ROLES,
  COMMAND_TRANSITIONS,
  COMMAND_TYPES,
  CommandArgs,
  type CommandCancel,
  type CommandEnvelope,
  type CommandResponse,
  type CommandState,
  type CommandType,
  checker,
  DEFAULT_COMMAND_TTL_S,
  FINAL_COMMAND_STATES,
  type LogUpload,
  WattfleetError,
} from '@wattfleet/protocol';
import type { Kysely } from 'kysely';
import { audit } from '../audit/audit.ts';
import { assertNodeAccess } from '../auth/access.ts';
import { type Actor, actorId, isFleetAdmin } from '../auth/actor.ts';
import type { HubContext } from '../context.ts';
import { withTenant } from '../identity/tenant.ts';
import type { DB } from '../storage/schema.ts';
import {
  type CommandRow,
  dueForExpiry,
  findCommand,
  insertCommand,
  insertLogChunk,
  insertTransition,
  listCommands,
  listLogChunks,
  listTransitions,
  lockCommand,
  markPublished,
  pendingForNode,
  stalePendingOfOnlineNodes,
  type TransitionSource,
  updateCommandState,
} from './commands.repository.ts';
import type {
  BroadcastAnswer,
  BroadcastBody,
  Command,
  CommandDetail,
  CommandList,
  CommandListQuery,
  CommandTransition,
  CreateCommandBody,
  LogUploadAnswer,
  NodeLogs,
} from './commands.schema.ts';

export type { CommandRow, TransitionSource } from './commands.repository.ts';

/** Hands an envelope to the broker; false when no broker connection is up (the command waits). */
export type EnvelopePublisher = (
  nodeId: string,
  envelope: CommandEnvelope | CommandCancel,
) => Promise<boolean>;

/** Publishes on hub/broadcast; false when no broker is connected. */
export type BroadcastPublisher = (payload: Broadcast) => Promise<boolean>;

/** Running commands get this long past their expiry before the hub gives up on them. */
const RUNNING_GRACE_MS = 3_600_000;

const argCheckers = Object.fromEntries(
  COMMAND_TYPES.map((t) => [t, checker(CommandArgs[t])]),
) as unknown as Record<
  CommandType,
  { problems: (value: unknown, basePath?: string) => { path: string; message: string }[] }
>;

export function mayCommand(actor: Actor, type: CommandType): boolean {
  if (actor.kind === 'token' || actor.kind === 'system') return true;
  if (actor.kind === 'user') return COMMAND_ROLES[type].includes(actor.role);
  return false;
}

export function commandView(row: CommandRow): Command {
  return {
    id: row.id,
    nodeId: row.node_id,
    siteId: row.site_id,
    // Stored as text; the value was checked against the whitelist at creation.
    type: row.type as CommandType,
    args: row.args,
    state: row.state,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
    expiresAt: row.expires_at.toISOString(),
    publishedAt: row.published_at?.toISOString() ?? null,
    createdBy: { type: row.created_by_type, id: row.created_by_id },
    result: row.result,
    error: row.error,
  };
}

function envelopeOf(row: CommandRow): CommandEnvelope {
  return {
    id: row.id,
    // The protocol's union type of literals does not narrow through .map(); the value is checked at creation.
    type: row.type as never,
    args: row.args,
    issuedAt: row.created_at.getTime(),
    expiresAt: row.expires_at.getTime(),
  };
}

export class CommandService {
  /** Set by the control plane while a broker connection is up. */
  publisher: EnvelopePublisher | undefined;

  constructor(private readonly hub: HubContext) {}

  private get db(): Kysely<DB> {
    return this.hub.db;
  }

  // ---- what actors ask for over HTTP ----

  /** POST /nodes/{id}/commands: arguments first (400), then access (404), then the role (403). */
  async send(actor: Actor, nodeId: string, body: CreateCommandBody, sourceIp?: string): Promise<Command> {
    const args = body.args ?? {};
    const problems = argCheckers[body.type].problems(args, '/body/args');
    if (problems.length)
      throw new WattfleetError('WF_VALIDATION', `Invalid arguments for ${body.type}`, problems);
    const node = await assertNodeAccess(this.hub, actor, nodeId, 'write');
    const row = await this.create(actor, node, { type: body.type, args, ttlS: body.ttlS }, sourceIp);
    return commandView(row);
  }

  /** A node's commands, newest first, one page. */
  async listForNode(actor: Actor, nodeId: string, query: CommandListQuery): Promise<CommandList> {
    await assertNodeAccess(this.hub, actor, nodeId);
    const limit = query.limit ?? 50;
    const offset = query.offset ?? 0;
    // Checked in code above, and again by row-level security: the query runs as the tenant.
    const rows = await withTenant(this.hub, actor, (trx) =>
      this.list({ nodeId, state: query.state, type: query.type, limit: limit + 1, offset }, trx),
    );
    return {
      items: rows.slice(0, limit).map(commandView),
      nextOffset: rows.length > limit ? offset + limit : null,
    };
  }

  /** One command with its state history. */
  async getForNode(actor: Actor, nodeId: string, commandId: string): Promise<CommandDetail> {
    await assertNodeAccess(this.hub, actor, nodeId);
    // Row and history are read as the tenant, so row-level security hides foreign commands too.
    const found = await withTenant(this.hub, actor, async (trx) => {
      const row = await this.find(commandId, trx);
      if (!row || row.node_id !== nodeId) return undefined;
      return { row, history: await this.history(row.id, trx) };
    });
    if (!found) throw new WattfleetError('WF_NOT_FOUND', 'Command not found');
    return { ...commandView(found.row), history: found.history };
  }

  async cancelForNode(
    actor: Actor,
    nodeId: string,
    commandId: string,
    sourceIp?: string,
  ): Promise<CommandDetail> {
    await assertNodeAccess(this.hub, actor, nodeId, 'write');
    const row = await this.find(commandId);
    if (!row || row.node_id !== nodeId) throw new WattfleetError('WF_NOT_FOUND', 'Command not found');
    const updated = await this.cancel(actor, row, sourceIp);
    return { ...commandView(updated), history: await this.history(row.id) };
  }

  /** The log lines a node uploaded for a FETCH_LOGS command (or ad hoc). */
  async logs(actor: Actor, nodeId: string, commandId: string | undefined): Promise<NodeLogs> {
    await assertNodeAccess(this.hub, actor, nodeId);
    const rows = await withTenant(this.hub, actor, (trx) => listLogChunks(trx, nodeId, commandId ?? 'adhoc'));
    const last = rows.at(-1);
    return {
      commandId: commandId ?? null,
      complete: !!last?.final && last.chunk === rows.length - 1,
      chunks: rows.map((r) => ({ chunk: r.chunk, final: r.final, receivedAt: r.received_at.toISOString() })),
      lines: rows.flatMap((r) => r.lines),
    };
  }

  /** A node's own log chunk (signed request). */
  async storeLogChunk(actor: Actor, nodeId: string, body: LogUpload): Promise<LogUploadAnswer> {
    if (actor.kind !== 'node' || actor.nodeId !== nodeId) {
      throw new WattfleetError('WF_FORBIDDEN', 'A node uploads only its own logs');
    }
    if (body.commandId) {
      const row = await this.find(body.commandId);
      if (!row || row.node_id !== nodeId) throw new WattfleetError('WF_NOT_FOUND', 'Command not found');
    }
    const stored = await insertLogChunk(this.db, {
      nodeId,
      commandId: body.commandId ?? null,
      chunk: body.chunk,
      final: body.final,
      lines: body.lines,
    });
    return { status: stored ? 'stored' : 'duplicate', chunk: body.chunk, lines: body.lines.length };
  }

  /** A message to every node on hub/broadcast (fleet admins only); audited whether or not it went out. */
  async broadcast(
    actor: Actor,
    body: BroadcastBody,
    send: BroadcastPublisher,
    sourceIp?: string,
  ): Promise<BroadcastAnswer> {
    if (!isFleetAdmin(actor)) throw new WattfleetError('WF_FORBIDDEN', 'Only fleet admins broadcast');
    const payload: Broadcast = { ts: Date.now(), kind: body.kind, message: body.message };
    const sent = await send(payload);
    await audit(this.db, actor, {
      action: 'broadcast',
      targetType: 'topic',
      targetId: BROADCAST_TOPIC,
      result: sent ? 'ok' : 'failed',
      sourceIp,
      details: payload,
    });
    if (!sent) throw new WattfleetError('WF_UNAVAILABLE', 'No broker connection');
    return { sent: true, ...payload };
  }

  // ---- the state machine and delivery ----

  async create(
    actor: Actor,
    node: { id: string; site_id: string },
    input: { type: CommandType; args: Record<string, unknown>; ttlS?: number | undefined },
    sourceIp?: string,
  ): Promise<CommandRow> {
    if (!mayCommand(actor, input.type)) {
      await audit(this.db, actor, {
        action: 'command.create',
        targetType: 'node',
        targetId: node.id,
        result: 'denied',
        sourceIp,
        details: { type: input.type },
      });
      throw new WattfleetError('WF_COMMAND_NOT_ALLOWED', `Your role may not send ${input.type}`);
    }
    const now = Date.now();
    const row = await this.db.transaction().execute(async (trx) => {
      const created = await insertCommand(trx, {
        nodeId: node.id,
        siteId: node.site_id,
        type: input.type,
        args: input.args,
        expiresAt: new Date(now + (input.ttlS ?? DEFAULT_COMMAND_TTL_S) * 1000),
        createdByType: actor.kind,
        createdById: actorId(actor),
      });
      await insertTransition(trx, { commandId: created.id, from: null, to: 'pending', source: 'actor' });
      await audit(trx, actor, {
        action: 'command.create',
        targetType: 'node',
        targetId: node.id,
        sourceIp,
        details: { commandId: created.id, type: input.type, args: input.args, ttlS: input.ttlS ?? null },
      });
      return created;
    });
    this.emit(row);
    await this.publish(row);
    return (await this.find(row.id)) ?? row;
  }

  // Reads take an optional db so callers can run them as the tenant (withTenant's transaction).
  async find(id: string, db: Kysely<DB> = this.db): Promise<CommandRow | undefined> {
    return findCommand(db, id);
  }

  async history(id: string, db: Kysely<DB> = this.db): Promise<CommandTransition[]> {
    const rows = await listTransitions(db, id);
    return rows.map((r) => ({
      from: r.from_state,
      to: r.to_state,
      at: r.at.toISOString(),
      source: r.source,
      data: r.data,
    }));
  }

  async list(
    filter: {
      nodeId: string;
      state?: CommandState | undefined;
      type?: string | undefined;
      limit: number;
      offset: number;
    },
    db: Kysely<DB> = this.db,
  ): Promise<CommandRow[]> {
    return listCommands(db, filter);
  }

  /**
   * Moves a command to `to` if the state machine allows it from its current state; a late or
   * repeated report is ignored (returns undefined). One transaction: row, history, audit.
   */
  async transition(
    id: string,
    to: CommandState,
    source: TransitionSource,
    actor: Actor,
    extra: {
      result?: Record<string, unknown>;
      error?: { code: string; message: string };
      sourceIp?: string;
    } = {},
  ): Promise<CommandRow | undefined> {
    const row = await this.db.transaction().execute(async (trx) => {
      const current = await lockCommand(trx, id);
      if (!current || !COMMAND_TRANSITIONS[current.state].includes(to)) return undefined;
      const updated = await updateCommandState(trx, id, to, extra);
      const data = extra.result || extra.error ? { result: extra.result, error: extra.error } : null;
      await insertTransition(trx, { commandId: id, from: current.state, to, source, data });
      await audit(trx, actor, {
        action: `command.${to}`,
        targetType: 'command',
        targetId: id,
        result: to === 'failed' ? 'failed' : 'ok',
        sourceIp: extra.sourceIp,
        details: {
          nodeId: current.node_id,
          from: current.state,
          to,
          source,
          ...(extra.error ? { error: extra.error } : {}),
        },
      });
      return updated;
    });
    if (row) this.emit(row);
    return row;
  }

  /** A CommandResponse from nodes/{nodeId}/responses; a node can only move its own commands. */
  async applyNodeResponse(nodeId: string, siteId: string, response: CommandResponse): Promise<boolean> {
    const row = await this.find(response.id);
    if (!row || row.node_id !== nodeId) return false;
    const updated = await this.transition(
      response.id,
      response.state,
      'node',
      { kind: 'node', nodeId, siteId },
      {
        ...(response.data ? { result: response.data } : {}),
        ...(response.error ? { error: response.error } : {}),
      },
    );
    return !!updated;
  }

  async cancel(actor: Actor, row: CommandRow, sourceIp?: string): Promise<CommandRow> {
    if ((FINAL_COMMAND_STATES as readonly string[]).includes(row.state)) {
      throw new WattfleetError('WF_COMMAND_FINAL', `The command is already ${row.state}`);
    }
    if (!mayCommand(actor, row.type as CommandType)) {
      throw new WattfleetError('WF_COMMAND_NOT_ALLOWED', `Your role may not cancel ${row.type}`);
    }
    const updated = await this.transition(row.id, 'cancelled', 'actor', actor, { sourceIp });
    if (!updated) {
      // Running commands cannot be taken back; the node decides how they end.
      throw new WattfleetError('WF_CONFLICT', `A ${row.state} command can no longer be cancelled`);
    }
    // The node may hold it already (published, maybe queued for it by the broker): tell it not to
    // start it. Best effort: a node that started meanwhile reports so, and the report is ignored.
    if (row.published_at && this.publisher) {
      const notice: CommandCancel = { id: row.id, cancel: true, cancelledAt: Date.now() };
      await this.publisher(row.node_id, notice).catch(() => false);
    }
    return updated;
  }

  /** Publishes the envelope if a broker is connected; remembers when. */
  async publish(row: CommandRow): Promise<boolean> {
    if (!this.publisher) return false;
    const sent = await this.publisher(row.node_id, envelopeOf(row));
    if (sent) await markPublished(this.db, row.id);
    return sent;
  }

  /** A node came (back) online: hand it every pending command that has not expired, oldest first. */
  async deliverPending(nodeId: string): Promise<number> {
    const rows = await pendingForNode(this.db, nodeId, new Date());
    let n = 0;
    for (const row of rows) if (await this.publish(row)) n++;
    return n;
  }

  /**
   * Pending commands of nodes that are online but never acknowledged them (the publish failed, the
   * hub had no broker at the time, or the message was lost on a reconnect) are published again
   * once they are `afterMs` old. The node ignores a command id it has seen, so a resend is safe.
   */
  async redeliverStale(afterMs: number, now = Date.now()): Promise<number> {
    const rows = await stalePendingOfOnlineNodes(this.db, new Date(now - afterMs), new Date(now), 500);
    let n = 0;
    for (const row of rows) if (await this.publish(row)) n++;
    return n;
  }

  /** Expires commands past their time (running ones after a grace period). */
  async expireDue(now = Date.now()): Promise<number> {
    const due = await dueForExpiry(this.db, new Date(now), new Date(now - RUNNING_GRACE_MS), 1000);
    let n = 0;
    for (const id of due) {
      if (await this.transition(id, 'expired', 'hub', { kind: 'system' })) n++;
    }
    return n;
  }

  private emit(row: CommandRow): void {
    this.hub.metrics.commandTransitions.inc({ type: row.type, state: row.state });
    this.hub.bus.emitEvent('command.updated', {
      commandId: row.id,
      nodeId: row.node_id,
      siteId: row.site_id,
      state: row.state,
    });
  }
}
