// Wire schemas of the audit trail API: the filter and the page it answers with.
import { SafeInteger } from '@wattfleet/protocol';
import Type, { type Static } from 'typebox';

export const AuditQuery = Type.Object(
  {
    actor: Type.Optional(Type.String({ maxLength: 200 })),
    actorType: Type.Optional(Type.String({ maxLength: 20 })),
    action: Type.Optional(Type.String({ maxLength: 200, description: 'Exact, or a prefix with ".*"' })),
    targetType: Type.Optional(Type.String({ maxLength: 50 })),
    target: Type.Optional(Type.String({ maxLength: 200 })),
    result: Type.Optional(Type.Union([Type.Literal('ok'), Type.Literal('denied'), Type.Literal('failed')])),
    from: Type.Optional(Type.String({ format: 'date-time' })),
    to: Type.Optional(Type.String({ format: 'date-time' })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })),
    cursor: Type.Optional(SafeInteger({ minimum: 1 })),
  },
  { additionalProperties: false },
);
export type AuditQuery = Static<typeof AuditQuery>;

const NullableString = Type.Union([Type.String(), Type.Null()]);

export const AuditItem = Type.Object({
  id: Type.Integer(),
  at: Type.String({ format: 'date-time' }),
  actorType: Type.Union([
    Type.Literal('user'),
    Type.Literal('node'),
    Type.Literal('system'),
    Type.Literal('token'),
    Type.Literal('anonymous'),
  ]),
  actorId: NullableString,
  orgId: NullableString,
  action: Type.String(),
  targetType: NullableString,
  targetId: NullableString,
  result: Type.Union([Type.Literal('ok'), Type.Literal('denied'), Type.Literal('failed')]),
  sourceIp: NullableString,
  details: Type.Unknown({ description: 'What the action recorded (an object), or null' }),
});

export const AuditPage = Type.Object({
  items: Type.Array(AuditItem),
  nextCursor: Type.Union([Type.Integer(), Type.Null()], {
    description: 'Pass as `cursor` for the next (older) page; null on the last page',
  }),
});
