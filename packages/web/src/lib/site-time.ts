// Every chart and day boundary of a site is drawn in the site's own time zone, whatever zone the
// viewer's browser is in: an installer in Los Angeles sees an Athens solar peak at noon, and "today"
// starts at the site's midnight. Calendar arithmetic is the hub's own (protocol/zoned.ts).
import { addDays, localDate, localDayBounds, localParts, zoneOffsetMs } from '@wattfleet/protocol/zoned';

export { addDays, localDate, localDayBounds };

/** "Europe/Athens, UTC+2" (or "UTC+5:30"): the zone and its offset at instant ms. */
export function zoneLabel(timeZone: string, ms: number): string {
  const minutes = Math.round(zoneOffsetMs(ms, timeZone) / 60_000);
  const sign = minutes < 0 ? '−' : '+';
  const abs = Math.abs(minutes);
  const h = Math.floor(abs / 60);
  const m = abs % 60;
  const offset = minutes === 0 ? 'UTC' : `UTC${sign}${h}${m ? `:${String(m).padStart(2, '0')}` : ''}`;
  return `${timeZone}, ${offset}`;
}

/** The instant a wall-clock "YYYY-MM-DDTHH:MM[:SS]" (a datetime-local value) means in the zone. */
export function wallTimeToUtc(wall: string, timeZone: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(wall);
  if (!m) return Number.NaN;
  const asUtc = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +(m[6] ?? 0));
  // Two passes converge for every real zone, the second fixes a guess across a DST change.
  const guess = asUtc - zoneOffsetMs(asUtc, timeZone);
  return asUtc - zoneOffsetMs(guess, timeZone);
}

/** The datetime-local value ("YYYY-MM-DDTHH:MM") of instant ms in the zone. */
export function wallTime(ms: number, timeZone: string): string {
  const p = localParts(ms, timeZone);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${p.year}-${two(p.month)}-${two(p.day)}T${two(p.hour)}:${two(p.minute)}`;
}

/** Time of day "HH:MM" of instant ms in the zone. */
export function clockTime(ms: number, timeZone: string): string {
  const p = localParts(ms, timeZone);
  return `${String(p.hour).padStart(2, '0')}:${String(p.minute).padStart(2, '0')}`;
}

export type RangeKey = 'day' | 'week' | 'month' | 'year';

export interface Period {
  range: RangeKey;
  /** First and last local day of the period, 'YYYY-MM-DD' in the site's zone. */
  fromDay: string;
  toDay: string;
  /** [start, end) instants in epoch ms: the site's midnights around the period. */
  start: number;
  end: number;
}

const monthOf = (day: string) => day.slice(0, 7);

function lastDayOfMonth(month: string): string {
  const [y, m] = month.split('-').map(Number) as [number, number];
  return new Date(Date.UTC(y, m, 0)).toISOString().slice(0, 10);
}

/** Monday of the ISO week holding `day`. */
function mondayOf(day: string): string {
  const dow = new Date(`${day}T00:00:00Z`).getUTCDay(); // 0 = Sunday
  return addDays(day, -((dow + 6) % 7));
}

/** The calendar period (day, Monday-first week, month, year) of the site that holds `anchor`. */
export function periodOf(range: RangeKey, anchor: string, timeZone: string): Period {
  let fromDay: string;
  let toDay: string;
  switch (range) {
    case 'day':
      fromDay = toDay = anchor;
      break;
    case 'week':
      fromDay = mondayOf(anchor);
      toDay = addDays(fromDay, 6);
      break;
    case 'month':
      fromDay = `${monthOf(anchor)}-01`;
      toDay = lastDayOfMonth(monthOf(anchor));
      break;
    case 'year':
      fromDay = `${anchor.slice(0, 4)}-01-01`;
      toDay = `${anchor.slice(0, 4)}-12-31`;
      break;
  }
  return {
    range,
    fromDay,
    toDay,
    start: localDayBounds(fromDay, timeZone)[0],
    end: localDayBounds(toDay, timeZone)[1],
  };
}

/** The anchor day one period earlier (-1) or later (+1), clamped into the target month. */
export function shiftAnchor(range: RangeKey, anchor: string, step: -1 | 1): string {
  switch (range) {
    case 'day':
      return addDays(anchor, step);
    case 'week':
      return addDays(anchor, 7 * step);
    case 'month': {
      const [y, m] = anchor.split('-').map(Number) as [number, number];
      const target = new Date(Date.UTC(y, m - 1 + step, 1)).toISOString().slice(0, 7);
      const last = lastDayOfMonth(target);
      const day = `${target}-${anchor.slice(8, 10)}`;
      return day > last ? last : day;
    }
    case 'year': {
      const day = `${Number(anchor.slice(0, 4)) + step}${anchor.slice(4)}`;
      // 29 February has no twin in the next year.
      return day.endsWith('-02-29') ? day.replace(/-29$/, '-28') : day;
    }
  }
}

/** Months 'YYYY-MM' from the first to the last day of a period. */
export function monthsOf(p: Period): string[] {
  const out: string[] = [];
  for (let m = monthOf(p.fromDay); m <= monthOf(p.toDay); ) {
    out.push(m);
    const [y, mm] = m.split('-').map(Number) as [number, number];
    m = new Date(Date.UTC(y, mm, 1)).toISOString().slice(0, 7);
  }
  return out;
}

/** Human title of a period, in the site's calendar ("Tue 1 Dec 2026", "Dec 2026", "2026"). */
export function periodTitle(p: Period): string {
  const fmt = (day: string, o: Intl.DateTimeFormatOptions) =>
    new Date(`${day}T12:00:00Z`).toLocaleDateString(undefined, { ...o, timeZone: 'UTC' });
  switch (p.range) {
    case 'day':
      return fmt(p.fromDay, { weekday: 'short', day: 'numeric', month: 'short', year: 'numeric' });
    case 'week':
      return `${fmt(p.fromDay, { day: 'numeric', month: 'short' })} – ${fmt(p.toDay, { day: 'numeric', month: 'short', year: 'numeric' })}`;
    case 'month':
      return fmt(p.fromDay, { month: 'long', year: 'numeric' });
    case 'year':
      return p.fromDay.slice(0, 4);
  }
}
