// Switchable equipment as data: the channels a node can switch, as the agent registers them with
// the hub (a `channels.inventory` event carrying a ChannelInventory), and the state a channel is
// in. One schema for both sides, so the agent cannot send what the hub does not understand.
import Type, { type Static } from 'typebox';
import { DeviceText } from './device-input.ts';
import { EquipmentKey } from './messages.ts';

/** Name of one channel of a multi-channel device (a relay board's coil); '' = the device itself. */
export const ChannelName = Type.String({ pattern: '^([A-Za-z0-9_-]{1,32})?$' });

export const RelayStateSchema = Type.Union([Type.Literal('on'), Type.Literal('off')]);
export type SwitchState = Static<typeof RelayStateSchema>;

export const EQUIPMENT_KIND_NAMES = [
  'inverter',
  'meter',
  'ct',
  'battery',
  'relay',
  'plug',
  'sensor',
  'ev_charger',
] as const;

/** What the agent can do with a channel. */
export const ChannelCapabilities = Type.Object(
  {
    /** The channel can be switched on and off (RELAY_SET). */
    switch: Type.Boolean(),
    /** The device reports its state back, so a switch can be confirmed (not just sent). */
    readBack: Type.Boolean(),
  },
  { additionalProperties: false },
);
export type ChannelCapabilities = Static<typeof ChannelCapabilities>;

export const InventoryChannel = Type.Object(
  {
    equipment: EquipmentKey,
    channel: ChannelName,
    kind: Type.Enum([...EQUIPMENT_KIND_NAMES]),
    label: Type.Optional(DeviceText({ maxLength: 100 })),
    vendor: Type.Optional(DeviceText({ maxLength: 64 })),
    model: Type.Optional(DeviceText({ maxLength: 64 })),
    capabilities: ChannelCapabilities,
    /** The state read from the device when the inventory was taken, when it answered. */
    state: Type.Optional(RelayStateSchema),
  },
  { additionalProperties: false },
);
export type InventoryChannel = Static<typeof InventoryChannel>;

/** data of the `equipment.channels` event: every switchable channel the node has now. */
export const ChannelInventory = Type.Object(
  { channels: Type.Array(InventoryChannel, { maxItems: 256 }) },
  { additionalProperties: false },
);
export type ChannelInventory = Static<typeof ChannelInventory>;

export const CHANNEL_INVENTORY_EVENT = 'channels.inventory';

/** What a RELAY_SET answers with (command result data), whether it succeeded or not. */
export const RelaySetResult = Type.Object(
  {
    equipment: EquipmentKey,
    channel: Type.Optional(ChannelName),
    state: RelayStateSchema,
  },
  { additionalProperties: false },
);
export type RelaySetResult = Static<typeof RelaySetResult>;
