// Arbitraries of the fuzz harness (fast-check): hostile values, near-valid values built from a JSON
// schema (so a request gets past the first check and reaches deeper code), and mutations of them.
// Every free-form string carries MARK, which the runner replaces by a per-input marker: a marker
// found in the database after an input was refused is "stored from bad input".
import fc from 'fast-check';

export const MARK = '@@M@@';

/** JSON Schema as found in the OpenAPI document (TypeBox output, OpenAPI 3.0 `nullable`). */
export interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  enum?: unknown[];
  const?: unknown;
  format?: string;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  minItems?: number;
  maxItems?: number;
  nullable?: boolean;
}

const HOSTILE_STRINGS = [
  '',
  ' ',
  '\u0000',
  `a\u0000b${MARK}`,
  `\ud800${MARK}`,
  `x\udfffy${MARK}`,
  '\uffff',
  '0000-01-01',
  '2024-02-30',
  '10000-01-01',
  '2024-13-01',
  '2024-00',
  '2024-01-01T00:00:00Z[UTC]',
  '2016-12-31T23:59:60Z',
  '2024-01-01T24:00:00Z',
  '2024-01-01T00:00:00',
  '+275760-09-13T00:00:00.000Z',
  '1970-01-01T00:00:00+24:00',
  'NaN',
  'Infinity',
  '-1',
  '1e309',
  '2147483648',
  '-2147483649',
  '9223372036854775808',
  '00000000-0000-0000-0000-000000000000',
  'ffffffff-ffff-ffff-ffff-ffffffffffff',
  "'; DROP TABLE sites; --",
  '%00',
  '../../etc/passwd',
  '{{7*7}}',
  '<script>alert(1)</script>',
  'null',
  'true',
  '[]',
  '{}',
  '\\',
  '\n\r\t',
  'x'.repeat(70_000),
  `${'é'.repeat(300)}${MARK}`,
  '🔥'.repeat(100),
];

const HOSTILE_NUMBERS = [
  0,
  -0,
  -1,
  0.5,
  2_147_483_647,
  2_147_483_648,
  -2_147_483_649,
  4_294_967_296,
  9_007_199_254_740_991,
  9_007_199_254_740_992,
  1e20,
  -1e20,
  1e308,
  Number.MIN_VALUE,
];

export const hostileString: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...HOSTILE_STRINGS) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }).map((s) => s + MARK) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 40 }).map((s) => s + MARK) },
);

export const hostileNumber: fc.Arbitrary<number> = fc.oneof(
  fc.constantFrom(...HOSTILE_NUMBERS),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);

export const hostileValue: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    hostileString,
    hostileNumber,
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 3 }),
    fc.dictionary(hostileString, tie('value'), { maxKeys: 3 }),
  ),
})).value;

/** Bodies that are not (or barely) JSON; sent as the raw text of an application/json body. */
export const hostileRawBody: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '',
    '{',
    '{"a":',
    'nul',
    '1e999',
    '"\\u0000"',
    '{"x":"\\ud800"}',
    '{"__proto__":{"admin":true}}',
    '{"constructor":{"prototype":{"x":1}}}',
    `${'['.repeat(50_000)}${']'.repeat(50_000)}`,
    `${'{"a":'.repeat(20_000)}1${'}'.repeat(20_000)}`,
    `[${'1,'.repeat(100_000)}1]`,
  ),
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.json({ maxDepth: 3 }),
);

const toIso = (d: Date) => d.toISOString();
const DATES = fc.date({
  min: new Date('2020-01-01T00:00:00Z'),
  max: new Date('2030-12-31T00:00:00Z'),
  noInvalidDate: true,
});

/** Values that satisfy the schema (mostly): ids come from `ids` (real rows) or are random. */
export function validFor(
  schema: JsonSchema | undefined,
  ids: readonly string[],
  depth = 0,
): fc.Arbitrary<unknown> {
  if (!schema || depth > 6) return hostileValue;
  const alts = schema.anyOf ?? schema.oneOf;
  if (alts) return fc.oneof(...alts.map((s) => validFor(s, ids, depth + 1)));
  if (schema.const !== undefined) return fc.constant(schema.const);
  if (schema.enum) return fc.constantFrom(...schema.enum);
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  const base = ((): fc.Arbitrary<unknown> => {
    switch (type) {
      case 'string':
        return stringFor(schema, ids);
      case 'integer':
      case 'number': {
        const min = Math.max(schema.minimum ?? Math.min(0, schema.maximum ?? 0), -1e9);
        const max = Math.max(min, Math.min(schema.maximum ?? min + 1000, 1e12));
        const inRange =
          type === 'integer'
            ? fc.integer({
                min: Math.ceil(min),
                max: Math.max(Math.ceil(min), Math.min(Math.floor(max), 2_147_483_647)),
              })
            : fc.double({ min, max, noNaN: true });
        // Unbounded integers are mostly epoch ms here: offer "now" so timestamps can be accepted.
        return schema.maximum === undefined && min <= Date.now()
          ? fc.oneof(
              inRange,
              fc.integer({ min: -600_000, max: 600_000 }).map((d) => Date.now() + d),
            )
          : inRange;
      }
      case 'boolean':
        return fc.boolean();
      case 'null':
        return fc.constant(null);
      case 'array':
        return fc.array(validFor(schema.items, ids, depth + 1), {
          minLength: schema.minItems ?? 0,
          maxLength: Math.min(schema.maxItems ?? 3, Math.max(schema.minItems ?? 0, 3)),
        });
      case 'object':
      case undefined: {
        if (!schema.properties && type === undefined) return hostileValue;
        const props = schema.properties ?? {};
        const required = new Set(schema.required ?? []);
        const shape: Record<string, fc.Arbitrary<unknown>> = {};
        for (const [k, s] of Object.entries(props)) shape[k] = validFor(s, ids, depth + 1);
        const obj = fc.record(shape, { requiredKeys: [...required].filter((k) => k in props) });
        const extra = schema.additionalProperties;
        if (extra && typeof extra === 'object') {
          return fc
            .tuple(
              obj,
              fc.dictionary(fc.string({ minLength: 1, maxLength: 12 }), validFor(extra, ids, depth + 1), {
                maxKeys: 3,
              }),
            )
            .map(([a, b]) => ({ ...b, ...a }));
        }
        return obj;
      }
      default:
        return hostileValue;
    }
  })();
  return schema.nullable ? fc.oneof(base, fc.constant(null)) : base;
}

