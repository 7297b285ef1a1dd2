// Command API: send, list, inspect (with state history), cancel; node log uploads for FETCH_LOGS;
// fleet-wide broadcast. Thin: typed by the TypeBox provider from commands.schema.ts (params,
// query, body and every response); access checks and logic are in commands.service.ts.

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { LogUpload } from '@wattfleet/protocol';
import { actorOf } from '../auth/authenticate.ts';
import { errors, NODE_AUTH_ERRORS } from '../http/responses.ts';
import { useNodeSignatures } from '../nodes/node-auth.ts';
import {
  BroadcastAnswer,
  BroadcastBody,
  Command,
  CommandDetail,
  CommandList,
  CommandListQuery,
  CommandParams,
  CreateCommandBody,
  LogsQuery,
  LogUploadAnswer,
  NodeLogs,
  NodeParams,
} from './commands.schema.ts';
import type { BroadcastPublisher, CommandService } from './commands.service.ts';

/** Max bytes of one signed log upload (5000 lines of up to 4000 chars, gzip advised). */
const LOG_UPLOAD_MAX_BYTES = 4 * 1024 * 1024;

const tags = ['commands'];

export interface CommandRouteDeps {
  commands: CommandService;
  /** Publishes on hub/broadcast; false when no broker is connected. */
  broadcast: BroadcastPublisher;
}

export function commandRoutes(deps: CommandRouteDeps): FastifyPluginAsyncTypebox {
  return async (app) => {
    const { commands } = deps;
    const auth = { preHandler: app.requireActor };

    app.post(
      '/nodes/:id/commands',
      {
        ...auth,
        schema: {
          tags,
          params: NodeParams,
          body: CreateCommandBody,
          response: { 201: Command, ...errors('WF_NOT_FOUND', 'WF_COMMAND_NOT_ALLOWED') },
        },
      },
      async (request, reply) => {
        const command = await commands.send(actorOf(request), request.params.id, request.body, request.ip);
        reply.status(201);
        return command;
      },
    );

    app.get(
      '/nodes/:id/commands',
      {
        ...auth,
        schema: {
          tags,
          params: NodeParams,
          querystring: CommandListQuery,
          response: { 200: CommandList, ...errors('WF_NOT_FOUND') },
        },
      },
      async (request) => commands.listForNode(actorOf(request), request.params.id, request.query),
    );

    app.get(
      '/nodes/:id/commands/:cid',
      {
        ...auth,
        schema: { tags, params: CommandParams, response: { 200: CommandDetail, ...errors('WF_NOT_FOUND') } },
      },
      async (request) => commands.getForNode(actorOf(request), request.params.id, request.params.cid),
    );

    app.post(
      '/nodes/:id/commands/:cid/cancel',
      {
        ...auth,
        schema: {
          tags,
          params: CommandParams,
          response: {
            200: CommandDetail,
            ...errors('WF_NOT_FOUND', 'WF_COMMAND_NOT_ALLOWED', 'WF_COMMAND_FINAL', 'WF_CONFLICT'),
          },
        },
      },
      async (request) =>
        commands.cancelForNode(actorOf(request), request.params.id, request.params.cid, request.ip),
    );

    app.get(
      '/nodes/:id/logs',
      {
        ...auth,
        schema: {
          tags,
          params: NodeParams,
          querystring: LogsQuery,
          response: { 200: NodeLogs, ...errors('WF_NOT_FOUND') },
        },
      },
      async (request) => commands.logs(actorOf(request), request.params.id, request.query.commandId),
    );

    // Signed by the node: its log chunks (for FETCH_LOGS). A resent chunk changes nothing.
    const signedRoutes: FastifyPluginAsyncTypebox = async (signed) => {
      useNodeSignatures(signed, LOG_UPLOAD_MAX_BYTES);
      signed.post(
        '/nodes/:id/logs',
        {
          schema: {
            tags,
            params: NodeParams,
            body: LogUpload,
            response: {
              200: LogUploadAnswer,
              ...errors(...NODE_AUTH_ERRORS, 'WF_FORBIDDEN', 'WF_NOT_FOUND'),
            },
          },
        },
        async (request) => commands.storeLogChunk(actorOf(request), request.params.id, request.body),
      );
    };
    await app.register(signedRoutes);

    app.post(
      '/broadcast',
      {
        ...auth,
        schema: {
          tags,
          body: BroadcastBody,
          response: { 202: BroadcastAnswer, ...errors('WF_FORBIDDEN', 'WF_UNAVAILABLE') },
        },
      },
      async (request, reply) => {
        const answer = await commands.broadcast(actorOf(request), request.body, deps.broadcast, request.ip);
        reply.status(202);
        return answer;
      },
    );
  };
}
