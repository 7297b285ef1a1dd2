// Data contracts: every contract is consistent with the metric catalogue (units, names), and the
// interpreter finds out-of-range values, non-integer states and missing required metrics,
// aggregated per equipment/metric/rule.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  CONTRACTS,
  checkContracts,
  contractForKind,
  contractProblems,
  KIND_CONTRACTS,
} from '../src/contracts/index.ts';

const T = 1_700_000_000_000;

describe('data contracts', () => {
  it('every contract names catalogue metrics with the catalogue unit, and every kind maps to one', () => {
    for (const c of CONTRACTS) assert.deepEqual(contractProblems(c), [], c.id);
    for (const id of Object.values(KIND_CONTRACTS))
      assert.ok(
        CONTRACTS.some((c) => c.id === id),
        id,
      );
    assert.equal(contractForKind('inverter')?.id, 'inverter_v1');
    assert.equal(contractForKind('ct')?.id, 'meter_v1');
    assert.equal(contractForKind('sensor'), undefined);
  });

  it('flags a unit unlike the catalogue and an unknown metric in a contract definition', () => {
    const bad = contractProblems({
      id: 'inverter_v9',
      equipmentClass: 'inverter',
      version: 9,
      description: '',
      metrics: [
        { metric: 'solar_w', unit: 'kW' },
        { metric: 'nope', unit: '' },
      ],
    });
    assert.equal(bad.length, 2, bad.join('\n'));
  });

  it('aggregates out-of-range values and missing required metrics per equipment/metric/rule', () => {
    const inv = contractForKind('inverter')!;
    const bat = contractForKind('battery')!;
    const of = (e: string) => (e === 'inv' ? inv : e === 'bat' ? bat : undefined);
    const samples = [
      { equipment: 'inv', metric: 'solar_w', ts: T, value: 1200 },
      { equipment: 'inv', metric: 'solar_w', ts: T + 1000, value: -50_000 },
      { equipment: 'inv', metric: 'solar_w', ts: T + 2000, value: -60_000 },
      { equipment: 'inv', metric: 'inverter_state', ts: T + 2000, value: 4.5 },
      { equipment: 'bat', metric: 'battery_w', ts: T, value: 100 },
      { equipment: 'bat', metric: 'battery_w', ts: T + 1000, value: 100 },
      { equipment: 'bat', metric: 'battery_w', ts: T + 2000, value: 100 },
      { equipment: 'other', metric: 'solar_w', ts: T, value: -1e9 },
    ];
    const v = checkContracts(samples, of);
    const byKey = new Map(v.map((x) => [`${x.equipment}/${x.metric}/${x.rule}`, x]));
    assert.deepEqual([...byKey.keys()].sort(), [
      'bat/battery_soc/required_missing',
      'inv/inverter_state/not_integer',
      'inv/solar_w/out_of_range',
    ]);
    const range = byKey.get('inv/solar_w/out_of_range')!;
    assert.equal(range.count, 2);
    assert.equal(range.firstTs, T + 1000);
    assert.equal(range.lastTs, T + 2000);
    assert.equal(range.example, -60_000);
    assert.equal(range.contract, 'inverter_v1');
    // Two read cycles are not enough to call a metric missing (a batch boundary may cut them).
    assert.deepEqual(checkContracts(samples.slice(4, 6), of), []);
  });
});
