// Device templates: a Modbus register map as YAML data, so most devices need no code (evcc's
// model). A template is checked strictly, by schema and then by meaning (scale-factor references,
// metric names, overlaps), and every problem is listed at once.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { EquipmentKindSchema } from '@wattfleet/devices/sources';
import {
  checker,
  isAcceptedMetric,
  metricDefinition,
  type Problem,
  WattfleetError,
} from '@wattfleet/protocol';
import Type, { type Static } from 'typebox';
import { LineCounter, parseDocument } from 'yaml';

const strict = { additionalProperties: false } as const;

export { EquipmentKindSchema };

const Name = Type.String({ pattern: '^[A-Za-z][A-Za-z0-9_]{0,63}$' });

// Enums rather than unions of literals: a wrong value then gives one problem, not one per option.
export const RegisterType = Type.Enum(
  // acc32: SunSpec 32-bit accumulator (energy counters); sunssf: SunSpec scale factor, a signed
  // power of ten other registers refer to; string: ASCII, two characters per register, NUL-padded.
  ['uint16', 'int16', 'uint32', 'int32', 'float32', 'acc32', 'sunssf', 'string'],
);
export type RegisterType = Static<typeof RegisterType>;

export const WordOrder = Type.Enum(['big', 'little'], {
  description: 'big: high word first (the Modbus norm); little: low word first',
});
export type WordOrder = Static<typeof WordOrder>;

export const RegisterFunction = Type.Enum(['holding', 'input']);
export type RegisterFunction = Static<typeof RegisterFunction>;

export const RegisterEntry = Type.Object(
  {
    name: Name,
    /** Protocol (0-based) address, as sent on the wire. */
    address: Type.Integer({ minimum: 0, maximum: 65535 }),
    function: Type.Optional(RegisterFunction),
    type: RegisterType,
    /** Registers a string spans. */
    length: Type.Optional(Type.Integer({ minimum: 1, maximum: 64 })),
    wordOrder: Type.Optional(WordOrder),
    /** Fixed multiplier, e.g. 0.1 for a register in tenths of a volt. */
    scale: Type.Optional(Type.Number()),
    /** Name of a `sunssf` register: value × 10^sf (applied after `scale`). */
    scaleFactor: Type.Optional(Name),
    /** Unit after scaling; must match the metric's unit in the catalogue. */
    unit: Type.Optional(Type.String({ maxLength: 16 })),
    metric: Type.Optional(Type.String({ minLength: 1, maxLength: 63 })),
    /** invert: the device counts the other way round than our sign conventions. */
    sign: Type.Optional(Type.Enum(['normal', 'invert'])),
    /** Fills the equipment's identity instead of a metric. */
    info: Type.Optional(Type.Enum(['vendor', 'model', 'serial', 'firmware'])),
    /** A marker the device must hold (e.g. SunSpec model id); also what a stand-in serves. */
    expect: Type.Optional(Type.Integer()),
    /** The agent may write this register (e.g. a relay's on/off). */
    writable: Type.Optional(Type.Boolean()),
    description: Type.Optional(Type.String({ maxLength: 200 })),
  },
  strict,
);
export type RegisterEntry = Static<typeof RegisterEntry>;

/**
 * One switchable channel of a relay board: a coil (function 5 write, 1 read: most boards) or a
 * 16-bit holding register (1 = on, 0 = off). The agent writes it and reads it back to confirm.
 */
export const RelayEntry = Type.Object(
  {
    channel: Type.String({ pattern: '^[A-Za-z0-9_-]{1,32}$' }),
    function: Type.Enum(['coil', 'holding']),
    address: Type.Integer({ minimum: 0, maximum: 65535 }),
    label: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
  },
  strict,
);
export type RelayEntry = Static<typeof RelayEntry>;

/** A metric computed from others, e.g. load = PV + battery + grid when no meter measures it. */
export const DerivedEntry = Type.Object(
  {
    metric: Type.String({ minLength: 1, maxLength: 63 }),
    /** Metric names, optionally prefixed by '-' to subtract. */
    sum: Type.Array(Type.String({ pattern: '^-?[a-z][a-z0-9_]{0,62}$' }), { minItems: 1, maxItems: 16 }),
  },
  strict,
);
export type DerivedEntry = Static<typeof DerivedEntry>;

