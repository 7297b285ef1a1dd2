// Command API: send, list, inspect (with state history), cancel; node log uploads for FETCH_LOGS;
// fleet-wide broadcast. Who may send what: the node's site must be writable for the caller and
// the caller's role must be listed for the type in COMMAND_ROLES.
import {
  BROADCAST_TOPIC,
  type Broadcast,
  COMMAND_STATES,
  COMMAND_TYPES,
  CommandArgs,
  type CommandType,
  checker,
  Int4,
  LogUpload,
  WattfleetError,
} from '@wattfleet/protocol';
import type { FastifyInstance } from 'fastify';
import Type from 'typebox';
import { audit } from '../audit/audit.ts';
import { assertNodeAccess } from '../auth/access.ts';
import { isFleetAdmin } from '../auth/actor.ts';
import { actorOf } from '../auth/authenticate.ts';
import { withTenant } from '../identity/tenant.ts';
import { useNodeSignatures } from '../nodes/node-auth.ts';
import { type CommandService, commandView } from './commands.service.ts';

const argCheckers = Object.fromEntries(
  COMMAND_TYPES.map((t) => [t, checker(CommandArgs[t])]),
) as unknown as Record<
  CommandType,
  { problems: (value: unknown, basePath?: string) => { path: string; message: string }[] }
>;

const NodeParams = Type.Object({ id: Type.String({ format: 'uuid' }) });
const CommandParams = Type.Object({
  id: Type.String({ format: 'uuid' }),
  cid: Type.String({ format: 'uuid' }),
});
const CreateBody = Type.Object(
  {
    type: Type.Union(COMMAND_TYPES.map((t) => Type.Literal(t))),
    args: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    /** How long the command may wait for an offline node (default 24 h). */
    ttlS: Type.Optional(Type.Integer({ minimum: 5, maximum: 30 * 24 * 3600 })),
  },
  { additionalProperties: false },
);
const ListQuery = Type.Object(
  {
    state: Type.Optional(Type.Union(COMMAND_STATES.map((s) => Type.Literal(s)))),
    type: Type.Optional(Type.Union(COMMAND_TYPES.map((t) => Type.Literal(t)))),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
    offset: Type.Optional(Int4({ minimum: 0, default: 0 })),
  },
  { additionalProperties: false },
);
const LogsQuery = Type.Object(
  { commandId: Type.Optional(Type.String({ format: 'uuid' })) },
  { additionalProperties: false },
);
const BroadcastBody = Type.Object(
  {
    kind: Type.String({ minLength: 1, maxLength: 64 }),
    message: Type.String({ minLength: 1, maxLength: 2000 }),
  },
  { additionalProperties: false },
);

/** Max bytes of one signed log upload (5000 lines of up to 4000 chars, gzip advised). */
const LOG_UPLOAD_MAX_BYTES = 4 * 1024 * 1024;

export interface CommandRouteDeps {
  commands: CommandService;
  /** Publishes on hub/broadcast; false when no broker is connected. */
  broadcast: (payload: Broadcast) => Promise<boolean>;
}

