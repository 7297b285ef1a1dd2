// The occurrence calculator with explicit instants (no clock, no machine time zone): both DST days
// in Europe/Berlin, a window across midnight, validity and exception dates, one-off dates, and
// sunrise/sunset with offsets at a southern-hemisphere site (Sydney) and where the sun never rises.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  activeWindow,
  type DaySpec,
  describeRule,
  isRealDate,
  occurrencesBetween,
  type ScheduleDef,
  type ScheduleRule,
  type SitePlace,
  timeOn,
  wallToUtc,
} from '@wattfleet/devices/automation';

const BERLIN: SitePlace = { timezone: 'Europe/Berlin', latitude: 52.52, longitude: 13.405 };
const SYDNEY: SitePlace = { timezone: 'Australia/Sydney', latitude: -33.8688, longitude: 151.2093 };
const DAILY: DaySpec = { kind: 'weekly', weekdays: [1, 2, 3, 4, 5, 6, 7] };
const def = (rule: ScheduleRule, extra: Partial<ScheduleDef> = {}): ScheduleDef => ({
  rule,
  validFrom: null,
  validUntil: null,
  exceptDates: [],
  ...extra,
});
const at = (iso: string) => Date.parse(iso);
const iso = (ms: number) => new Date(ms).toISOString();
const between = (d: ScheduleDef, place: SitePlace, from: string, to: string) =>
  occurrencesBetween(d, place, at(from), at(to)).map((o) => [iso(o.dueAt), o.state, o.edge]);

