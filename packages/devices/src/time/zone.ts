// Time-zone offsets from the operating system's zoneinfo files (TZif, RFC 8536), the same data the
// node's own clock uses. Not Intl: the first Intl.DateTimeFormat with a timeZone pages in ICU's
// data, ~6 MB of resident memory for the agent's whole life (bench B5). Intl stays as the fallback
// where no zoneinfo file is readable.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Offset of local time from UTC in ms (local − UTC) at instant `ts` (ms). */
export type OffsetFn = (ts: number) => number;

const ZONE_NAME = /^[A-Za-z0-9_+-]+(\/[A-Za-z0-9_+-]+)*$/;
const cache = new Map<string, OffsetFn>();

export function zoneOffset(timezone: string, ts: number): number {
  let fn = cache.get(timezone);
  if (!fn) {
    fn = fromZoneinfo(timezone) ?? fromIntl(timezone);
    cache.set(timezone, fn);
  }
  return fn(ts);
}

/** The calendar date (YYYY-MM-DD) in `timezone` at instant `ts`. */
export function localDate(timezone: string, ts: number): string {
  return new Date(ts + zoneOffset(timezone, ts)).toISOString().slice(0, 10);
}

function fromZoneinfo(timezone: string): OffsetFn | undefined {
  if (!ZONE_NAME.test(timezone) || timezone.split('/').includes('..')) return undefined;
  try {
    return parseTzif(readFileSync(join(process.env.TZDIR ?? '/usr/share/zoneinfo', timezone)));
  } catch {
    return undefined;
  }
}

/** Intl's answer, to the second: used only where the OS has no zoneinfo for the zone. */
export function fromIntl(timezone: string): OffsetFn {
  const fmt = new Intl.DateTimeFormat('en-US', {
    timeZone: timezone, // throws RangeError for an unknown zone, as the config deserves
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
  });
  return (ts) => {
    const at = Math.floor(ts / 1000) * 1000;
    const p = Object.fromEntries(fmt.formatToParts(new Date(at)).map((x) => [x.type, x.value]));
    return Date.UTC(+p.year!, +p.month! - 1, +p.day!, +p.hour!, +p.minute!, +p.second!) - at;
  };
}

interface LocalTimeType {
  utoff: number; // seconds east of UTC
}

/** Offsets from a TZif file: its transitions, then the POSIX TZ rule in its footer for later times. */
export function parseTzif(buf: Buffer): OffsetFn {
  if (buf.toString('latin1', 0, 4) !== 'TZif') throw new Error('not a TZif file');
  const version = buf[4]!;
  const counts = (at: number) => ({
    isut: buf.readUInt32BE(at + 20),
    isstd: buf.readUInt32BE(at + 24),
    leap: buf.readUInt32BE(at + 28),
    time: buf.readUInt32BE(at + 32),
    type: buf.readUInt32BE(at + 36),
    char: buf.readUInt32BE(at + 40),
  });
  let c = counts(0);
  let at = 44;
  let timeSize = 4;
  if (version >= 0x32) {
    // Version 2+: skip the 32-bit block, read the 64-bit one and the footer.
    at += c.time * 5 + c.type * 6 + c.char + c.leap * 8 + c.isstd + c.isut;
    c = counts(at);
    at += 44;
    timeSize = 8;
  }
  const transitions: number[] = [];
  for (let i = 0; i < c.time; i++, at += timeSize) {
    transitions.push(timeSize === 8 ? Number(buf.readBigInt64BE(at)) : buf.readInt32BE(at));
  }
  const typeOf = [...buf.subarray(at, at + c.time)];
  at += c.time;
  const types: LocalTimeType[] = [];
  for (let i = 0; i < c.type; i++, at += 6) types.push({ utoff: buf.readInt32BE(at) });
  at += c.char + c.leap * (timeSize + 4) + c.isstd + c.isut;
  let rule: ((t: number) => number) | undefined;
  if (timeSize === 8 && buf[at] === 0x0a) {
    const end = buf.indexOf(0x0a, at + 1);
    const footer = buf.toString('latin1', at + 1, end < 0 ? buf.length : end);
    if (footer) rule = parsePosixTz(footer);
  }
  if (types.length === 0) throw new Error('TZif without local time types');

  return (ts) => {
    const t = Math.floor(ts / 1000);
    const n = transitions.length;
    if (n === 0 || t >= transitions[n - 1]!) {
      if (rule) return rule(t) * 1000;
      if (n === 0) return types[0]!.utoff * 1000;
    }
    if (t < transitions[0]!) return types[0]!.utoff * 1000;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (transitions[mid]! <= t) lo = mid;
      else hi = mid - 1;
    }
    return types[typeOf[lo]!]!.utoff * 1000;
  };
}

