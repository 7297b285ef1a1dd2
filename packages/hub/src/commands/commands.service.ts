// Commands: the whitelist check, the state machine and delivery. Every command and every state
// change is written to the audit log in the same transaction as the change itself, and announced
// on the bus ('command.updated') after it commits.
import {
  COMMAND_ROLES,
  COMMAND_TRANSITIONS,
  type CommandCancel,
  type CommandEnvelope,
  type CommandResponse,
  type CommandState,
  type CommandType,
  DEFAULT_COMMAND_TTL_S,
  FINAL_COMMAND_STATES,
  WattfleetError,
} from '@wattfleet/protocol';
import type { Kysely, Selectable } from 'kysely';
import { audit } from '../audit/audit.ts';
import { type Actor, actorId } from '../auth/actor.ts';
import type { HubContext } from '../context.ts';
import type { DB } from '../storage/schema.ts';
import type { CommandsTable } from './tables.ts';
import './tables.ts';

export type CommandRow = Selectable<CommandsTable>;
export type TransitionSource = 'actor' | 'node' | 'hub';

/** Hands an envelope to the broker; false when no broker connection is up (the command waits). */
export type EnvelopePublisher = (
  nodeId: string,
  envelope: CommandEnvelope | CommandCancel,
) => Promise<boolean>;

/** Running commands get this long past their expiry before the hub gives up on them. */
const RUNNING_GRACE_MS = 3_600_000;

export function mayCommand(actor: Actor, type: CommandType): boolean {
  if (actor.kind === 'token' || actor.kind === 'system') return true;
  if (actor.kind === 'user') return COMMAND_ROLES[type].includes(actor.role);
  return false;
}

export function commandView(row: CommandRow) {
  return {
    id: row.id,
    nodeId: row.node_id,
    siteId: row.site_id,
    type: row.type,
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
      const created = await trx
        .insertInto('commands')
        .values({
          node_id: node.id,
          site_id: node.site_id,
          type: input.type,
          args: JSON.stringify(input.args),
          expires_at: new Date(now + (input.ttlS ?? DEFAULT_COMMAND_TTL_S) * 1000),
          created_by_type: actor.kind,
          created_by_id: actorId(actor),
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      await trx
        .insertInto('command_transitions')
        .values({ command_id: created.id, from_state: null, to_state: 'pending', source: 'actor' })
        .execute();
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

  // Reads take an optional db so routes can run them as the tenant (withTenant's transaction).
  async find(id: string, db: Kysely<DB> = this.db): Promise<CommandRow | undefined> {
    return db.selectFrom('commands').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async history(id: string, db: Kysely<DB> = this.db) {
    const rows = await db
      .selectFrom('command_transitions')
      .select(['from_state', 'to_state', 'at', 'source', 'data'])
      .where('command_id', '=', id)
      .orderBy('id')
      .execute();
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
    let q = db.selectFrom('commands').selectAll().where('node_id', '=', filter.nodeId);
    if (filter.state) q = q.where('state', '=', filter.state);
    if (filter.type) q = q.where('type', '=', filter.type);
    return q.orderBy('created_at', 'desc').orderBy('id').limit(filter.limit).offset(filter.offset).execute();
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
      const current = await trx
        .selectFrom('commands')
        .select(['state', 'node_id'])
        .where('id', '=', id)
        .forUpdate()
        .executeTakeFirst();
      if (!current || !COMMAND_TRANSITIONS[current.state].includes(to)) return undefined;
      const updated = await trx
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
      const data = extra.result || extra.error ? { result: extra.result, error: extra.error } : null;
      await trx
        .insertInto('command_transitions')
        .values({
          command_id: id,
          from_state: current.state,
          to_state: to,
          source,
          data: data ? JSON.stringify(data) : null,
        })
        .execute();
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
    if (sent) {
      await this.db
        .updateTable('commands')
        .set({ published_at: new Date() })
        .where('id', '=', row.id)
        .execute();
    }
    return sent;
  }

  /** A node came (back) online: hand it every pending command that has not expired, oldest first. */
  async deliverPending(nodeId: string): Promise<number> {
    const rows = await this.db
      .selectFrom('commands')
      .selectAll()
      .where('node_id', '=', nodeId)
      .where('state', '=', 'pending')
      .where('expires_at', '>', new Date())
      .orderBy('created_at')
      .execute();
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
    const cutoff = new Date(now - afterMs);
    const rows = await this.db
      .selectFrom('commands')
      .innerJoin('nodes', 'nodes.id', 'commands.node_id')
      .selectAll('commands')
      .where('commands.state', '=', 'pending')
      .where('commands.expires_at', '>', new Date(now))
      .where('nodes.status', '=', 'online')
      .where((eb) =>
        eb.or([eb('commands.published_at', 'is', null), eb('commands.published_at', '<', cutoff)]),
      )
      .where('commands.created_at', '<', cutoff)
      .orderBy('commands.created_at')
      .limit(500)
      .execute();
    let n = 0;
    for (const row of rows) if (await this.publish(row)) n++;
    return n;
  }

  /** Expires commands past their time (running ones after a grace period). */
  async expireDue(now = Date.now()): Promise<number> {
    const due = await this.db
      .selectFrom('commands')
      .select('id')
      .where((eb) =>
        eb.or([
          eb.and([eb('state', 'in', ['pending', 'delivered']), eb('expires_at', '<=', new Date(now))]),
          eb.and([eb('state', '=', 'running'), eb('expires_at', '<=', new Date(now - RUNNING_GRACE_MS))]),
        ]),
      )
      .limit(1000)
      .execute();
    let n = 0;
    for (const { id } of due) {
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
