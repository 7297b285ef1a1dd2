// One rule for everything a device sends that ends up in SQL: text without NUL (PostgreSQL text and
// jsonb cannot hold U+0000) or lone UTF-16 surrogates (jsonb refuses `\ud800`; a text column would
// silently store U+FFFD instead), of bounded length; free-form JSON of bounded depth and size (a
// document nested 100 000 levels deep overflows the stack of whatever walks it recursively, e.g.
// JSON.stringify); calendar dates that exist and that PostgreSQL can store. The checks are TypeBox
// refinements, so every schema that uses these types applies them wherever it validates — the
// HTTP routes (Fastify's TypeBox compiler) and the MQTT handlers (`checker`) alike — and the
// generated OpenAPI document is unchanged.
import Type, { type TStringOptions } from 'typebox';

export const DEVICE_JSON_LIMITS = {
  /** Objects/arrays inside one another; the agent's own data is a few levels deep. */
  maxDepth: 16,
  /** Values (scalars, objects, arrays) in one document. */
  maxValues: 10_000,
  maxKeyLength: 200,
  maxStringLength: 4000,
} as const;

// With the `u` flag a well-formed surrogate pair is one code point, so only lone halves match.
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

/** Why a device string cannot be stored, or undefined when it can. */
export function textProblem(s: string): string | undefined {
  if (s.includes('\u0000')) return 'must not contain NUL (\\u0000)';
  if (LONE_SURROGATE.test(s)) return 'must not contain a lone UTF-16 surrogate';
  return undefined;
}

/** A string from a device: `maxLength` is required, so no device string is unbounded. */
export function DeviceText(options: TStringOptions & { maxLength: number }) {
  return Type.Refine(
    Type.String(options),
    (s: string) => textProblem(s) === undefined,
    (s: string) => textProblem(s) ?? 'invalid text',
  );
}

/**
 * Why a free-form JSON value from a device cannot be stored, or undefined. Walks with an explicit
 * stack (never recursion), so the check itself cannot overflow on a hostile document.
 */
export function jsonProblem(value: unknown, limits = DEVICE_JSON_LIMITS): string | undefined {
  const stack: [unknown, number][] = [[value, 0]];
  let values = 0;
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (++values > limits.maxValues) return `must hold at most ${limits.maxValues} values`;
    if (typeof v === 'string') {
      if (v.length > limits.maxStringLength)
        return `strings must be at most ${limits.maxStringLength} characters`;
      const p = textProblem(v);
      if (p) return `strings ${p}`;
      continue;
    }
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) return 'numbers must be finite';
      continue;
    }
    if (v === null || typeof v !== 'object') continue;
    if (depth >= limits.maxDepth) return `must be nested at most ${limits.maxDepth} levels deep`;
    if (Array.isArray(v)) {
      for (const item of v) stack.push([item, depth + 1]);
      continue;
    }
    for (const [k, item] of Object.entries(v)) {
      if (k.length > limits.maxKeyLength) return `keys must be at most ${limits.maxKeyLength} characters`;
      const p = textProblem(k);
      if (p) return `keys ${p}`;
      stack.push([item, depth + 1]);
    }
  }
  return undefined;
}

/** Free-form JSON object from a device (event data, command results). */
export function DeviceData() {
  return Type.Refine(
    Type.Record(Type.String({ maxLength: DEVICE_JSON_LIMITS.maxKeyLength }), Type.Unknown()),
    (v: Record<string, unknown>) => jsonProblem(v) === undefined,
    (v: Record<string, unknown>) => jsonProblem(v) ?? 'invalid data',
  );
}

/** The range of instants a device may report (same bounds as epoch-ms timestamps). */
export const DEVICE_TIME_RANGE = { minMs: 946684800000, maxMs: 4102444800000 } as const;

/** Why `YYYY-MM-DD` is not a calendar date a device may report, or undefined. */
export function dateProblem(s: string): string | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s);
  if (!m) return 'must be a date YYYY-MM-DD';
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const ms = Date.UTC(y, mo - 1, d);
  // Date.UTC rolls 2024-02-30 over to March 1st: a real date survives the round trip.
  const back = new Date(ms);
  if (back.getUTCFullYear() !== y || back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d)
    return 'is not a real calendar date';
  if (ms < DEVICE_TIME_RANGE.minMs || ms >= DEVICE_TIME_RANGE.maxMs) return 'must lie in 2000–2099';
  return undefined;
}

/** A local calendar date from a device. */
export function DeviceDate(options: TStringOptions = {}) {
  return Type.Refine(
    Type.String({ format: 'date', ...options }),
    (s: string) => dateProblem(s) === undefined,
    (s: string) => dateProblem(s) ?? 'invalid date',
  );
}
