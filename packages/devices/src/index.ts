// @wattfleet/devices: what the hub and the agent both need to know about a device, without the
// agent itself. The agent config (schema, migrations, YAML limits, parser and rules), the config
// sections of the built-in source types, the data contracts per equipment class, the simulated
// site, and time-zone offsets from the OS.
export * from './config/index.ts';
export * from './contracts/index.ts';
export * from './simulator/index.ts';
export * from './sources/index.ts';
export {
  addDays,
  fromIntl,
  localDate,
  localDayStart,
  nextLocalMidnight,
  type OffsetFn,
  parsePosixTz,
  parseTzif,
  zoneOffset,
} from './time/zone.ts';
