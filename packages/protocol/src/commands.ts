// Commands: the whitelist of what the hub may ask a node to do, each with its own argument
// schema and the roles that may send it. There is no arbitrary shell, by design.
import Type, { type Static, type TSchema } from 'typebox';
import { AutomationBundle } from './automation.ts';
import { DeviceData, DeviceText } from './device-input.ts';
import { ChannelName } from './equipment.ts';
import { EquipmentKey } from './messages.ts';

/**
 * `admin` is fleet-wide and only ever held in an operator org; `org_admin` manages the users and
 * sites of its own org (a household's or an installer company's administrator) and nothing more.
 */
export type Role = 'admin' | 'org_admin' | 'installer' | 'owner' | 'viewer';
export const ROLES: readonly Role[] = ['admin', 'org_admin', 'installer', 'owner', 'viewer'];

export const CommandArgs = {
  RESTART: Type.Object(
    { reason: Type.Optional(Type.String({ maxLength: 200 })) },
    { additionalProperties: false },
  ),
  FETCH_LOGS: Type.Object(
    { lines: Type.Optional(Type.Integer({ minimum: 1, maximum: 5000, default: 500 })) },
    { additionalProperties: false },
  ),
  CONFIG_PUSH: Type.Object(
    {
      /** The whole agent configuration as YAML; validated by the agent's schema before it is applied. */
      config: Type.String({ minLength: 1, maxLength: 262144 }),
      healthTimeoutS: Type.Optional(Type.Integer({ minimum: 5, maximum: 600 })),
    },
    { additionalProperties: false },
  ),
  SELF_UPDATE: Type.Object(
    {
      /** A git tag; no leading dash so it can never be read as an option. */
      tag: Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._/-]{0,99}$' }),
    },
    { additionalProperties: false },
  ),
  OPEN_TUNNEL: Type.Object(
    {
      remotePort: Type.Integer({ minimum: 1024, maximum: 65535 }),
      durationS: Type.Optional(Type.Integer({ minimum: 60, maximum: 900 })),
    },
    { additionalProperties: false },
  ),
  RELAY_SET: Type.Object(
    {
      equipment: EquipmentKey,
      /** One channel of a multi-channel device (a relay board's coil); absent = the device itself. */
      channel: Type.Optional(ChannelName),
      state: Type.Union([Type.Literal('on'), Type.Literal('off'), Type.Literal('toggle')]),
    },
    { additionalProperties: false },
  ),
  DIAGNOSTICS: Type.Object({}, { additionalProperties: false }),
  /**
   * The node's automation bundle (issue 13.7): stored with a backup of the previous one, loaded,
   * health-checked, and rolled back to the previous bundle when it fails, as CONFIG_PUSH does.
   */
  AUTOMATION_PUSH: Type.Object(
    { bundle: AutomationBundle, healthTimeoutS: Type.Optional(Type.Integer({ minimum: 1, maximum: 600 })) },
    { additionalProperties: false },
  ),
} as const satisfies Record<string, TSchema>;

export type CommandType = keyof typeof CommandArgs;
export const COMMAND_TYPES = Object.keys(CommandArgs) as CommandType[];
export type CommandArgsOf<T extends CommandType> = Static<(typeof CommandArgs)[T]>;

/**
 * Who may send what. Admins operate the fleet; installers service sites; owners (and their org's
 * administrators) switch their relays.
 */
export const COMMAND_ROLES: Record<CommandType, readonly Role[]> = {
  RESTART: ['admin', 'installer'],
  FETCH_LOGS: ['admin', 'installer'],
  CONFIG_PUSH: ['admin', 'installer'],
  SELF_UPDATE: ['admin'],
  OPEN_TUNNEL: ['admin', 'installer'],
  RELAY_SET: ['admin', 'org_admin', 'installer', 'owner'],
  DIAGNOSTICS: ['admin', 'installer'],
  // The hub compiles and sends bundles itself (system actor) when a node's automation changes; by
  // hand only an administrator, since a bundle switches loads.
  AUTOMATION_PUSH: ['admin'],
};

/** Default time a command may wait for an offline node before it expires. */
export const DEFAULT_COMMAND_TTL_S = 24 * 3600;

export const COMMAND_STATES = [
  'pending',
  'delivered',
  'running',
  'succeeded',
  'failed',
  'expired',
  'cancelled',
] as const;
export type CommandState = (typeof COMMAND_STATES)[number];
export const FINAL_COMMAND_STATES: readonly CommandState[] = ['succeeded', 'failed', 'expired', 'cancelled'];

/** States a node may report, and which states each may follow (a late or repeated reply is ignored). */
export const NODE_REPORTED_STATES = ['delivered', 'running', 'succeeded', 'failed'] as const;
export const COMMAND_TRANSITIONS: Record<CommandState, readonly CommandState[]> = {
  pending: ['delivered', 'running', 'succeeded', 'failed', 'expired', 'cancelled'],
  delivered: ['running', 'succeeded', 'failed', 'expired', 'cancelled'],
  running: ['succeeded', 'failed', 'expired'],
  succeeded: [],
  failed: [],
  expired: [],
  cancelled: [],
};

const CommandTypeSchema = Type.Enum(COMMAND_TYPES);

/** Hub → node on nodes/{id}/commands (QoS 1). */
export const CommandEnvelope = Type.Object(
  {
    id: Type.String({ format: 'uuid' }),
    type: CommandTypeSchema,
    args: Type.Record(Type.String(), Type.Unknown()),
    issuedAt: Type.Integer({ minimum: 0 }),
    expiresAt: Type.Integer({ minimum: 0 }),
  },
  { additionalProperties: false },
);
export type CommandEnvelope = Static<typeof CommandEnvelope>;

/**
 * Hub → node on nodes/{id}/commands (QoS 1) when a command the node may already hold is
 * cancelled: the node must not start it (a command already running is not taken back).
 */
export const CommandCancel = Type.Object(
  {
    id: Type.String({ format: 'uuid' }),
    cancel: Type.Literal(true),
    cancelledAt: Type.Integer({ minimum: 0 }),
  },
  { additionalProperties: false },
);
export type CommandCancel = Static<typeof CommandCancel>;

/** Node → hub on nodes/{id}/responses: one envelope for every state change. */
export const CommandResponse = Type.Object(
  {
    id: Type.String({ format: 'uuid' }),
    state: Type.Enum([...NODE_REPORTED_STATES]),
    ts: Type.Integer({ minimum: 0 }),
    data: Type.Optional(DeviceData()),
    error: Type.Optional(
      Type.Object(
        { code: DeviceText({ maxLength: 64 }), message: DeviceText({ maxLength: 2000 }) },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);
export type CommandResponse = Static<typeof CommandResponse>;
