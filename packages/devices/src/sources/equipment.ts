// Kinds of equipment a source can stand for (a template or a source section may name one).
import Type from 'typebox';

export const EquipmentKindSchema = Type.Enum([
  'inverter',
  'meter',
  'ct',
  'battery',
  'relay',
  'plug',
  'sensor',
  'ev_charger',
]);

/**
 * What the installer knows about the equipment behind a source (from its nameplate), sent to the
 * hub with the equipment inventory. What the device itself reports (OPC UA build info) wins over
 * it; it wins over what a template says.
 */
export const EquipmentIdentityConfig = Type.Object(
  {
    label: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
    model: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    serial: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    firmware: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  },
  { additionalProperties: false },
);
