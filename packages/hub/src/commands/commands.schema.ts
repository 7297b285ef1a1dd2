// Wire schemas of the command API: params, queries, bodies and every response, used by the
// TypeBox type provider (the routes' types come from here) and by the OpenAPI document. The
// command envelope, cancel notice, node response and log upload are protocol schemas.
import {
  COMMAND_STATES,
  COMMAND_TYPES,
  type CommandState,
  type CommandType,
  Int4,
} from '@wattfleet/protocol';
import Type, { type Static, type TSchema } from 'typebox';

const Uuid = Type.String({ format: 'uuid' });
const Stamp = Type.String({ format: 'date-time' });
const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);
const Json = Type.Record(Type.String(), Type.Unknown());

// A union of literals (the wire schema the API has always had); its static type is spelled out
// because a union built with .map() does not narrow.
export const CommandTypeName = Type.Unsafe<CommandType>(
  Type.Union(COMMAND_TYPES.map((t) => Type.Literal(t))),
);
export const CommandStateName = Type.Unsafe<CommandState>(
  Type.Union(COMMAND_STATES.map((s) => Type.Literal(s))),
);

export const NodeParams = Type.Object({ id: Uuid });
export const CommandParams = Type.Object({ id: Uuid, cid: Uuid });

export const CreateCommandBody = Type.Object(
  {
    type: CommandTypeName,
    args: Type.Optional(
      Type.Record(Type.String(), Type.Unknown(), {
        description: "Checked against the type's argument schema (protocol CommandArgs)",
      }),
    ),
    ttlS: Type.Optional(
      Type.Integer({
        minimum: 5,
        maximum: 30 * 24 * 3600,
        description: 'How long the command may wait for an offline node (default 24 h)',
      }),
    ),
  },
  { additionalProperties: false },
);
export type CreateCommandBody = Static<typeof CreateCommandBody>;

export const CommandListQuery = Type.Object(
  {
    state: Type.Optional(CommandStateName),
    type: Type.Optional(CommandTypeName),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
    offset: Type.Optional(Int4({ minimum: 0, default: 0 })),
  },
  { additionalProperties: false },
);
export type CommandListQuery = Static<typeof CommandListQuery>;

export const LogsQuery = Type.Object(
  {
    commandId: Type.Optional(
      Type.String({ format: 'uuid', description: 'The FETCH_LOGS command; without it, ad-hoc uploads' }),
    ),
  },
  { additionalProperties: false },
);

export const BroadcastBody = Type.Object(
  {
    kind: Type.String({ minLength: 1, maxLength: 64 }),
    message: Type.String({ minLength: 1, maxLength: 2000 }),
  },
  { additionalProperties: false },
);
export type BroadcastBody = Static<typeof BroadcastBody>;

export const CommandError = Type.Object({ code: Type.String(), message: Type.String() });

export const Command = Type.Object({
  id: Uuid,
  nodeId: Uuid,
  siteId: Uuid,
  type: CommandTypeName,
  args: Json,
  state: CommandStateName,
  createdAt: Stamp,
  updatedAt: Stamp,
  expiresAt: Stamp,
  publishedAt: Nullable(
    Type.String({ format: 'date-time', description: 'Last time the envelope went to the broker' }),
  ),
  createdBy: Type.Object({
    type: Type.String({ description: 'user, token, system' }),
    id: Nullable(Type.String()),
  }),
  result: Nullable(Type.Record(Type.String(), Type.Unknown(), { description: 'What the node reported' })),
  error: Nullable(CommandError),
});
export type Command = Static<typeof Command>;

export const CommandTransition = Type.Object({
  from: Nullable(Type.String()),
  to: Type.String(),
  at: Stamp,
  source: Type.Union([Type.Literal('actor'), Type.Literal('node'), Type.Literal('hub')]),
  data: Nullable(Json),
});
export type CommandTransition = Static<typeof CommandTransition>;

export const CommandDetail = Type.Object({
  ...Command.properties,
  history: Type.Array(CommandTransition),
});
export type CommandDetail = Static<typeof CommandDetail>;

export const CommandList = Type.Object({
  items: Type.Array(Command),
  nextOffset: Nullable(Type.Integer({ description: 'Offset of the next page; null on the last one' })),
});
export type CommandList = Static<typeof CommandList>;

export const NodeLogs = Type.Object({
  commandId: Nullable(Uuid),
  complete: Type.Boolean({ description: 'The final chunk and every chunk before it arrived' }),
  chunks: Type.Array(Type.Object({ chunk: Type.Integer(), final: Type.Boolean(), receivedAt: Stamp })),
  lines: Type.Array(Type.String()),
});
export type NodeLogs = Static<typeof NodeLogs>;

export const LogUploadAnswer = Type.Object({
  status: Type.Union([Type.Literal('stored'), Type.Literal('duplicate')], {
    description: 'duplicate: this chunk was stored before, nothing changed',
  }),
  chunk: Type.Integer(),
  lines: Type.Integer(),
});
export type LogUploadAnswer = Static<typeof LogUploadAnswer>;

export const BroadcastAnswer = Type.Object({
  sent: Type.Literal(true),
  ts: Type.Integer(),
  kind: Type.String(),
  message: Type.String(),
});
export type BroadcastAnswer = Static<typeof BroadcastAnswer>;
