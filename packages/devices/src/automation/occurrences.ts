// When a schedule acts: a pure calculator (no clock, no database) from a schedule's rule and its
// site's time zone and coordinates to the instants it switches. The hub's runner, its API preview
// and the agent's edge runner (issue 13.7) all use it, so a schedule switches at the same instant
// whoever executes it; its unit tests pin every DST and solar case with explicit instants.
//
// Defined behaviour (docs/automation.md, "## Schedules"):
// - Local wall times are read in the site's time zone. A time that does not exist (02:30 on the
//   spring-forward day in Europe/Berlin, where the clocks jump from 02:00 to 03:00) runs at the
//   instant the gap ends (03:00 CEST): the first moment the day's clock is past the time asked
//   for, which is what a person who set "02:30" expects. A time that exists twice (02:30 on the
//   fall-back day) means the first of the two (CEST), so it runs once.
// - A window ends at its end time on the day it starts, or on the next day when that is not
//   later than the start (22:00–06:00 crosses midnight). A window the DST gap shrinks to nothing
//   (02:00–03:00 on the spring-forward day) does not run that day.
// - The day a window starts decides whether it runs: its weekday or date, the validity range
//   (inclusive local dates) and the exception dates.
// - Sunrise/sunset come from suncalc for the site's coordinates on that local day, plus the
//   offset, rounded to the minute. Where the sun does not rise or set that day (polar day or
//   night) the time does not exist and nothing runs that day.
import { addDays, localDate, localParts, zoneOffsetMs } from '@wattfleet/protocol/zoned';
import SunCalc from 'suncalc';

export type OnOff = 'on' | 'off';
export type TimeSpec = { at: string } | { sun: 'sunrise' | 'sunset'; offsetMin: number };
export type DaySpec = { kind: 'weekly'; weekdays: number[] } | { kind: 'dates'; dates: string[] };

/** What a schedule does: at `start` set `action`; with an `end`, set the opposite at the end. */
export interface ScheduleRule {
  days: DaySpec;
  start: TimeSpec;
  end?: TimeSpec | null | undefined;
  action: OnOff;
}

export interface ScheduleDef {
  rule: ScheduleRule;
  /** Inclusive local dates 'YYYY-MM-DD'; null = open. */
  validFrom: string | null;
  validUntil: string | null;
  exceptDates: readonly string[];
}

export interface SitePlace {
  timezone: string;
  latitude: number | null;
  longitude: number | null;
}

export interface Occurrence {
  dueAt: number;
  /** The local day the window (or single action) belongs to. */
  day: string;
  edge: 'start' | 'end' | 'once';
  state: OnOff;
  /** Why, for the run log and the audit entry: "window start 07:00 (Mon–Fri 07:00–18:00)". */
  reason: string;
}

export interface Window {
  day: string;
  start: number;
  /** null for a single action (no end). */
  end: number | null;
}

const MINUTE = 60_000;
const DAY = 86_400_000;
const WEEKDAY_NAMES = ['', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];

export const opposite = (s: OnOff): OnOff => (s === 'on' ? 'off' : 'on');

/** ISO weekday of a local date: 1 = Monday … 7 = Sunday. */
export function isoWeekday(day: string): number {
  const [y, m, d] = day.split('-').map(Number) as [number, number, number];
  return ((new Date(Date.UTC(y, m - 1, d)).getUTCDay() + 6) % 7) + 1;
}

/** Whether 'YYYY-MM-DD' is a real calendar date. */
export function isRealDate(day: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day);
  if (!m) return false;
  const t = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  return t.toISOString().slice(0, 10) === day;
}

/**
 * The UTC instant of local wall time `minuteOfDay` on `day` in tz: in an overlap the earlier
 * instant; in a gap the instant the gap ends (the zone's transition).
 */
export function wallToUtc(day: string, minuteOfDay: number, tz: string): number {
  const [y, m, d] = day.split('-').map(Number) as [number, number, number];
  const wall = Date.UTC(y, m - 1, d, 0, minuteOfDay);
  const before = zoneOffsetMs(wall - 1.5 * DAY, tz);
  const after = zoneOffsetMs(wall + 1.5 * DAY, tz);
  const valid = [...new Set([before, after])]
    .map((offset) => wall - offset)
    .filter((t) => t + zoneOffsetMs(t, tz) === wall)
    .sort((a, b) => a - b);
  if (valid[0] !== undefined) return valid[0];
  // No valid reading: the wall time is in a gap. Read with the offset after the gap it lies
  // before the transition, read with the offset before it lies after: the transition is between.
  return transitionBetween(wall - after, wall - before, after, tz);
}

/** The first whole second in (lo, hi] whose zone offset is `after` (binary search). */
function transitionBetween(lo: number, hi: number, after: number, tz: string): number {
  let a = Math.floor(lo / 1000);
  let b = Math.ceil(hi / 1000);
  while (b - a > 1) {
    const mid = Math.floor((a + b) / 2);
    if (zoneOffsetMs(mid * 1000, tz) === after) b = mid;
    else a = mid;
  }
  return b * 1000;
}

const minuteOf = (hhmm: string): number => {
  const [h, m] = hhmm.split(':').map(Number) as [number, number];
  return h * 60 + m;
};

