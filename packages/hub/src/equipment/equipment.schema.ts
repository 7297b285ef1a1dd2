// Wire schemas of the equipment registry and asset hierarchy API (ISA-95: org, site, area, line,
// equipment): the TypeBox type provider types the routes from them, the OpenAPI document shows
// them, the portal reads them (packages/web/src/api/equipment-registry.ts).
import Type, { type Static } from 'typebox';

const Id = Type.String({ format: 'uuid' });
export const SiteIdParams = Type.Object({ siteId: Id });
export const IdParams = Type.Object({ id: Id });

/**
 * answering: a reading within three poll intervals; silent: it has answered before, not lately;
 * unreachable: the node reports that it does not answer; waiting: registered, nothing read yet;
 * absent: the node's config no longer has it (its history stays).
 */
export const EquipmentState = Type.Union([
  Type.Literal('answering'),
  Type.Literal('silent'),
  Type.Literal('unreachable'),
  Type.Literal('waiting'),
  Type.Literal('absent'),
]);
export type EquipmentState = Static<typeof EquipmentState>;

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);

export const EquipmentItem = Type.Object({
  id: Id,
  nodeId: Id,
  nodeName: Type.String(),
  key: Type.String(),
  kind: Type.String(),
  label: Nullable(Type.String()),
  vendor: Nullable(Type.String()),
  model: Nullable(Type.String()),
  serial: Nullable(Type.String()),
  firmware: Nullable(Type.String()),
  /** The agent's source type (modbus-tcp, opcua, mqtt-device, simulator, …); null: vendor cloud. */
  source: Nullable(Type.String()),
  metrics: Type.Array(Type.String()),
  present: Type.Boolean(),
  registeredAt: Nullable(Type.String({ format: 'date-time' })),
  areaId: Nullable(Id),
  lineId: Nullable(Id),
  state: EquipmentState,
  /** Why it is in that state, in words. */
  reason: Type.String(),
  lastReading: Nullable(
    Type.Object({
      ts: Type.String({ format: 'date-time' }),
      values: Type.Array(Type.Object({ metric: Type.String(), value: Type.Number() })),
    }),
  ),
});
export type EquipmentItem = Static<typeof EquipmentItem>;

export const Line = Type.Object({ id: Id, areaId: Id, name: Type.String(), slug: Type.String() });
export const Area = Type.Object({
  id: Id,
  name: Type.String(),
  slug: Type.String(),
  lines: Type.Array(Line),
});
export type Area = Static<typeof Area>;

export const SiteEquipment = Type.Object({
  siteId: Id,
  checkedAt: Type.String({ format: 'date-time' }),
  equipment: Type.Array(EquipmentItem),
  areas: Type.Array(Area),
});
export type SiteEquipment = Static<typeof SiteEquipment>;

/** The installer's commissioning check: does every equipment the nodes are configured for answer? */
export const Commissioning = Type.Object({
  siteId: Id,
  checkedAt: Type.String({ format: 'date-time' }),
  /** Every expected equipment answers (and there is at least one). */
  ok: Type.Boolean(),
  expected: Type.Integer(),
  answering: Type.Integer(),
  problems: Type.Array(
    Type.Object({
      equipmentId: Id,
      nodeName: Type.String(),
      key: Type.String(),
      state: EquipmentState,
      reason: Type.String(),
    }),
  ),
  /** Nodes of the site that have not registered any equipment yet (an old agent, or never started). */
  nodesWithoutInventory: Type.Array(Type.Object({ nodeId: Id, nodeName: Type.String() })),
});
export type Commissioning = Static<typeof Commissioning>;

export const NameBody = Type.Object(
  { name: Type.String({ minLength: 1, maxLength: 100, pattern: '\\S' }) },
  { additionalProperties: false },
);
export type NameBody = Static<typeof NameBody>;

export const PlacementBody = Type.Object(
  {
    /** null takes it off its area (and line). */
    areaId: Type.Optional(Nullable(Id)),
    /** A line of the area (or, without areaId, sets the line's area too); null: no line. */
    lineId: Type.Optional(Nullable(Id)),
  },
  { additionalProperties: false },
);
export type PlacementBody = Static<typeof PlacementBody>;
