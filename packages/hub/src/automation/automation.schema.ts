// Wire schemas of manual control: channels as the portal sees them, switch requests (one channel
// or a confirmed bulk action), and the org setting that lets owners switch. The agent → hub
// inventory and RELAY_SET's result are protocol schemas (@wattfleet/protocol equipment.ts).
import { ChannelCapabilities, RelayStateSchema } from '@wattfleet/protocol';
import Type, { type Static } from 'typebox';

export const SiteParams = Type.Object({ siteId: Type.String({ format: 'uuid' }) });
export const ChannelParams = Type.Object({ id: Type.String({ format: 'uuid' }) });
export const OrgParams = Type.Object({ orgId: Type.String({ format: 'uuid' }) });

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);
const Iso = Type.String({ format: 'date-time' });

export const ChannelStatus = Type.Union(
  [Type.Literal('unknown'), Type.Literal('pending'), Type.Literal('confirmed'), Type.Literal('failed')],
  {
    description:
      'unknown: never switched from here; pending: sent, not yet read back; confirmed: the device reports the desired state; failed: it did not (see failureReason)',
  },
);

export const ChannelLimits = Type.Object(
  {
    minOnS: Type.Integer({
      minimum: 0,
      maximum: 86_400,
      description: 'Once on, stays on at least this long (0 = no limit)',
    }),
    minOffS: Type.Integer({
      minimum: 0,
      maximum: 86_400,
      description: 'Once off, stays off at least this long (0 = no limit)',
    }),
    maxSwitchesPerHour: Nullable(
      Type.Integer({ minimum: 1, maximum: 3600, description: 'State changes in any hour (null = no limit)' }),
    ),
  },
  {
    additionalProperties: false,
    description:
      'Switching safety limits, enforced whatever asks for the switch (manual, schedule, scene, rule); a refused switch answers WF_CONFLICT with allowedAt',
  },
);
export type ChannelLimits = Static<typeof ChannelLimits>;

export const Channel = Type.Object({
  id: Type.String({ format: 'uuid' }),
  siteId: Type.String({ format: 'uuid' }),
  nodeId: Type.String({ format: 'uuid' }),
  nodeName: Type.String(),
  equipment: Type.String({ description: "The equipment's key on its node" }),
  channel: Type.String({ description: "Channel of a multi-channel device; '' = the device itself" }),
  label: Nullable(Type.String()),
  kind: Type.String(),
  vendor: Nullable(Type.String()),
  model: Nullable(Type.String()),
  capabilities: ChannelCapabilities,
  present: Type.Boolean({ description: "In the node's latest inventory" }),
  desiredState: Nullable(RelayStateSchema),
  desiredAt: Nullable(Iso),
  desiredBy: Nullable(Type.String()),
  reportedState: Nullable(RelayStateSchema),
  reportedAt: Nullable(Iso),
  status: ChannelStatus,
  failureReason: Nullable(Type.String()),
  commandId: Nullable(Type.String({ format: 'uuid' })),
  limits: ChannelLimits,
  updatedAt: Iso,
});
export type Channel = Static<typeof Channel>;

export const ControlPermission = Type.Object({
  canSwitch: Type.Boolean(),
  /** Why not, when canSwitch is false. */
  reason: Type.Optional(Type.String()),
});
export type ControlPermission = Static<typeof ControlPermission>;

export const ChannelList = Type.Object({ items: Type.Array(Channel), control: ControlPermission });
export type ChannelList = Static<typeof ChannelList>;

export const SwitchBody = Type.Object({ state: RelayStateSchema }, { additionalProperties: false });
export type SwitchBody = Static<typeof SwitchBody>;

export const BulkSwitchBody = Type.Object(
  {
    state: RelayStateSchema,
    channelIds: Type.Array(Type.String({ format: 'uuid' }), { minItems: 1, maxItems: 64, uniqueItems: true }),
    /** A bulk action switches several loads at once: the caller confirms it explicitly. */
    confirm: Type.Literal(true),
  },
  { additionalProperties: false },
);
export type BulkSwitchBody = Static<typeof BulkSwitchBody>;

export const BulkResult = Type.Object({
  results: Type.Array(
    Type.Object({
      channelId: Type.String({ format: 'uuid' }),
      ok: Type.Boolean(),
      channel: Type.Optional(Channel),
      error: Type.Optional(Type.Object({ code: Type.String(), message: Type.String() })),
    }),
  ),
});
export type BulkResult = Static<typeof BulkResult>;

export const ControlSettings = Type.Object({
  orgId: Type.String({ format: 'uuid' }),
  ownerControl: Type.Boolean({ description: "Owners of the org's sites may switch their equipment" }),
});
export type ControlSettings = Static<typeof ControlSettings>;

export const ControlSettingsBody = Type.Object(
  { ownerControl: Type.Boolean() },
  { additionalProperties: false },
);

export const AutomationSettings = Type.Object({
  siteId: Type.String({ format: 'uuid' }),
  paused: Type.Boolean({
    description:
      'While paused, schedules, scenes and rules switch nothing on the site; manual switches still work',
  }),
  changedBy: Nullable(Type.String()),
  reason: Nullable(Type.String()),
  updatedAt: Nullable(Iso),
});
export type AutomationSettings = Static<typeof AutomationSettings>;

export const AutomationSettingsBody = Type.Object(
  { paused: Type.Boolean(), reason: Type.Optional(Type.String({ maxLength: 500 })) },
  { additionalProperties: false },
);
export type AutomationSettingsBody = Static<typeof AutomationSettingsBody>;
