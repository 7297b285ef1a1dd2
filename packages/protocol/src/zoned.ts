// Calendar arithmetic in a site's time zone without a date library: local days are found by
// asking Intl for the zone offset. Handles 23 h and 25 h DST days and half-hour zones.

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(tz, f);
  }
  return f;
}

interface LocalParts {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

export function localParts(ms: number, tz: string): LocalParts {
  const parts: Record<string, number> = {};
  for (const p of formatter(tz).formatToParts(new Date(ms))) {
    if (p.type !== 'literal') parts[p.type] = Number(p.value);
  }
  return {
    year: parts.year!,
    month: parts.month!,
    day: parts.day!,
    hour: parts.hour!,
    minute: parts.minute!,
    second: parts.second!,
  };
}

/** Offset of the zone from UTC at instant ms, in ms (east positive). */
export function zoneOffsetMs(ms: number, tz: string): number {
  const p = localParts(ms, tz);
  const asUtc = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
  return asUtc - Math.floor(ms / 1000) * 1000;
}

/** The UTC instant of local wall time y-m-d h:00 in tz (the earlier one when ambiguous). */
export function zonedTimeToUtc(year: number, month: number, day: number, hour: number, tz: string): number {
  const wall = Date.UTC(year, month - 1, day, hour);
  // Two passes converge for every real zone; the second fixes guesses that straddle a transition.
  let guess = wall - zoneOffsetMs(wall, tz);
  guess = wall - zoneOffsetMs(guess, tz);
  return guess;
}

/** 'YYYY-MM-DD' of instant ms in tz. */
export function localDate(ms: number, tz: string): string {
  const p = localParts(ms, tz);
  return `${p.year}-${String(p.month).padStart(2, '0')}-${String(p.day).padStart(2, '0')}`;
}

function parseDate(date: string): [number, number, number] {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  if (!m) throw new Error(`Invalid date "${date}"`);
  return [Number(m[1]), Number(m[2]), Number(m[3])];
}

/** Adds n calendar days to 'YYYY-MM-DD'. */
export function addDays(date: string, n: number): string {
  const [y, m, d] = parseDate(date);
  return new Date(Date.UTC(y, m - 1, d + n)).toISOString().slice(0, 10);
}

/** [start, end) in UTC epoch ms of local calendar day `date` in tz: 23, 24 or 25 hours long. */
export function localDayBounds(date: string, tz: string): [number, number] {
  const [y, m, d] = parseDate(date);
  const next = parseDate(addDays(date, 1));
  return [zonedTimeToUtc(y, m, d, 0, tz), zonedTimeToUtc(next[0], next[1], next[2], 0, tz)];
}

/** UTC instant of the local midnight that starts the day containing ms. */
export function localDayStart(ms: number, tz: string): number {
  return localDayBounds(localDate(ms, tz), tz)[0];
}
