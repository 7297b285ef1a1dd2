// Switchable equipment as data: the channels a node can switch, as the agent registers them with
// the hub (a `channels.inventory` event carrying a ChannelInventory), and the state a channel is
// in. One schema for both sides, so the agent cannot send what the hub does not understand.
import Type, { type Static } from 'typebox';
import { DeviceText } from './device-input.ts';
import { EquipmentKey, MetricName } from './messages.ts';

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
    /**
     * The node runs this channel's schedules itself from an automation bundle (AUTOMATION_PUSH,
     * issue 13.7), hub or no hub. Absent (older agents, plug firmware): the hub runs them.
     */
    edgeAutomation: Type.Optional(Type.Boolean()),
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

/** A source type as the agent's config names it (`modbus-tcp`, `opcua`, `mqtt-device`, …). */
export const SourceTypeName = Type.String({ pattern: '^[a-z][a-z0-9-]{0,31}$' });

/**
 * One piece of equipment a node reads, as the agent registers it (ISA-95's equipment level):
 * what it is, its identity as far as the device or the installer told it, the metrics it has
 * delivered and its switchable channels. Where it stands on the site (area, line) is set on the
 * hub, not here.
 */
export const InventoryEquipment = Type.Object(
  {
    key: EquipmentKey,
    kind: Type.Enum([...EQUIPMENT_KIND_NAMES]),
    source: SourceTypeName,
    label: Type.Optional(DeviceText({ maxLength: 100 })),
    vendor: Type.Optional(DeviceText({ maxLength: 64 })),
    model: Type.Optional(DeviceText({ maxLength: 64 })),
    serial: Type.Optional(DeviceText({ maxLength: 64 })),
    firmware: Type.Optional(DeviceText({ maxLength: 64 })),
    /** Metrics the equipment has delivered since the agent started (empty before its first read). */
    metrics: Type.Array(MetricName, { maxItems: 256 }),
    /** Its switchable channels ('' = the device itself); empty when it cannot be switched. */
    channels: Type.Array(ChannelName, { maxItems: 64 }),
    /** The last read answered (absent: not read yet). */
    reachable: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type InventoryEquipment = Static<typeof InventoryEquipment>;

/** data of the `equipment.inventory` event: every configured equipment of the node now. */
export const EquipmentInventory = Type.Object(
  { equipment: Type.Array(InventoryEquipment, { maxItems: 256 }) },
  { additionalProperties: false },
);
export type EquipmentInventory = Static<typeof EquipmentInventory>;
