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
