// Reads the hand-written register fixtures in test/fixtures/modbus: hex words per block start,
// `XXXX*N` repeating a word N times, with the metric values a correct decoder must produce.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { bankFromBlocks, type RegisterBank } from '../../src/sources/modbus/decode.ts';

export const TEMPLATES_DIR = fileURLToPath(new URL('../../templates', import.meta.url));
export const FIXTURES_DIR = fileURLToPath(new URL('../fixtures/modbus', import.meta.url));

export interface RegisterFixture {
  template: string;
  bank: RegisterBank;
  expect: { metrics: Record<string, number>; skipped: string[]; info?: Record<string, string> };
}

export function parseWords(text: string): number[] {
  return text
    .trim()
    .split(/\s+/)
    .flatMap((token) => {
      const m = /^([0-9A-Fa-f]{4})(?:\*(\d+))?$/.exec(token);
      if (!m) throw new Error(`bad register word "${token}"`);
      return Array<number>(Number(m[2] ?? 1)).fill(Number.parseInt(m[1]!, 16));
    });
}

export async function loadFixture(name: string): Promise<RegisterFixture> {
  const doc = parse(await readFile(`${FIXTURES_DIR}/${name}.yaml`, 'utf8'));
  const blocks: Record<string, Record<number, number[]>> = {};
  for (const [fn, starts] of Object.entries(doc.registers as Record<string, Record<string, string>>)) {
    blocks[fn] = Object.fromEntries(
      Object.entries(starts).map(([start, words]) => [Number(start), parseWords(words)]),
    );
  }
  return { template: doc.template, bank: bankFromBlocks(blocks), expect: doc.expect };
}
