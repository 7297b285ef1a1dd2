// Offsets read from the OS zoneinfo files (TZif + the POSIX rule in their footer) agree with Intl's
// (ICU) to the second: every day from 1995 to 2040, and every DST change in that span located to
// the second on both sides. Zones with negative DST, half- and quarter-hour offsets, a 30-minute DST,
// changes at 24:00, and the southern hemisphere.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fromIntl, localDate, parsePosixTz, zoneOffset } from '../src/time/zone.ts';

const ZONES = [
  'UTC',
  'Europe/Berlin',
  'Europe/London',
  'Europe/Dublin',
  'Europe/Lisbon',
  'America/New_York',
  'America/Los_Angeles',
  'America/St_Johns',
  'America/Sao_Paulo',
  'America/Santiago',
  'Australia/Sydney',
  'Australia/Adelaide',
  'Australia/Lord_Howe',
  'Pacific/Auckland',
  'Pacific/Chatham',
  'Asia/Kolkata',
  'Asia/Kathmandu',
  'Asia/Tehran',
  'Asia/Tokyo',
  'Africa/Johannesburg',
];
const FROM = Date.UTC(1995, 0, 1);
const TO = Date.UTC(2040, 0, 1);
const DAY = 86_400_000;

/** The first second at which `f` no longer gives `f(lo)`, for lo < hi where they differ. */
function changeAt(f: (ts: number) => number, lo: number, hi: number): number {
  const before = f(lo);
  while (hi - lo > 1000) {
    const mid = lo + Math.floor((hi - lo) / 2000) * 1000;
    if (f(mid) === before) lo = mid;
    else hi = mid;
  }
  return hi;
}

describe('time zones from zoneinfo', () => {
  for (const zone of ZONES) {
    it(`${zone}: same offsets and changes as Intl, 1995–2040`, (t) => {
      if (!existsSync(`/usr/share/zoneinfo/${zone}`)) return t.skip('no zoneinfo file here');
      const intl = fromIntl(zone);
      const ours = (ts: number) => zoneOffset(zone, ts);
      let changes = 0;
      let prev = FROM;
      for (let ts = FROM; ts <= TO; ts += DAY) {
        assert.equal(ours(ts), intl(ts), `${zone} at ${new Date(ts).toISOString()}`);
        if (ts > FROM && intl(ts) !== intl(prev)) {
          const a = changeAt(ours, prev, ts);
          const b = changeAt(intl, prev, ts);
          assert.equal(
            new Date(a).toISOString(),
            new Date(b).toISOString(),
            `${zone}: change near ${new Date(ts).toISOString()}`,
          );
          assert.equal(ours(a), intl(a));
          assert.equal(ours(a - 1000), intl(a - 1000));
          changes++;
        }
        prev = ts;
      }
      if (zone === 'Europe/Berlin') assert.equal(changes, 90, 'two changes a year');
    });
  }

  it('gives the site calendar date, and reads POSIX rules on their own', () => {
    // 2026-01-01T13:30Z is already 2 January in Sydney (UTC+11).
    assert.equal(localDate('Australia/Sydney', Date.parse('2026-01-01T13:30:00Z')), '2026-01-02');
    assert.equal(localDate('America/New_York', Date.parse('2026-01-01T03:30:00Z')), '2025-12-31');
    const berlin = parsePosixTz('CET-1CEST,M3.5.0,M10.5.0/3');
    assert.equal(berlin(Date.parse('2026-03-29T00:59:59Z') / 1000), 3600);
    assert.equal(berlin(Date.parse('2026-03-29T01:00:00Z') / 1000), 7200);
    assert.equal(berlin(Date.parse('2026-10-25T00:59:59Z') / 1000), 7200);
    assert.equal(berlin(Date.parse('2026-10-25T01:00:00Z') / 1000), 3600);
    assert.equal(parsePosixTz('<+0545>-5:45')(0), 20_700);
    assert.equal(parsePosixTz('EST5EDT,0/0,J365/25')(Date.parse('2026-07-01T00:00:00Z') / 1000), -4 * 3600);
    assert.throws(() => parsePosixTz('CET-1CEST,M3.5'), /Mm\.w\.d/);
  });

  it('falls back to Intl for a zone without a zoneinfo file, and refuses nonsense names', () => {
    assert.throws(() => zoneOffset('Not/A_Zone', 0), RangeError);
    assert.throws(() => zoneOffset('../../etc/passwd', 0), RangeError);
  });
});