/** The instant of a time spec on a local day; null when it does not exist there. */
export function timeOn(day: string, spec: TimeSpec, place: SitePlace): number | null {
  if ('at' in spec) return wallToUtc(day, minuteOf(spec.at), place.timezone);
  if (place.latitude === null || place.longitude === null) return null;
  // suncalc picks the solar day nearest the instant given: local noon is that local day's.
  const noon = wallToUtc(day, 12 * 60, place.timezone);
  const times = SunCalc.getTimes(new Date(noon), place.latitude, place.longitude);
  const t = (spec.sun === 'sunrise' ? times.sunrise : times.sunset).getTime();
  if (!Number.isFinite(t)) return null;
  return Math.round((t + spec.offsetMin * MINUTE) / MINUTE) * MINUTE;
}

export function dayQualifies(def: ScheduleDef, day: string): boolean {
  if (def.validFrom && day < def.validFrom) return false;
  if (def.validUntil && day > def.validUntil) return false;
  if (def.exceptDates.includes(day)) return false;
  const days = def.rule.days;
  return days.kind === 'weekly' ? days.weekdays.includes(isoWeekday(day)) : days.dates.includes(day);
}

/** The schedule's window (or single action) that starts on `day`, if it runs that day. */
export function windowOn(def: ScheduleDef, day: string, place: SitePlace): Window | null {
  if (!dayQualifies(def, day)) return null;
  const start = timeOn(day, def.rule.start, place);
  if (start === null) return null;
  if (!def.rule.end) return { day, start, end: null };
  const { start: from, end: to } = def.rule;
  // Two clock times cross midnight by their wall values (a DST gap must not turn 02:00–03:00
  // into a 24-hour window); with a solar time the instants decide.
  const nextDay =
    'at' in from && 'at' in to
      ? minuteOf(to.at) <= minuteOf(from.at)
      : (timeOn(day, to, place) ?? Number.NEGATIVE_INFINITY) <= start;
  const end = timeOn(nextDay ? addDays(day, 1) : day, to, place);
  if (end === null || end <= start) return null;
  return { day, start, end };
}

/** Windows starting on local days from `fromDay` through `toDay`, in order. */
function windowsBetweenDays(def: ScheduleDef, place: SitePlace, fromDay: string, toDay: string): Window[] {
  const out: Window[] = [];
  for (let day = fromDay; day <= toDay; day = addDays(day, 1)) {
    const w = windowOn(def, day, place);
    if (w) out.push(w);
  }
  return out;
}

/** Every switching instant in (from, to], in order. */
export function occurrencesBetween(
  def: ScheduleDef,
  place: SitePlace,
  from: number,
  to: number,
): Occurrence[] {
  if (to <= from) return [];
  const tz = place.timezone;
  // A window can start up to a day before the instant it ends (plus the DST hour).
  const windows = windowsBetweenDays(def, place, addDays(localDate(from, tz), -2), localDate(to, tz));
  const out: Occurrence[] = [];
  const summary = describeRule(def.rule);
  for (const w of windows) {
    const edges: Array<[number, Occurrence['edge'], OnOff]> =
      w.end === null
        ? [[w.start, 'once', def.rule.action]]
        : [
            [w.start, 'start', def.rule.action],
            [w.end, 'end', opposite(def.rule.action)],
          ];
    for (const [at, edge, state] of edges) {
      if (at <= from || at > to) continue;
      const label = edge === 'once' ? 'scheduled' : edge === 'start' ? 'window start' : 'window end';
      out.push({ dueAt: at, day: w.day, edge, state, reason: `${label} ${hhmm(at, tz)} (${summary})` });
    }
  }
  return out.sort((a, b) => a.dueAt - b.dueAt);
}

/** The schedule's window covering instant t (start ≤ t < end), if any; single actions hold none. */
export function activeWindow(def: ScheduleDef, place: SitePlace, t: number): Window | null {
  if (!def.rule.end) return null;
  const today = localDate(t, place.timezone);
  const windows = windowsBetweenDays(def, place, addDays(today, -2), today);
  return windows.find((w) => w.start <= t && w.end !== null && t < w.end) ?? null;
}

/** Local HH:MM of an instant in tz. */
export function hhmm(ms: number, tz: string): string {
  const p = localParts(ms, tz);
  return `${String(p.hour).padStart(2, '0')}:${String(p.minute).padStart(2, '0')}`;
}

function describeTime(spec: TimeSpec): string {
  if ('at' in spec) return spec.at;
  if (spec.offsetMin === 0) return spec.sun;
  return `${spec.sun}${spec.offsetMin > 0 ? '+' : '−'}${Math.abs(spec.offsetMin)}min`;
}

/** "Mon–Fri 07:00–18:00 on", "2026-12-24 sunset+30min on": the rule in a line. */
export function describeRule(rule: ScheduleRule): string {
  let days: string;
  if (rule.days.kind === 'dates') days = rule.days.dates.join(', ');
  else {
    const w = [...rule.days.weekdays].sort((a, b) => a - b);
    const contiguous = w.length > 2 && w.every((d, i) => i === 0 || d === w[i - 1]! + 1);
    days =
      w.length === 7
        ? 'daily'
        : contiguous
          ? `${WEEKDAY_NAMES[w[0]!]}–${WEEKDAY_NAMES[w.at(-1)!]}`
          : w.map((d) => WEEKDAY_NAMES[d]).join(', ');
  }
  const times = rule.end ? `${describeTime(rule.start)}–${describeTime(rule.end)}` : describeTime(rule.start);
  return `${days} ${times} ${rule.action}`;
}
