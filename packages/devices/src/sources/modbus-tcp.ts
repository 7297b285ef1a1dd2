// The `modbus-tcp` source's config section: a Modbus TCP device read through one or more register
// templates (the templates themselves ship with the agent).
import Type, { type Static } from 'typebox';
import { EquipmentIdentityConfig, EquipmentKindSchema } from './equipment.ts';

export const ModbusTcpConfig = Type.Object(
  {
    key: Type.String({ pattern: '^[A-Za-z0-9._-]{1,64}$' }),
    host: Type.String({ minLength: 1, maxLength: 253 }),
    port: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535 })),
    unitId: Type.Optional(Type.Integer({ minimum: 0, maximum: 255 })),
    /** Template names (files in the templates directory), read together from this one device. */
    templates: Type.Array(Type.String({ pattern: '^[a-z0-9][a-z0-9-]{0,63}$' }), {
      minItems: 1,
      maxItems: 8,
    }),
    /** Added to every template address: e.g. -1 for devices that count registers from 1. */
    addressOffset: Type.Optional(Type.Integer({ minimum: -65535, maximum: 65535 })),
    timeoutMs: Type.Optional(Type.Integer({ minimum: 50, maximum: 60_000 })),
    kind: Type.Optional(EquipmentKindSchema),
    /** Nameplate facts for the hub's equipment list (model, serial, firmware, a label). */
    identity: Type.Optional(EquipmentIdentityConfig),
  },
  { additionalProperties: false },
);
export type ModbusTcpConfig = Static<typeof ModbusTcpConfig>;
