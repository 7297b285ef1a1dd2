// Conformance: every shipped template is valid and decodes its byte fixture to the known values.
import assert from 'node:assert/strict';
import { access } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { type Problem, WattfleetError } from '@wattfleet/protocol';
import { bankFromBlocks, decodeRegisters, planReads } from '../../src/sources/modbus/decode.ts';
import { encodeRegisters } from '../../src/sources/modbus/encode.ts';
import {
  listTemplates,
  loadTemplate,
  parseTemplate,
  templateProblems,
} from '../../src/sources/modbus/template.ts';
import { FIXTURES_DIR, loadFixture, TEMPLATES_DIR } from './fixtures.ts';

const names = await listTemplates(TEMPLATES_DIR);

const problemsOf = (fn: () => unknown): Problem[] => {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof WattfleetError, `expected a WattfleetError, got ${err}`);
    assert.equal(err.code, 'WF_VALIDATION');
    return err.problems ?? [];
  }
  assert.fail('expected the template to be refused');
};

describe('every template', () => {
  it('ships the expected set', () => {
    for (const n of ['sunspec-common', 'sunspec-inverter-101', 'sunspec-inverter-103', 'sunspec-meter-201']) {
      assert.ok(names.includes(n), n);
    }
    assert.ok(names.includes('sunspec-meter-203') && names.includes('goodwe-et'));
  });

  for (const name of names) {
    describe(name, () => {
      it('is valid and has a register fixture', async () => {
        const t = await loadTemplate(TEMPLATES_DIR, name);
        assert.equal(t.template, name);
        await access(`${FIXTURES_DIR}/${name}.yaml`).catch(() =>
          assert.fail(`add test/fixtures/modbus/${name}.yaml`),
        );
      });

      it('decodes its fixture to the known metric values', async () => {
        const t = await loadTemplate(TEMPLATES_DIR, name);
        const fx = await loadFixture(name);
        assert.equal(fx.template, name);
        const d = decodeRegisters(t, fx.bank);
        assert.deepEqual(d.missing, [], 'fixture must cover every register');
        assert.deepEqual(d.mismatched, []);
        assert.deepEqual(Object.fromEntries(d.metrics.map((m) => [m.metric, m.value])), fx.expect.metrics);
        assert.equal(new Set(d.metrics.map((m) => m.metric)).size, d.metrics.length, 'one value per metric');
        assert.deepEqual(d.skipped, fx.expect.skipped);
        if (fx.expect.info) assert.deepEqual(d.info, fx.expect.info);
      });

      it('reads its fixture blocks in as few requests as they allow', async () => {
        const t = await loadTemplate(TEMPLATES_DIR, name);
        for (const b of planReads(t)) assert.ok(b.length <= 120 && b.length >= 1);
        // Every register is inside a planned block.
        const blocks = planReads(t);
        for (const r of t.registers) {
          const fn = r.function ?? t.function ?? 'holding';
          assert.ok(
            blocks.some(
              (b) => b.function === fn && r.address >= b.address && r.address < b.address + b.length,
            ),
            `${r.name} is read`,
          );
        }
      });

      it('encodes metric values that decode back to the same values', async () => {
        const t = await loadTemplate(TEMPLATES_DIR, name);
        const fx = await loadFixture(name);
        const bank = encodeRegisters(t, fx.expect.metrics, fx.expect.info ?? {});
        const d = decodeRegisters(t, bank);
        assert.deepEqual(d.mismatched, []);
        const back = Object.fromEntries(d.metrics.map((m) => [m.metric, m.value]));
        for (const [metric, value] of Object.entries(fx.expect.metrics)) {
          assert.ok(
            Math.abs((back[metric] ?? Number.NaN) - value) < 1e-9,
            `${metric}: ${back[metric]} ≠ ${value}`,
          );
        }
      });
    });
  }
});

