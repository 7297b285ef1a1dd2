// The equipment page's words and grouping (src/lib/equipment.ts), without a browser: equipment
// placed on a line, on an area only, on nothing, or on an area the list no longer has; findings
// in words with the contract's bounds in the metric's unit.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Area, DataQualityFinding, EquipmentItem } from '../src/api/equipment-registry.ts';
import { findingCount, findingWords, groupEquipment, shortMetricName } from '../src/lib/equipment.ts';

const item = (key: string, areaId: string | null, lineId: string | null): EquipmentItem => ({
  id: `id-${key}`,
  nodeId: 'n',
  nodeName: 'node',
  key,
  kind: 'meter',
  label: null,
  vendor: null,
  model: null,
  serial: null,
  firmware: null,
  source: 'simulator',
  metrics: [],
  present: true,
  registeredAt: null,
  areaId,
  lineId,
  state: 'answering',
  reason: 'Answering',
  lastReading: null,
});

const finding = (over: Partial<DataQualityFinding>): DataQualityFinding => ({
  equipment: 'inv1',
  metric: 'solar_w',
  rule: 'out_of_range',
  contract: 'inverter_v1',
  unit: 'W',
  min: -500,
  max: null,
  count: 2,
  firstSeenAt: '2026-01-01T00:00:00.000Z',
  lastSeenAt: '2026-01-01T00:01:00.000Z',
  exampleValue: -51_000,
  message: '',
  updatedAt: '2026-01-01T00:01:00.000Z',
  ...over,
});

describe('equipment words', () => {
  it('groups by line, then area, then unassigned (a vanished area counts as unassigned)', () => {
    const areas: Area[] = [
      {
        id: 'a1',
        name: 'Hall',
        slug: 'hall',
        lines: [{ id: 'l1', areaId: 'a1', name: 'Line A', slug: 'line-a' }],
      },
      { id: 'a2', name: 'Roof', slug: 'roof', lines: [] },
    ];
    const groups = groupEquipment(
      [item('x', 'a1', 'l1'), item('y', 'a1', null), item('z', null, null), item('w', 'gone', null)],
      areas,
    );
    assert.deepEqual(
      groups.map((g) => [g.title, g.items.map((i) => i.key)]),
      [
        ['Hall › Line A', ['x']],
        ['Hall (no line)', ['y']],
        ['Roof', []],
        ['Unassigned', ['z', 'w']],
      ],
    );
  });

  it('says a finding in words, in the metric’s unit, and counts readings or batches', () => {
    assert.equal(
      findingWords(finding({})),
      'Outside the plausible range: should be at least -0.50 kW; latest -51.0 kW',
    );
    assert.equal(
      findingWords(finding({ metric: 'battery_soc', min: 0, max: 100, exampleValue: 140 })),
      'Outside the plausible range: should be between 0 % and 100 %; latest 140 %',
    );
    assert.equal(findingCount(finding({})), '2 readings');
    assert.equal(findingCount(finding({ count: 1 })), '1 reading');
    const missing = finding({ rule: 'required_missing', exampleValue: null, count: 3 });
    assert.equal(findingWords(missing), 'Required by the contract but missing from readings');
    assert.equal(findingCount(missing), '3 batches');
    assert.equal(shortMetricName('grid_w'), 'Grid exchange');
    assert.equal(shortMetricName('no_such_metric'), 'no_such_metric');
  });
});
