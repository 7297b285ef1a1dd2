// Time-zone offsets from the OS zoneinfo live in @wattfleet/devices (the simulated site needs them).
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
} from '@wattfleet/devices/zone';