function stringFor(schema: JsonSchema, ids: readonly string[]): fc.Arbitrary<string> {
  const max = schema.maxLength ?? 60;
  switch (schema.format) {
    case 'uuid':
      return ids.length
        ? fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...ids) }, { weight: 1, arbitrary: fc.uuid() })
        : fc.uuid();
    case 'date-time':
      return DATES.map(toIso);
    case 'date':
      return DATES.map((d) => toIso(d).slice(0, 10));
    case 'email':
      return fc.emailAddress();
  }
  if (schema.pattern) {
    return fc
      .stringMatching(new RegExp(schema.pattern))
      .filter((s) => s.length <= max && s.length >= (schema.minLength ?? 0));
  }
  const min = schema.minLength ?? 0;
  return fc
    .string({ minLength: min, maxLength: Math.max(min, Math.min(max, 24)) })
    .map((s) => (s.length + MARK.length <= max ? s + MARK : s));
}

export type Mutated =
  | { kind: 'json'; value: unknown; mutation: string }
  | { kind: 'raw'; text: string; mutation: 'raw' };

/** A near-valid value with one defect (or none: 'valid' exercises the handler itself). */
export function mutate(valid: fc.Arbitrary<unknown>): fc.Arbitrary<Mutated> {
  const asObj = (v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  return fc.oneof(
    { weight: 1, arbitrary: valid.map((value) => ({ kind: 'json' as const, value, mutation: 'valid' })) },
    {
      weight: 4,
      arbitrary: fc.tuple(valid, fc.nat(), hostileValue).map(([v, i, bad]) => {
        const o = { ...asObj(v) };
        const keys = Object.keys(o);
        if (keys.length === 0) return { kind: 'json' as const, value: bad, mutation: 'whole' };
        o[keys[i % keys.length]!] = bad;
        return { kind: 'json' as const, value: o, mutation: `field:${keys[i % keys.length]}` };
      }),
    },
    {
      weight: 1,
      arbitrary: fc.tuple(valid, hostileString, hostileValue).map(([v, k, bad]) => ({
        kind: 'json' as const,
        value: { ...asObj(v), [k]: bad },
        mutation: 'extra-key',
      })),
    },
    {
      weight: 1,
      arbitrary: fc.tuple(valid, fc.nat()).map(([v, i]) => {
        const o = { ...asObj(v) };
        const keys = Object.keys(o);
        if (keys.length) delete o[keys[i % keys.length]!];
        return { kind: 'json' as const, value: o, mutation: 'drop-key' };
      }),
    },
    {
      weight: 1,
      arbitrary: hostileValue.map((value) => ({ kind: 'json' as const, value, mutation: 'whole' })),
    },
    {
      weight: 1,
      arbitrary: hostileRawBody.map((text) => ({ kind: 'raw' as const, text, mutation: 'raw' as const })),
    },
  );
}

/** YAML built from the indicators that stress a parser, plus known hostile documents. */
export const hostileYaml: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '? '.repeat(1500),
    `${'['.repeat(20_000)}${']'.repeat(20_000)}`,
    `${'{a: '.repeat(3000)}1${'}'.repeat(3000)}`,
    `${'- '.repeat(3000)}a`,
    'a: *undefined_alias',
    'a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, *c, *c]',
    '? [a, [b, [c]]]\n: v',
    Array.from({ length: 30_000 }, (_, i) => `k${i}: v`)
      .join('\n')
      .slice(0, 262_144),
    '!!binary AAAA',
    '%YAML 9.9\n---\na: 1',
    'a: !!js/function "function(){}"',
  ),
  fc
    .array(
      fc.constantFrom(
        '? ',
        '- ',
        '[',
        ']',
        '{',
        '}',
        ': ',
        '&a ',
        '*a ',
        '!t ',
        '|',
        '>',
        "'",
        '"',
        '#',
        ',',
        '\n',
        '  ',
        'k',
        'v',
        '---\n',
        '\u0000',
        '\t',
      ),
      {
        maxLength: 400,
      },
    )
    .map((parts) => parts.join('')),
);