/**
 * A POSIX TZ string (`CET-1CEST,M3.5.0,M10.5.0/3`, `<-03>3`, …) as seconds east of UTC at instant t
 * (seconds). POSIX offsets count west, hence the sign flips.
 */
export function parsePosixTz(spec: string): (t: number) => number {
  let i = 0;
  const fail = (why: string): never => {
    throw new Error(`TZ rule "${spec}": ${why}`);
  };
  const name = () => {
    if (spec[i] === '<') {
      const close = spec.indexOf('>', i);
      if (close < 0) fail('unclosed <');
      i = close + 1;
      return;
    }
    const start = i;
    while (i < spec.length && /[A-Za-z]/.test(spec[i]!)) i++;
    if (i - start < 3) fail('zone abbreviation');
  };
  const hms = () => {
    const m = /^([+-])?(\d{1,3})(?::(\d{1,2}))?(?::(\d{1,2}))?/.exec(spec.slice(i));
    if (!m) return fail('offset or time');
    i += m[0].length;
    const s = Number(m[2]) * 3600 + Number(m[3] ?? 0) * 60 + Number(m[4] ?? 0);
    return m[1] === '-' ? -s : s;
  };
  name();
  const std = 0 - hms(); // 0 - x, not -x: no -0 for UTC
  if (i >= spec.length) return () => std;
  name();
  const dst = i < spec.length && spec[i] !== ',' ? 0 - hms() : std + 3600;
  const date = () => {
    if (spec[i] !== ',') fail('expected ,');
    i++;
    let day: (year: number) => number; // ms at 00:00 local of that day, as if UTC
    if (spec[i] === 'M') {
      const m = /^M(\d{1,2})\.(\d)\.(\d)/.exec(spec.slice(i));
      if (!m) return fail('Mm.w.d');
      i += m[0].length;
      const [month, week, weekday] = [Number(m[1]), Number(m[2]), Number(m[3])];
      day = (year) => {
        const first = new Date(Date.UTC(year, month - 1, 1)).getUTCDay();
        let d = 1 + ((weekday - first + 7) % 7) + (week - 1) * 7;
        const inMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
        while (d > inMonth) d -= 7;
        return Date.UTC(year, month - 1, d);
      };
    } else {
      const julian = spec[i] === 'J';
      if (julian) i++;
      const m = /^\d{1,3}/.exec(spec.slice(i));
      if (!m) return fail('day number');
      i += m[0].length;
      const n = Number(m[0]);
      day = (year) => {
        // Jn counts 1..365 and never February 29; n counts 0..365 with it.
        const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
        const offset = julian ? n - 1 + (leap && n >= 60 ? 1 : 0) : n;
        return Date.UTC(year, 0, 1) + offset * 86_400_000;
      };
    }
    let time = 7200;
    if (spec[i] === '/') {
      i++;
      time = hms();
    }
    return { day, time };
  };
  const start = date();
  const end = date();
  if (i !== spec.length) fail(`unexpected "${spec.slice(i)}"`);
  return (t) => {
    const year = new Date((t + std) * 1000).getUTCFullYear();
    // Each change happens at a local wall time: the start in standard time, the end in DST.
    const s = start.day(year) / 1000 + start.time - std;
    const e = end.day(year) / 1000 + end.time - dst;
    const inDst = s < e ? t >= s && t < e : !(t >= e && t < s);
    return inDst ? dst : std;
  };
}

/** The calendar date `days` after `date` (YYYY-MM-DD). */
export function addDays(date: string, days: number): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);
}

/** The instant local midnight begins `date` in `timezone` (twice round: the offset may change that day). */
export function localDayStart(timezone: string, date: string): number {
  const wall = Date.parse(`${date}T00:00:00Z`);
  let t = wall - zoneOffset(timezone, wall);
  t = wall - zoneOffset(timezone, t);
  return t;
}

/** The first local midnight after instant `ts`. */
export function nextLocalMidnight(timezone: string, ts: number): number {
  return localDayStart(timezone, addDays(localDate(timezone, ts), 1));
}
