// Strict string formats and bounded integers shared by every schema (HTTP, MQTT, config).
//
// The JSON Schema `date-time` and `date` formats are replaced in TypeBox's registry by stricter
// checks, because everything that passes them is handed to `new Date()` / PostgreSQL:
// - RFC 3339 allows a leap second (`23:59:60Z`) and TypeBox also accepts an RFC 9557 suffix
//   (`…Z[UTC]`); JavaScript parses neither (NaN) and PostgreSQL refuses both.
// - The calendar is bounded to years 1970–9999: PostgreSQL has no year 0, years past 9999 do not
//   fit the four-digit form, and Wattfleet holds no data from before the epoch (epoch ms are ≥ 0).
// Registering under the standard names keeps the OpenAPI document standard and covers every
// schema that already says `format: 'date-time'`, wherever it is declared.
import Type, { type TNumberOptions } from 'typebox';
import * as Format from 'typebox/format';

export const MIN_YEAR = 1970;
export const MAX_YEAR = 9999;
export const INT4_MIN = -2_147_483_648;
export const INT4_MAX = 2_147_483_647;

const DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;
// Offset required (a local time without zone is ambiguous); fraction at most nanoseconds.
const DATE_TIME_RE =
  /^(\d{4}-\d{2}-\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|([+-])(\d{2}):(\d{2}))$/;

function leap(y: number): boolean {
  return y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
}

/** A calendar date `YYYY-MM-DD` that exists, in years 1970–9999. */
export function isStrictDate(value: string): boolean {
  const m = DATE_RE.exec(value);
  if (!m) return false;
  const y = Number(m[1]);
  const mo = Number(m[2]);
  const d = Number(m[3]);
  if (y < MIN_YEAR || y > MAX_YEAR || mo < 1 || mo > 12 || d < 1) return false;
  return d <= (mo === 2 && leap(y) ? 29 : DAYS[mo - 1]!);
}

/** An RFC 3339 instant with an explicit offset, no leap second, that JavaScript can parse. */
export function isStrictDateTime(value: string): boolean {
  const m = DATE_TIME_RE.exec(value);
  if (!m || !isStrictDate(m[1]!)) return false;
  if (Number(m[2]) > 23 || Number(m[3]) > 59 || Number(m[4]) > 59) return false;
  if (m[7] && (Number(m[8]) > 23 || Number(m[9]) > 59)) return false;
  return Number.isFinite(Date.parse(value));
}

Format.Set('date', isStrictDate);
Format.Set('date-time', isStrictDateTime);

/** A calendar month `YYYY-MM` in years 1970–9999. */
export const MONTH_PATTERN = '^(19[7-9][0-9]|[2-9][0-9]{3})-(0[1-9]|1[0-2])$';

/**
 * An integer that fits a PostgreSQL `integer` (int4): bounds given are narrowed to int4, absent
 * ones become int4's. Every integer that reaches SQL should be one of these (or SafeInteger).
 */
export function Int4(options: TNumberOptions = {}) {
  const minimum = Math.max(Number(options.minimum ?? INT4_MIN), INT4_MIN);
  const maximum = Math.min(Number(options.maximum ?? INT4_MAX), INT4_MAX);
  return Type.Integer({ ...options, minimum, maximum });
}

/** An integer JavaScript holds exactly (for bigint columns such as ids and epoch ms). */
export function SafeInteger(options: TNumberOptions = {}) {
  const minimum = Math.max(Number(options.minimum ?? Number.MIN_SAFE_INTEGER), Number.MIN_SAFE_INTEGER);
  const maximum = Math.min(Number(options.maximum ?? Number.MAX_SAFE_INTEGER), Number.MAX_SAFE_INTEGER);
  return Type.Integer({ ...options, minimum, maximum });
}
