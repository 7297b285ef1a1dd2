// Wire schemas of the notification-channel API: params, body and every response, used by the
// TypeBox type provider (the routes' types come from here) and by the OpenAPI document. Channels
// answer as their database rows (snake_case), like sites and alerts.
import Type, { type Static } from 'typebox';
import { SeverityName } from '../alerts/alerts.schema.ts';

const Uuid = Type.String({ format: 'uuid' });
const Stamp = Type.String({ format: 'date-time' });

export const ChannelKindName = Type.Union([
  Type.Literal('webhook'),
  Type.Literal('slack'),
  Type.Literal('email'),
]);

export const OrgParams = Type.Object({ org: Uuid });
export const ChannelParams = Type.Object({ org: Uuid, id: Uuid });

export const ChannelBody = Type.Object(
  {
    kind: ChannelKindName,
    target: Type.String({
      minLength: 3,
      maxLength: 2000,
      description: 'An email address, or a public http(s) URL for webhook and slack',
    }),
    minSeverity: Type.Optional(SeverityName),
    throttleS: Type.Optional(Type.Integer({ minimum: 0, maximum: 86_400 })),
  },
  { additionalProperties: false },
);
export type ChannelBody = Static<typeof ChannelBody>;

export const Channel = Type.Object({
  id: Uuid,
  org_id: Uuid,
  kind: ChannelKindName,
  target: Type.String(),
  min_severity: SeverityName,
  throttle_s: Type.Integer({ description: 'One message per alert key and channel within this many seconds' }),
  enabled: Type.Boolean({ description: 'false once deleted: kept so its outbox history stays' }),
  created_at: Stamp,
});
export type Channel = Static<typeof Channel>;

export const ChannelList = Type.Array(Channel);
