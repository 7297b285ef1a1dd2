// Metric values → register words: the inverse of decode, used by the device stand-in to serve
// a template with simulated values. It picks SunSpec scale factors the way devices do: the most
// precise one at which every value sharing it still fits its register.
import { emptyBank, functionOf, type RegisterBank } from './decode.ts';
import { type RegisterEntry, registerWidth, type Template } from './template.ts';

const RANGE: Record<string, [number, number]> = {
  uint16: [0, 0xffff],
  int16: [-0x8000, 0x7fff],
  sunssf: [-10, 10],
  uint32: [0, 0xffffffff],
  acc32: [0, 0xffffffff],
  int32: [-0x80000000, 0x7fffffff],
};

const NOT_IMPLEMENTED: Record<string, number[]> = {
  uint16: [0xffff],
  int16: [0x8000],
  sunssf: [0x8000],
  uint32: [0xffff, 0xffff],
  int32: [0x8000, 0x0000],
  acc32: [0, 0],
  float32: [0x7fc0, 0x0000],
};

export interface Identity {
  vendor?: string;
  model?: string;
  serial?: string;
  firmware?: string;
}

/** Words for one numeric entry from its raw (unscaled) value. */
export function encodeRaw(entry: RegisterEntry, raw: number, order: 'big' | 'little'): number[] {
  let hi: number;
  let lo: number;
  if (entry.type === 'float32') {
    const buf = Buffer.alloc(4);
    buf.writeFloatBE(raw, 0);
    hi = buf.readUInt16BE(0);
    lo = buf.readUInt16BE(2);
  } else {
    const [min, max] = RANGE[entry.type] ?? [0, 0xffff];
    const v = Math.min(max, Math.max(min, Math.round(raw)));
    if (registerWidth(entry) === 1) return [v < 0 ? v + 0x10000 : v];
    const u = v < 0 ? v + 0x100000000 : v;
    hi = Math.floor(u / 0x10000);
    lo = u % 0x10000;
  }
  return order === 'big' ? [hi, lo] : [lo, hi];
}

function encodeString(text: string, length: number): number[] {
  const buf = Buffer.alloc(length * 2);
  buf.write(text.slice(0, length * 2), 'latin1');
  return Array.from({ length }, (_, i) => buf.readUInt16BE(i * 2));
}

/** Value of an entry before scaling, i.e. what the device would hold given our metric value. */
const unscaled = (r: RegisterEntry, value: number): number =>
  (r.sign === 'invert' ? -value : value) / (r.scale ?? 1);

function fits(r: RegisterEntry, raw: number): boolean {
  const [min, max] = RANGE[r.type] ?? [-Infinity, Infinity];
  return Math.round(raw) >= min && Math.round(raw) <= max;
}

function chooseScaleFactors(template: Template, metrics: Record<string, number>): Map<string, number> {
  const chosen = new Map<string, number>();
  for (const sf of template.registers.filter((r) => r.type === 'sunssf')) {
    const users = template.registers.filter(
      (r) => r.scaleFactor === sf.name && r.metric && r.metric in metrics,
    );
    let pick = 0;
    for (let e = -3; e <= 10; e++) {
      pick = e;
      if (users.every((r) => fits(r, unscaled(r, metrics[r.metric!]!) / 10 ** e))) break;
    }
    chosen.set(sf.name, pick);
  }
  return chosen;
}

/**
 * Values for the terms of derived metrics the caller lacks: e.g. a simulated solar_w is split
 * over GoodWe's two PV strings, so that decoding sums back to exactly what was served.
 */
function withDerivedTerms(template: Template, metrics: Record<string, number>): Record<string, number> {
  const out = { ...metrics };
  for (const d of template.derived ?? []) {
    const total = out[d.metric];
    if (total === undefined) continue;
    const name = (term: string) => term.replace(/^-/, '');
    const sign = (term: string) => (term.startsWith('-') ? -1 : 1);
    const missing = d.sum.filter((t) => !(name(t) in out));
    if (missing.length === 0) continue;
    let rest =
      total - d.sum.filter((t) => name(t) in out).reduce((acc, t) => acc + sign(t) * out[name(t)]!, 0);
    missing.forEach((t, i) => {
      const part = i === missing.length - 1 ? rest : Math.round(rest / (missing.length - i));
      out[name(t)] = sign(t) * part;
      rest -= part;
    });
  }
  return out;
}

/**
 * Registers a device described by `template` would hold for these metric values. Metrics the
 * caller lacks are served as "not implemented" (SunSpec templates) or 0.
 */
export function encodeRegisters(
  template: Template,
  metrics: Record<string, number>,
  identity: Identity = {},
): RegisterBank {
  const bank = emptyBank();
  metrics = withDerivedTerms(template, metrics);
  const sfs = chooseScaleFactors(template, metrics);
  const sunspec = template.notImplemented === 'sunspec';
  for (const r of template.registers) {
    const order = r.wordOrder ?? template.wordOrder ?? 'big';
    let words: number[];
    if (r.type === 'string') {
      words = encodeString((r.info && identity[r.info]) ?? '', r.length ?? 1);
    } else if (r.expect !== undefined) {
      words = encodeRaw(r, r.expect, order);
    } else if (r.type === 'sunssf') {
      words = encodeRaw(r, sfs.get(r.name) ?? 0, order);
    } else if (r.metric && r.metric in metrics) {
      const sf = r.scaleFactor === undefined ? 0 : (sfs.get(r.scaleFactor) ?? 0);
      words = encodeRaw(r, unscaled(r, metrics[r.metric]!) / 10 ** sf, order);
    } else {
      words = sunspec
        ? (NOT_IMPLEMENTED[r.type] ?? [0, 0]).slice(0, registerWidth(r))
        : Array(registerWidth(r)).fill(0);
    }
    const regs = bank[functionOf(template, r)];
    words.forEach((w, i) => {
      regs.set(r.address + i, w);
    });
  }
  return bank;
}