describe('decoding details', () => {
  it('groups SunSpec common + inverter into one read', async () => {
    const common = await loadTemplate(TEMPLATES_DIR, 'sunspec-common');
    const inverter = await loadTemplate(TEMPLATES_DIR, 'sunspec-inverter-103');
    assert.deepEqual(planReads([common, inverter]), [{ function: 'holding', address: 40000, length: 109 }]);
  });

  it('reports a marker that does not match (wrong model at that address)', async () => {
    const t = await loadTemplate(TEMPLATES_DIR, 'sunspec-inverter-101');
    const fx = await loadFixture('sunspec-inverter-103');
    const d = decodeRegisters(t, fx.bank);
    assert.deepEqual(d.mismatched, [{ name: 'ID', expected: 101, actual: 103 }]);
  });

  it('lists registers the bank lacks instead of inventing values', async () => {
    const t = await loadTemplate(TEMPLATES_DIR, 'modbus-relay');
    const d = decodeRegisters(t, bankFromBlocks({ holding: { 0: [1, 100, 2300, 5] } }));
    assert.deepEqual(d.missing, ['energy']);
    assert.deepEqual(
      d.metrics.map((m) => m.metric),
      ['relay_state', 'power_w', 'voltage_l1'],
    );
  });

  it('decodes float32 in both word orders and skips NaN', () => {
    const t = parseTemplate(`
template: float-test
description: float32 decoding
registers:
  - { name: big, address: 0, type: float32, unit: W, metric: power_w }
  - { name: little, address: 2, type: float32, wordOrder: little, unit: V, metric: voltage_l1 }
  - { name: nan, address: 4, type: float32, unit: Hz, metric: frequency_hz }
`);
    // -1234.5 = 0xC49A5000; 230.25 = 0x43664000; NaN = 0x7FC00000
    const d = decodeRegisters(
      t,
      bankFromBlocks({ holding: { 0: [0xc49a, 0x5000, 0x4000, 0x4366, 0x7fc0, 0] } }),
    );
    assert.deepEqual(d.metrics, [
      { metric: 'power_w', value: -1234.5 },
      { metric: 'voltage_l1', value: 230.25 },
    ]);
    assert.deepEqual(d.skipped, ['nan']);
  });

  it('keeps 0x8000 / 0xFFFF as numbers when the template is not SunSpec', () => {
    const t = parseTemplate(`
template: plain
description: no sentinels
registers:
  - { name: a, address: 0, type: int16, unit: W, metric: power_w }
  - { name: b, address: 1, type: uint16, unit: V, metric: voltage_l1 }
`);
    const d = decodeRegisters(t, bankFromBlocks({ holding: { 0: [0x8000, 0xffff] } }));
    assert.deepEqual(d.metrics, [
      { metric: 'power_w', value: -32768 },
      { metric: 'voltage_l1', value: 65535 },
    ]);
  });
});

describe('invalid templates', () => {
  it('lists every schema problem at once, unknown keys included', () => {
    const problems = templateProblems({
      template: 'Bad Name',
      kind: 'toaster',
      colour: 'red',
      registers: [
        { name: 'W', address: 70000, type: 'int17', metric: 'solar_w' },
        { name: 'V', address: 1, type: 'uint16', scaleFactor: 'V_SF', bogus: true },
      ],
    });
    const paths = problems.map((p) => p.path);
    for (const path of ['/template', '/kind', '/registers/0/address', '/registers/0/type', '/registers/1']) {
      assert.ok(
        paths.some((p) => p.startsWith(path)),
        `a problem at ${path} in ${JSON.stringify(problems, null, 1)}`,
      );
    }
    assert.ok(
      problems.some((p) => /description/.test(p.message) || p.path === '/description' || p.path === ''),
    );
    assert.ok(problems.some((p) => /colour|additional|unexpected/i.test(JSON.stringify(p))));
    assert.ok(problems.length >= 6, `only ${problems.length} problems`);
  });

  it('lists every meaning problem at once', () => {
    const problems = problemsOf(() =>
      parseTemplate(`
template: meaning
description: well-formed but wrong
registers:
  - { name: W, address: 10, type: int16, scaleFactor: W_SF, unit: kW, metric: solar_w }
  - { name: W_SF, address: 11, type: int16 }
  - { name: X, address: 11, type: uint32, metric: not_a_metric }
  - { name: W, address: 20, type: string }
  - { name: R, address: 30, type: uint32, writable: true, metric: relay_state }
  - { name: Z, address: 31, type: uint16, scaleFactor: nowhere }
derived:
  - { metric: load_w, sum: [solar_w, grid_w] }
`),
    );
    const messages = problems.map((p) => `${p.path} ${p.message}`).join('\n');
    for (const expected of [
      /registers\/0\/scaleFactor .*not of type sunssf/,
      /registers\/0\/unit .*solar_w is in "W"/,
      /registers\/2\/metric .*not_a_metric/,
      /registers\/2\/address .*already used by "W_SF"/,
      /registers\/3\/name .*duplicate/,
      /registers\/3\/length .*string needs a length/,
      /registers\/4\/writable/,
      /registers\/5\/scaleFactor .*no register named "nowhere"/,
      /derived\/0\/sum\/1 .*grid_w/,
    ]) {
      assert.match(messages, expected);
    }
  });

  it('reports YAML syntax errors with their line', () => {
    const problems = problemsOf(() => parseTemplate('template: x\nregisters: [\n  - a: 1\n'));
    assert.ok(problems.length >= 1);
    assert.match(problems[0]!.message, /YAML line \d+/);
  });

  it('refuses a template whose name does not match its file', () => {
    const problems = problemsOf(() =>
      parseTemplate(
        'template: other\ndescription: d\nregisters:\n  - { name: a, address: 0, type: uint16 }\n',
        'expected',
      ),
    );
    assert.match(problems[0]!.message, /other\.yaml/);
  });
});