describe('schedule occurrences', () => {
  it('Europe/Berlin spring-forward day: 02:30 does not exist and runs at 03:00 CEST (when the gap ends)', () => {
    // 2026-03-29: 02:00 CET → 03:00 CEST, i.e. at 01:00 UTC. 02:30 runs at the transition.
    assert.equal(iso(wallToUtc('2026-03-29', 150, 'Europe/Berlin')), '2026-03-29T01:00:00.000Z');
    assert.equal(iso(wallToUtc('2026-03-29', 120, 'Europe/Berlin')), '2026-03-29T01:00:00.000Z', '02:00 too');
    assert.equal(
      iso(wallToUtc('2026-03-29', 180, 'Europe/Berlin')),
      '2026-03-29T01:00:00.000Z',
      '03:00 itself',
    );
    const d = def({ days: DAILY, start: { at: '02:30' }, end: { at: '04:00' }, action: 'on' });
    assert.deepEqual(between(d, BERLIN, '2026-03-28T12:00:00Z', '2026-03-30T12:00:00Z'), [
      ['2026-03-29T01:00:00.000Z', 'on', 'start'], // 03:00 CEST
      ['2026-03-29T02:00:00.000Z', 'off', 'end'], // 04:00 CEST
      ['2026-03-30T00:30:00.000Z', 'on', 'start'], // 02:30 CEST, an ordinary day again
      ['2026-03-30T02:00:00.000Z', 'off', 'end'],
    ]);
    // The day before is an ordinary CET day: 02:30 CET = 01:30 UTC.
    assert.deepEqual(between(d, BERLIN, '2026-03-28T00:00:00Z', '2026-03-28T02:00:00Z'), [
      ['2026-03-28T01:30:00.000Z', 'on', 'start'],
    ]);
    // Reported in local time for the run log.
    const [first] = occurrencesBetween(d, BERLIN, at('2026-03-29T00:00:00Z'), at('2026-03-29T01:00:00Z'));
    assert.match(first!.reason, /^window start 03:00 /);
  });

  it('another zone with a half-hour gap (Australia/Lord_Howe) also runs when the gap ends', () => {
    // 2026-10-04 02:00 LHST (+10:30) → 02:30 LHDT (+11): 02:15 does not exist; the gap ends 15:30 UTC.
    assert.equal(iso(wallToUtc('2026-10-04', 135, 'Australia/Lord_Howe')), '2026-10-03T15:30:00.000Z');
  });

  it('Europe/Berlin fall-back day: 02:30 exists twice and runs once, at the first (CEST)', () => {
    // 2026-10-25: 03:00 CEST → 02:00 CET; 02:30 is 00:30 UTC and again 01:30 UTC.
    const d = def({ days: DAILY, start: { at: '02:30' }, action: 'on' });
    assert.deepEqual(between(d, BERLIN, '2026-10-24T12:00:00Z', '2026-10-26T12:00:00Z'), [
      ['2026-10-25T00:30:00.000Z', 'on', 'once'],
      ['2026-10-26T01:30:00.000Z', 'on', 'once'], // 02:30 CET
    ]);
    // Nothing at the second 02:30 (01:30 UTC): exactly one action in the 25-hour local day.
    const day = between(d, BERLIN, '2026-10-24T22:00:00Z', '2026-10-25T23:00:00Z');
    assert.deepEqual(day, [['2026-10-25T00:30:00.000Z', 'on', 'once']]);
    // A window 02:00–02:45 that day opens and closes once, in the first (CEST) hour.
    const w = def({ days: DAILY, start: { at: '02:00' }, end: { at: '02:45' }, action: 'on' });
    assert.deepEqual(between(w, BERLIN, '2026-10-24T22:00:00Z', '2026-10-25T23:00:00Z'), [
      ['2026-10-25T00:00:00.000Z', 'on', 'start'],
      ['2026-10-25T00:45:00.000Z', 'off', 'end'],
    ]);
  });

  it('a window the spring-forward gap swallows does not run that day', () => {
    const d = def({ days: DAILY, start: { at: '02:00' }, end: { at: '03:00' }, action: 'on' });
    assert.deepEqual(between(d, BERLIN, '2026-03-29T00:00:00Z', '2026-03-29T12:00:00Z'), []);
  });

  it('a window across midnight ends the next day; the start day decides weekday and exceptions', () => {
    // Fridays 22:00–06:00 (Berlin, winter: UTC+1). 2026-01-09 and 2026-01-16 are Fridays.
    const d = def(
      { days: { kind: 'weekly', weekdays: [5] }, start: { at: '22:00' }, end: { at: '06:00' }, action: 'on' },
      { exceptDates: ['2026-01-16'] },
    );
    assert.deepEqual(between(d, BERLIN, '2026-01-05T00:00:00Z', '2026-01-19T00:00:00Z'), [
      ['2026-01-09T21:00:00.000Z', 'on', 'start'],
      ['2026-01-10T05:00:00.000Z', 'off', 'end'],
    ]);
    assert.equal(activeWindow(d, BERLIN, at('2026-01-10T02:00:00Z'))?.day, '2026-01-09');
    assert.equal(activeWindow(d, BERLIN, at('2026-01-10T05:00:00Z')), null, 'the end itself is outside');
  });

  it('validity range (inclusive local dates) and one-off dates', () => {
    const weekly = def(
      { days: DAILY, start: { at: '07:00' }, action: 'off' },
      { validFrom: '2026-05-02', validUntil: '2026-05-03' },
    );
    assert.deepEqual(between(weekly, BERLIN, '2026-05-01T00:00:00Z', '2026-05-05T00:00:00Z'), [
      ['2026-05-02T05:00:00.000Z', 'off', 'once'],
      ['2026-05-03T05:00:00.000Z', 'off', 'once'],
    ]);
    const once = def({
      days: { kind: 'dates', dates: ['2026-12-24'] },
      start: { at: '18:00' },
      end: { at: '23:30' },
      action: 'on',
    });
    assert.deepEqual(between(once, BERLIN, '2026-12-01T00:00:00Z', '2027-01-01T00:00:00Z'), [
      ['2026-12-24T17:00:00.000Z', 'on', 'start'],
      ['2026-12-24T22:30:00.000Z', 'off', 'end'],
    ]);
  });

  it('the range is (from, to]: an instant already handled is not returned again', () => {
    const d = def({ days: DAILY, start: { at: '07:00' }, action: 'on' });
    assert.equal(
      occurrencesBetween(d, BERLIN, at('2026-05-02T05:00:00Z'), at('2026-05-02T06:00:00Z')).length,
      0,
    );
    assert.equal(
      occurrencesBetween(d, BERLIN, at('2026-05-02T04:59:00Z'), at('2026-05-02T05:00:00Z')).length,
      1,
    );
  });

  it('sunrise at a southern-hemisphere site: early in December (summer), late in June (winter)', () => {
    const sunrise = { sun: 'sunrise', offsetMin: 0 } as const;
    // Sydney, 21 Dec 2026 (AEDT, UTC+11): sunrise about 05:42 local; 21 Jun (AEST, UTC+10): about 07:00.
    const dec = timeOn('2026-12-21', sunrise, SYDNEY)!;
    const jun = timeOn('2026-06-21', sunrise, SYDNEY)!;
    assert.ok(Math.abs(dec - at('2026-12-20T18:42:00Z')) <= 3 * 60_000, iso(dec));
    assert.ok(Math.abs(jun - at('2026-06-20T21:01:00Z')) <= 3 * 60_000, iso(jun));
    // A window sunrise+30min → sunset−15min belongs to the local day (which starts the previous UTC day).
    const d = def({
      days: { kind: 'weekly', weekdays: [1] }, // 2026-12-21 is a Monday
      start: { sun: 'sunrise', offsetMin: 30 },
      end: { sun: 'sunset', offsetMin: -15 },
      action: 'on',
    });
    const occ = occurrencesBetween(d, SYDNEY, at('2026-12-20T00:00:00Z'), at('2026-12-22T00:00:00Z'));
    assert.equal(occ.length, 2);
    assert.equal(occ[0]!.dueAt, dec + 30 * 60_000);
    assert.equal(occ[0]!.day, '2026-12-21');
    assert.match(occ[0]!.reason, /^window start 06:12 \(Mon sunrise\+30min–sunset−15min on\)$/);
    assert.equal(occ[1]!.dueAt, timeOn('2026-12-21', { sun: 'sunset', offsetMin: -15 }, SYDNEY));
  });

  it('sunrise and sunset with offsets in Berlin on fixed dates (summer solstice, a winter day)', () => {
    // Berlin 52.52 N 13.405 E: 21 Jun 2026 sunrise ≈ 04:43 CEST (02:43 UTC), sunset ≈ 21:33 CEST.
    const near = (ms: number | null, iso: string) =>
      assert.ok(
        ms !== null && Math.abs(ms - at(iso)) <= 3 * 60_000,
        `${ms === null ? 'null' : new Date(ms).toISOString()} ≈ ${iso}`,
      );
    near(timeOn('2026-06-21', { sun: 'sunrise', offsetMin: 0 }, BERLIN), '2026-06-21T02:43:00Z');
    near(timeOn('2026-06-21', { sun: 'sunset', offsetMin: 0 }, BERLIN), '2026-06-21T19:33:00Z');
    // 15 Jan 2026 sunset ≈ 16:20 CET (15:20 UTC); an offset of +45 min lands on the whole minute.
    const sunset = timeOn('2026-01-15', { sun: 'sunset', offsetMin: 0 }, BERLIN)!;
    near(sunset, '2026-01-15T15:20:00Z');
    const later = timeOn('2026-01-15', { sun: 'sunset', offsetMin: 45 }, BERLIN)!;
    assert.equal(later % 60_000, 0);
    assert.ok(Math.abs(later - sunset - 45 * 60_000) <= 60_000);
    // A window sunset → sunrise crosses midnight: on at sunset+45, off at the next day's sunrise−15.
    const d = def({
      days: { kind: 'dates', dates: ['2026-01-15'] },
      start: { sun: 'sunset', offsetMin: 45 },
      end: { sun: 'sunrise', offsetMin: -15 },
      action: 'on',
    });
    const occ = occurrencesBetween(d, BERLIN, at('2026-01-15T00:00:00Z'), at('2026-01-17T00:00:00Z'));
    assert.deepEqual(
      occ.map((o) => [o.edge, o.day]),
      [
        ['start', '2026-01-15'],
        ['end', '2026-01-15'],
      ],
    );
    assert.equal(occ[0]!.dueAt, later);
    assert.equal(occ[1]!.dueAt, timeOn('2026-01-16', { sun: 'sunrise', offsetMin: -15 }, BERLIN));
    near(occ[1]!.dueAt, '2026-01-16T06:55:00Z'); // sunrise ≈ 08:10 CET, −15 min
  });

  it('no sunrise (polar night) or no coordinates: the time does not exist, nothing runs', () => {
    const svalbard: SitePlace = { timezone: 'Arctic/Longyearbyen', latitude: 78.22, longitude: 15.65 };
    assert.equal(timeOn('2026-12-21', { sun: 'sunrise', offsetMin: 0 }, svalbard), null);
    assert.equal(timeOn('2026-12-21', { sun: 'sunrise', offsetMin: 0 }, { ...BERLIN, latitude: null }), null);
  });

  it('describes rules and checks dates', () => {
    assert.equal(
      describeRule({
        days: { kind: 'weekly', weekdays: [1, 2, 3, 4, 5] },
        start: { at: '07:00' },
        end: { at: '18:00' },
        action: 'on',
      }),
      'Mon–Fri 07:00–18:00 on',
    );
    assert.equal(isRealDate('2026-02-29'), false);
    assert.equal(isRealDate('2028-02-29'), true);
  });
});
