// One pinnable "now" for tests whose data is about a site's day (see testNow).
import { addDays, localDate, zonedTimeToUtc } from '@wattfleet/protocol/zoned';

/**
 * "Now" for a test, so no test depends on the hour it runs at. WATTFLEET_TEST_NOW pins it:
 * `HH:MM` is the latest instant at or before the real now when the site's clock reads HH:MM
 * (kept in the past, where the hub accepts samples), an ISO instant is taken as is. Unset: the
 * real now — the tests build their data relative to this value and the site's local midnight, so
 * they hold at any hour; `WATTFLEET_TEST_NOW=00:05` / `=23:55` proves it at the day's edges.
 */
export function testNow(timeZone: string, real = Date.now()): number {
  const pin = process.env.WATTFLEET_TEST_NOW;
  if (!pin) return real;
  const hm = /^(\d{2}):(\d{2})$/.exec(pin);
  if (!hm) {
    const at = Date.parse(pin);
    if (!Number.isFinite(at)) throw new Error(`WATTFLEET_TEST_NOW="${pin}" is neither HH:MM nor an instant`);
    return at;
  }
  for (let back = 0; back <= 2; back++) {
    const day = addDays(localDate(real, timeZone), -back);
    const [y, m, d] = day.split('-').map(Number) as [number, number, number];
    const at = zonedTimeToUtc(y, m, d, Number(hm[1]), timeZone) + Number(hm[2]) * 60_000;
    if (at <= real) return at;
  }
  throw new Error(`no ${pin} in ${timeZone} within two days`);
}
