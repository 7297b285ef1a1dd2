// Register words → metric values, as a pure function so it can be tested from byte fixtures.
// Also plans the reads: registers grouped into as few contiguous requests as possible.
import type { RegisterEntry, RegisterFunction, Template } from './template.ts';
import { registerWidth } from './template.ts';

/** Register words the device returned, by function and protocol address. */
export interface RegisterBank {
  holding: Map<number, number>;
  input: Map<number, number>;
}

export const emptyBank = (): RegisterBank => ({ holding: new Map(), input: new Map() });

/** Builds a bank from blocks `{ start: [word, word, …] }` (as fixtures and reads give them). */
export function bankFromBlocks(
  blocks: Partial<Record<RegisterFunction, Record<number, readonly number[]>>>,
): RegisterBank {
  const bank = emptyBank();
  for (const fn of ['holding', 'input'] as const) {
    for (const [start, words] of Object.entries(blocks[fn] ?? {})) {
      words.forEach((w, i) => {
        bank[fn].set(Number(start) + i, w);
      });
    }
  }
  return bank;
}

export interface Decoded {
  metrics: { metric: string; value: number }[];
  /** Every decoded register by name (scale factors and markers included), after scaling. */
  values: Record<string, number | string>;
  info: { vendor?: string; model?: string; serial?: string; firmware?: string };
  /** Registers holding a "not implemented" value (or whose scale factor does). */
  skipped: string[];
  /** Registers the bank did not hold: a read plan / template mismatch. */
  missing: string[];
  /** Markers (`expect`) that did not match: probably the wrong template or base address. */
  mismatched: { name: string; expected: number; actual: number }[];
}

export const functionOf = (t: Template, r: RegisterEntry): RegisterFunction =>
  r.function ?? t.function ?? 'holding';

// SunSpec "not implemented" values, per type.
const SUNSPEC_NI: Record<string, number> = {
  uint16: 0xffff,
  int16: -0x8000,
  sunssf: -0x8000,
  uint32: 0xffffffff,
  int32: -0x80000000,
  acc32: 0,
};

/** Raw (unscaled) value of a numeric entry from its words; strings are handled apart. */
export function rawValue(entry: RegisterEntry, words: readonly number[], order: 'big' | 'little'): number {
  const [a = 0, b = 0] = words;
  const [hi, lo] = order === 'big' ? [a, b] : [b, a];
  switch (entry.type) {
    case 'uint16':
      return a;
    case 'int16':
    case 'sunssf':
      return a >= 0x8000 ? a - 0x10000 : a;
    case 'uint32':
    case 'acc32':
      return hi * 0x10000 + lo;
    case 'int32': {
      const u = hi * 0x10000 + lo;
      return u >= 0x80000000 ? u - 0x100000000 : u;
    }
    case 'float32': {
      const buf = Buffer.alloc(4);
      buf.writeUInt16BE(hi, 0);
      buf.writeUInt16BE(lo, 2);
      return buf.readFloatBE(0);
    }
    case 'string':
      return Number.NaN;
  }
}

function decodeString(words: readonly number[]): string {
  const buf = Buffer.alloc(words.length * 2);
  words.forEach((w, i) => {
    buf.writeUInt16BE(w, i * 2);
  });
  return buf.toString('latin1').replace(/\0.*$/s, '').trim();
}

/** Removes binary floating-point dust (2301 × 0.1 = 230.10000000000002). */
const tidy = (x: number): number => Number(x.toPrecision(12));

export function decodeRegisters(template: Template, bank: RegisterBank): Decoded {
  const out: Decoded = { metrics: [], values: {}, info: {}, skipped: [], missing: [], mismatched: [] };
  const sunspec = template.notImplemented === 'sunspec';
  const raws = new Map<string, number>();
  const skip = new Set<string>();
  // First pass: raw values (scale factors must be known before anything refers to them).
  for (const r of template.registers) {
    const regs = bank[functionOf(template, r)];
    const words: number[] = [];
    for (let i = 0; i < registerWidth(r); i++) {
      const w = regs.get(r.address + i);
      if (w === undefined) break;
      words.push(w);
    }
    if (words.length < registerWidth(r)) {
      out.missing.push(r.name);
      continue;
    }
    if (r.type === 'string') {
      const text = decodeString(words);
      if (text === '') skip.add(r.name);
      else {
        out.values[r.name] = text;
        if (r.info) out.info[r.info] = text;
      }
      continue;
    }
    const raw = rawValue(r, words, r.wordOrder ?? template.wordOrder ?? 'big');
    if (Number.isNaN(raw) || (sunspec && raw === SUNSPEC_NI[r.type])) skip.add(r.name);
    else raws.set(r.name, raw);
    if (r.expect !== undefined && raw !== r.expect)
      out.mismatched.push({ name: r.name, expected: r.expect, actual: raw });
  }
  // Second pass: scaling, sign, metrics.
  const byMetric = new Map<string, number>();
  for (const r of template.registers) {
    const raw = raws.get(r.name);
    if (raw === undefined) continue;
    let value = raw * (r.scale ?? 1);
    if (r.scaleFactor !== undefined) {
      const sf = raws.get(r.scaleFactor);
      if (sf === undefined) {
        skip.add(r.name);
        continue;
      }
      value = sf < 0 ? value / 10 ** -sf : value * 10 ** sf;
    }
    if (r.sign === 'invert') value = -value;
    value = tidy(value) + 0; // + 0 turns -0 into 0
    out.values[r.name] = value;
    if (r.metric) {
      out.metrics.push({ metric: r.metric, value });
      byMetric.set(r.metric, value);
    }
  }
  for (const d of template.derived ?? []) {
    let total = 0;
    let complete = true;
    for (const term of d.sum) {
      const v = byMetric.get(term.replace(/^-/, ''));
      if (v === undefined) complete = false;
      else total += term.startsWith('-') ? -v : v;
    }
    if (complete) out.metrics.push({ metric: d.metric, value: tidy(total) + 0 });
  }
  out.skipped = template.registers.filter((r) => skip.has(r.name)).map((r) => r.name);
  return out;
}

export interface ReadBlock {
  function: RegisterFunction;
  address: number;
  length: number;
}

/** Modbus allows 125 registers per read; stay a little below for devices that choke at the limit. */
export const MAX_READ = 120;

/**
 * Groups every register of one or more templates (read from the same device) into as few reads
 * as possible; two spans merge across a gap only when both templates allow that gap.
 */
export function planReads(templates: Template | readonly Template[]): ReadBlock[] {
  const list: readonly Template[] = Array.isArray(templates) ? templates : [templates as Template];
  const blocks: ReadBlock[] = [];
  for (const fn of ['holding', 'input'] as const) {
    const spans = list
      .flatMap((t) =>
        t.registers
          .filter((r) => functionOf(t, r) === fn)
          .map((r) => ({ start: r.address, end: r.address + registerWidth(r), gap: t.maxGap ?? 0 })),
      )
      .sort((a, b) => a.start - b.start);
    let cur: { start: number; end: number; gap: number } | undefined;
    for (const s of spans) {
      const fitsGap = cur && s.start - cur.end <= Math.min(cur.gap, s.gap);
      if (cur && fitsGap && Math.max(cur.end, s.end) - cur.start <= MAX_READ) {
        cur.end = Math.max(cur.end, s.end);
        cur.gap = s.gap;
        continue;
      }
      if (cur) blocks.push({ function: fn, address: cur.start, length: cur.end - cur.start });
      cur = { ...s };
    }
    if (cur) blocks.push({ function: fn, address: cur.start, length: cur.end - cur.start });
  }
  return blocks;
}