export const Template = Type.Object(
  {
    template: Type.String({ pattern: '^[a-z0-9][a-z0-9-]{0,63}$' }),
    description: Type.String({ minLength: 1, maxLength: 300 }),
    /** Absent for building blocks such as the SunSpec common model, which any device carries. */
    kind: Type.Optional(EquipmentKindSchema),
    vendor: Type.Optional(Type.String({ maxLength: 64 })),
    model: Type.Optional(Type.String({ maxLength: 64 })),
    /** `sunspec`: 0x8000, 0xFFFF, 0x80000000, NaN, … mean "not implemented" and are skipped. */
    notImplemented: Type.Optional(Type.Enum(['sunspec', 'none'])),
    function: Type.Optional(RegisterFunction),
    wordOrder: Type.Optional(WordOrder),
    /** Unused registers a single read may span to merge two blocks (0 = contiguous only). */
    maxGap: Type.Optional(Type.Integer({ minimum: 0, maximum: 100 })),
    /** Metered registers; a pure relay board may have none (its channels are in `relays`). */
    registers: Type.Array(RegisterEntry, { maxItems: 500 }),
    /** Switchable channels of a multi-channel relay board. */
    relays: Type.Optional(Type.Array(RelayEntry, { minItems: 1, maxItems: 64 })),
    derived: Type.Optional(Type.Array(DerivedEntry, { maxItems: 32 })),
  },
  strict,
);
export type Template = Static<typeof Template>;

const checkTemplate = checker(Template);

/** Registers a type occupies. */
export function registerWidth(entry: RegisterEntry): number {
  if (entry.type === 'string') return entry.length ?? 1;
  return ['uint32', 'int32', 'float32', 'acc32'].includes(entry.type) ? 2 : 1;
}

/** Checks that need the whole template: references, names, overlaps. Assumes the schema passed. */
function meaningProblems(t: Template): Problem[] {
  const problems: Problem[] = [];
  const byName = new Map<string, RegisterEntry>();
  t.registers.forEach((r, i) => {
    const at = `/registers/${i}`;
    if (byName.has(r.name))
      problems.push({ path: `${at}/name`, message: `duplicate register name "${r.name}"` });
    byName.set(r.name, r);
  });
  const used = new Map<string, string>(); // "function:address" → name
  t.registers.forEach((r, i) => {
    const at = `/registers/${i}`;
    const fn = r.function ?? t.function ?? 'holding';
    if (r.type === 'string' && r.length === undefined)
      problems.push({ path: `${at}/length`, message: 'a string needs a length' });
    if (r.type !== 'string' && r.length !== undefined)
      problems.push({ path: `${at}/length`, message: 'only strings have a length' });
    if (r.type === 'string' && (r.metric || r.scale !== undefined || r.scaleFactor))
      problems.push({ path: at, message: 'a string cannot carry a metric or a scale' });
    if (r.info && r.type !== 'string')
      problems.push({ path: `${at}/info`, message: 'info comes from string registers' });
    if (r.metric && r.info)
      problems.push({ path: at, message: 'an entry is either a metric or info, not both' });
    if (r.scale === 0) problems.push({ path: `${at}/scale`, message: 'a scale of 0 hides every value' });
    if (r.scaleFactor !== undefined) {
      const sf = byName.get(r.scaleFactor);
      if (!sf) problems.push({ path: `${at}/scaleFactor`, message: `no register named "${r.scaleFactor}"` });
      else if (sf.type !== 'sunssf')
        problems.push({ path: `${at}/scaleFactor`, message: `"${r.scaleFactor}" is not of type sunssf` });
    }
    if (r.metric !== undefined) {
      if (!isAcceptedMetric(r.metric)) {
        problems.push({
          path: `${at}/metric`,
          message: `"${r.metric}" is not a catalogue metric nor x_ custom`,
        });
      } else {
        const def = metricDefinition(r.metric);
        if (def && r.unit !== undefined && r.unit !== def.unit)
          problems.push({ path: `${at}/unit`, message: `${r.metric} is in "${def.unit}", not "${r.unit}"` });
      }
    }
    if (r.writable && (fn !== 'holding' || (r.type !== 'uint16' && r.type !== 'int16')))
      problems.push({ path: `${at}/writable`, message: 'only 16-bit holding registers are writable' });
    const width = registerWidth(r);
    if (r.address + width - 1 > 65535)
      problems.push({ path: `${at}/address`, message: 'runs past address 65535' });
    for (let a = r.address; a < r.address + width; a++) {
      const other = used.get(`${fn}:${a}`);
      if (other !== undefined) {
        problems.push({
          path: `${at}/address`,
          message: `${fn} register ${a} is already used by "${other}"`,
        });
        break;
      }
      used.set(`${fn}:${a}`, r.name);
    }
  });
  if (t.registers.length === 0 && !t.relays)
    problems.push({ path: '/registers', message: 'a template needs registers or relays' });
  const channels = new Set<string>();
  t.relays?.forEach((r, i) => {
    const at = `/relays/${i}`;
    if (channels.has(r.channel))
      problems.push({ path: `${at}/channel`, message: `duplicate channel "${r.channel}"` });
    channels.add(r.channel);
    const other = used.get(`${r.function}:${r.address}`);
    if (other !== undefined) {
      problems.push({
        path: `${at}/address`,
        message: `${r.function} ${r.address} is already used by "${other}"`,
      });
    }
    used.set(`${r.function}:${r.address}`, `relay ${r.channel}`);
  });
  if (t.relays && t.registers.some((r) => r.writable && r.metric === 'relay_state'))
    problems.push({
      path: '/relays',
      message: 'a template switches either through relays or a relay_state register',
    });
  const metrics = new Set(t.registers.flatMap((r) => (r.metric ? [r.metric] : [])));
  t.derived?.forEach((d, i) => {
    const at = `/derived/${i}`;
    if (!isAcceptedMetric(d.metric))
      problems.push({ path: `${at}/metric`, message: `"${d.metric}" is not accepted` });
    if (metrics.has(d.metric))
      problems.push({ path: `${at}/metric`, message: `"${d.metric}" is also read from a register` });
    d.sum.forEach((term, j) => {
      const name = term.replace(/^-/, '');
      if (!metrics.has(name))
        problems.push({ path: `${at}/sum/${j}`, message: `no register gives "${name}"` });
    });
  });
  return problems;
}