export function commandRoutes(deps: CommandRouteDeps) {
  return async (app: FastifyInstance): Promise<void> => {
    const hub = app.hub;
    const { commands } = deps;

    app.post(
      '/nodes/:id/commands',
      { schema: { tags: ['commands'], params: NodeParams, body: CreateBody }, preHandler: app.requireActor },
      async (request, reply) => {
        const actor = actorOf(request);
        const { id } = request.params as { id: string };
        const body = request.body as { type: CommandType; args?: Record<string, unknown>; ttlS?: number };
        const args = body.args ?? {};
        const problems = argCheckers[body.type].problems(args, '/body/args');
        if (problems.length)
          throw new WattfleetError('WF_VALIDATION', `Invalid arguments for ${body.type}`, problems);
        const node = await assertNodeAccess(hub, actor, id, 'write');
        const row = await commands.create(
          actor,
          node,
          { type: body.type, args, ttlS: body.ttlS },
          request.ip,
        );
        reply.status(201);
        return commandView(row);
      },
    );

    app.get(
      '/nodes/:id/commands',
      {
        schema: { tags: ['commands'], params: NodeParams, querystring: ListQuery },
        preHandler: app.requireActor,
      },
      async (request) => {
        const { id } = request.params as { id: string };
        const actor = actorOf(request);
        await assertNodeAccess(hub, actor, id);
        const q = request.query as { state?: never; type?: string; limit?: number; offset?: number };
        const limit = q.limit ?? 50;
        const offset = q.offset ?? 0;
        // Checked in code above, and again by row-level security: the query runs as the tenant.
        const rows = await withTenant(hub, actor, (trx) =>
          commands.list({ nodeId: id, state: q.state, type: q.type, limit: limit + 1, offset }, trx),
        );
        return {
          items: rows.slice(0, limit).map(commandView),
          nextOffset: rows.length > limit ? offset + limit : null,
        };
      },
    );

    const loadCommand = async (
      request: { params: unknown },
      mode: 'read' | 'write',
      actor = actorOf(request as never),
    ) => {
      const { id, cid } = request.params as { id: string; cid: string };
      await assertNodeAccess(hub, actor, id, mode);
      const row = await commands.find(cid);
      if (!row || row.node_id !== id) throw new WattfleetError('WF_NOT_FOUND', 'Command not found');
      return row;
    };

    app.get(
      '/nodes/:id/commands/:cid',
      { schema: { tags: ['commands'], params: CommandParams }, preHandler: app.requireActor },
      async (request) => {
        const actor = actorOf(request);
        const { id, cid } = request.params as { id: string; cid: string };
        await assertNodeAccess(hub, actor, id);
        // Row and history are read as the tenant, so row-level security hides foreign commands too.
        const found = await withTenant(hub, actor, async (trx) => {
          const row = await commands.find(cid, trx);
          if (!row || row.node_id !== id) return undefined;
          return { row, history: await commands.history(row.id, trx) };
        });
        if (!found) throw new WattfleetError('WF_NOT_FOUND', 'Command not found');
        return { ...commandView(found.row), history: found.history };
      },
    );

    app.post(
      '/nodes/:id/commands/:cid/cancel',
      { schema: { tags: ['commands'], params: CommandParams }, preHandler: app.requireActor },
      async (request) => {
        const actor = actorOf(request);
        const row = await loadCommand(request, 'write', actor);
        const updated = await commands.cancel(actor, row, request.ip);
        return { ...commandView(updated), history: await commands.history(row.id) };
      },
    );

    app.get(
      '/nodes/:id/logs',
      {
        schema: { tags: ['commands'], params: NodeParams, querystring: LogsQuery },
        preHandler: app.requireActor,
      },
      async (request) => {
        const { id } = request.params as { id: string };
        const actor = actorOf(request);
        await assertNodeAccess(hub, actor, id);
        const { commandId } = request.query as { commandId?: string };
        const rows = await withTenant(hub, actor, (trx) =>
          trx
            .selectFrom('node_log_chunks')
            .select(['upload_key', 'command_id', 'chunk', 'final', 'lines', 'received_at'])
            .where('node_id', '=', id)
            .where('upload_key', '=', commandId ?? 'adhoc')
            .orderBy('chunk')
            .execute(),
        );
        const last = rows.at(-1);
        return {
          commandId: commandId ?? null,
          complete: !!last?.final && last.chunk === rows.length - 1,
          chunks: rows.map((r) => ({
            chunk: r.chunk,
            final: r.final,
            receivedAt: r.received_at.toISOString(),
          })),
          lines: rows.flatMap((r) => r.lines),
        };
      },
    );

    // Signed by the node: its log chunks (for FETCH_LOGS). A resent chunk changes nothing.
    await app.register(async (signed) => {
      useNodeSignatures(signed, LOG_UPLOAD_MAX_BYTES);
      signed.post(
        '/nodes/:id/logs',
        { schema: { tags: ['commands'], params: NodeParams, body: LogUpload } },
        async (request) => {
          const actor = actorOf(request);
          const { id } = request.params as { id: string };
          if (actor.kind !== 'node' || actor.nodeId !== id) {
            throw new WattfleetError('WF_FORBIDDEN', 'A node uploads only its own logs');
          }
          const body = request.body as LogUpload;
          if (body.commandId) {
            const row = await commands.find(body.commandId);
            if (!row || row.node_id !== id) throw new WattfleetError('WF_NOT_FOUND', 'Command not found');
          }
          const inserted = await hub.db
            .insertInto('node_log_chunks')
            .values({
              node_id: id,
              upload_key: body.commandId ?? 'adhoc',
              command_id: body.commandId ?? null,
              chunk: body.chunk,
              final: body.final,
              lines: JSON.stringify(body.lines),
            })
            .onConflict((oc) => oc.columns(['node_id', 'upload_key', 'chunk']).doNothing())
            .returning('chunk')
            .executeTakeFirst();
          return { status: inserted ? 'stored' : 'duplicate', chunk: body.chunk, lines: body.lines.length };
        },
      );
    });

    app.post(
      '/broadcast',
      { schema: { tags: ['commands'], body: BroadcastBody }, preHandler: app.requireActor },
      async (request, reply) => {
        const actor = actorOf(request);
        if (!isFleetAdmin(actor)) throw new WattfleetError('WF_FORBIDDEN', 'Only fleet admins broadcast');
        const body = request.body as { kind: string; message: string };
        const payload: Broadcast = { ts: Date.now(), kind: body.kind, message: body.message };
        const sent = await deps.broadcast(payload);
        await audit(hub.db, actor, {
          action: 'broadcast',
          targetType: 'topic',
          targetId: BROADCAST_TOPIC,
          result: sent ? 'ok' : 'failed',
          sourceIp: request.ip,
          details: payload,
        });
        if (!sent) throw new WattfleetError('WF_UNAVAILABLE', 'No broker connection');
        reply.status(202);
        return { sent: true, ...payload };
      },
    );
  };
}