/** Every problem in a parsed template document (schema first; meaning only once the shape is right). */
export function templateProblems(doc: unknown): Problem[] {
  const shape = checkTemplate.problems(doc);
  return shape.length > 0 ? shape : meaningProblems(doc as Template);
}

/** Parses and checks YAML text; throws WF_VALIDATION with every problem. */
export function parseTemplate(text: string, expectedName?: string): Template {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true });
  const problems: Problem[] = doc.errors.map((e) => ({
    path: '',
    message: `YAML line ${e.linePos?.[0].line ?? '?'}: ${e.message.split('\n')[0]}`,
  }));
  const value: unknown = problems.length === 0 ? doc.toJS() : undefined;
  if (problems.length === 0) problems.push(...templateProblems(value));
  const name = (value as { template?: unknown } | undefined)?.template;
  if (expectedName !== undefined && problems.length === 0 && name !== expectedName)
    problems.push({ path: '/template', message: `template "${String(name)}" must live in ${name}.yaml` });
  if (problems.length > 0) {
    throw new WattfleetError(
      'WF_VALIDATION',
      `invalid template${expectedName ? ` "${expectedName}"` : ''}`,
      problems,
    );
  }
  return value as Template;
}

export async function loadTemplate(dir: string, name: string): Promise<Template> {
  if (!/^[a-z0-9][a-z0-9-]{0,63}$/.test(name))
    throw new WattfleetError('WF_VALIDATION', `bad template name "${name}"`);
  const text = await readFile(join(dir, `${name}.yaml`), 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') throw new WattfleetError('WF_NOT_FOUND', `no template "${name}" in ${dir}`);
    throw err;
  });
  return parseTemplate(text, name);
}

/** Names of every template in a directory. */
export async function listTemplates(dir: string): Promise<string[]> {
  const files = await readdir(dir);
  return files
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => f.slice(0, -'.yaml'.length))
    .sort();
}
