// The rule evaluator shared by live evaluation and the dry run, and the save-time checks, on their
// own (no database, no clock: every instant is built from a fixed UTC instant and a named zone).
// A threshold with a duration fires once per crossing, not per sample, and re-arms only past the
// hysteresis band; the reason says what happened; time windows follow the site's zone across
// midnight; validation lists every problem with its path; a loop between two rules is found and
// names both.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  failedCondition,
  freshState,
  inWindow,
  stepThreshold,
  thresholdReason,
} from '../../src/automation/rules/rules.evaluator.ts';
import type { MetricTrigger, RuleDefinition } from '../../src/automation/rules/rules.schema.ts';
import {
  findLoops,
  type SiteFacts,
  validateDefinition,
} from '../../src/automation/rules/rules.validation.ts';

const T0 = Date.UTC(2026, 5, 1, 10, 0, 0);
const MIN = 60_000;
const exportRule: MetricTrigger = {
  type: 'metric',
  metric: 'grid_w',
  op: 'below',
  threshold: -2000,
  forS: 300,
  hysteresis: 500,
};

function run(t: MetricTrigger, values: number[], stepMs = MIN) {
  const st = freshState();
  const fired: { i: number; crossingAt: number; reason: string }[] = [];
  values.forEach((v, i) => {
    const c = stepThreshold(t, st, T0 + i * stepMs, v);
    if (c) fired.push({ i, crossingAt: c.crossingAt, reason: c.reason });
  });
  return fired;
}

describe('rule evaluator', () => {
  it('fires once the value has held for the duration, once per crossing, not per sample', () => {
    // Below -2 kW from minute 1; the duration (5 min) is complete at minute 6; it stays below.
    const fired = run(exportRule, [-1000, -2300, -2300, -2400, -2300, -2300, -2300, -2500, -2600, -2300]);
    assert.deepEqual(
      fired.map((f) => f.i),
      [6],
    );
    assert.equal(fired[0]!.crossingAt, T0 + MIN);
    assert.equal(fired[0]!.reason, 'grid_w -2.3 kW for 5 min ≤ -2 kW');
  });

  it('a dip out of the threshold before the duration restarts the count', () => {
    const fired = run(exportRule, [-2300, -2300, -2300, -1900, -2300, -2300, -2300, -2300, -2300, -2300]);
    assert.deepEqual(
      fired.map((f) => [f.i, f.crossingAt]),
      [[9, T0 + 4 * MIN]],
    );
  });

  it('re-arms only after the value passes back beyond the hysteresis band', () => {
    const t = { ...exportRule, forS: 0 };
    // Fires at 0; -1800 is back above -2000 but inside the band (-1500): no re-arm, so the dip
    // to -2100 does not fire; -1400 re-arms; -2100 fires again.
    const fired = run(t, [-2100, -1800, -2100, -1800, -1400, -2100, -2100]);
    assert.deepEqual(
      fired.map((f) => f.i),
      [0, 5],
    );
  });

  it('ignores repeated and older samples (a resent or late batch)', () => {
    const t = { ...exportRule, forS: 0 };
    const st = freshState();
    assert.ok(stepThreshold(t, st, T0, -2500));
    assert.equal(stepThreshold(t, st, T0, -1000), undefined);
    assert.equal(stepThreshold(t, st, T0 - 1, -1000), undefined);
    assert.equal(st.armed, false, 'the older sample did not re-arm it');
  });

  it('explains above-thresholds in the metric unit', () => {
    assert.equal(
      thresholdReason({ ...exportRule, metric: 'solar_w', op: 'above', threshold: 2000 }, 2345, 5 * MIN),
      'solar_w 2.35 kW for 5 min ≥ 2 kW',
    );
    assert.equal(
      thresholdReason({ ...exportRule, metric: 'battery_soc', op: 'above', threshold: 90 }, 93, 30_000),
      'battery_soc 93 % for 30 s ≥ 90 %',
    );
  });

  it("checks time windows in the site's zone, also across midnight", () => {
    // 10:00 UTC is 12:00 in Berlin (CEST) and 22:00 in Auckland (NZST) on 1 June 2026.
    assert.equal(inWindow(T0, 'Europe/Berlin', '11:00', '13:00'), true);
    assert.equal(inWindow(T0, 'UTC', '11:00', '13:00'), false);
    assert.equal(inWindow(T0, 'Pacific/Auckland', '21:00', '06:00'), true);
    assert.equal(inWindow(T0, 'Pacific/Auckland', '06:00', '21:00'), false);
    const inputs = {
      timezone: 'Europe/Berlin',
      paused: false,
      socAt: () => 55,
      channelState: () => 'off' as const,
    };
    assert.equal(
      failedCondition(
        [
          { type: 'time_window', from: '11:00', to: '13:00' },
          { type: 'battery_soc', min: 50 },
        ],
        T0,
        inputs,
      ),
      undefined,
    );
    assert.equal(failedCondition([{ type: 'battery_soc', min: 60 }], T0, inputs), 'battery_soc 55 % < 60 %');
    assert.equal(
      failedCondition([{ type: 'automation_active' }], T0, { ...inputs, paused: true }),
      'automation is paused on the site',
    );
  });
});

const X = '00000000-0000-4000-8000-000000000001';
const Y = '00000000-0000-4000-8000-000000000002';
const N = '00000000-0000-4000-8000-00000000000a';
const OTHER = '00000000-0000-4000-8000-0000000000ff';
const facts: SiteFacts = {
  channels: new Map([
    [X, { id: X, nodeId: N, equipment: 'heater', switchable: true }],
    [Y, { id: Y, nodeId: N, equipment: 'pump', switchable: true }],
  ]),
  nodes: new Set([N]),
  scenes: new Map(),
  mayControl: true,
};

describe('rule validation', () => {
  it('lists every problem at once, each with its field path', () => {
    const def: RuleDefinition = {
      trigger: {
        type: 'metric',
        metric: 'battery_soc',
        op: 'above',
        threshold: 120,
        forS: 0,
        hysteresis: 100,
      },
      conditions: [
        { type: 'battery_soc', min: 80, max: 20 },
        { type: 'channel_state', channelId: OTHER, state: 'on' },
      ],
      actions: [
        { type: 'set_channel', channelId: OTHER, state: 'on' },
        { type: 'command', nodeId: OTHER, command: 'RESTART' },
      ],
    };
    const problems = validateDefinition(def, facts);
    assert.deepEqual(
      problems.map((p) => p.path),
      [
        '/body/trigger/threshold',
        '/body/trigger/hysteresis',
        '/body/conditions/0/min',
        '/body/conditions/1/channelId',
        '/body/actions/0/channelId',
        '/body/actions/1/nodeId',
      ],
    );
    const unknown = validateDefinition({ ...def, trigger: { ...exportRule, metric: 'grid_power' } }, facts);
    assert.equal(unknown[0]!.path, '/body/trigger/metric');
    assert.match(unknown[0]!.message, /Unknown metric "grid_power"/);
  });

  it('finds a loop between two rules and names both', () => {
    // A: pump power above 100 W → heater on. B: heater on (its power) → ... B reads X through a
    // channel-state condition and switches X back off.
    const a = {
      id: 'a',
      name: 'Heater on surplus',
      definition: {
        trigger: exportRule,
        conditions: [],
        actions: [{ type: 'set_channel' as const, channelId: X, state: 'on' as const }],
      },
    };
    const b = {
      id: 'b',
      name: 'Heater guard',
      definition: {
        trigger: { ...exportRule, metric: 'load_w', op: 'above' as const, threshold: 3000 },
        conditions: [{ type: 'channel_state' as const, channelId: X, state: 'on' as const }],
        actions: [{ type: 'set_channel' as const, channelId: X, state: 'off' as const }],
      },
    };
    const loops = findLoops(a, [b], facts);
    assert.equal(loops.length, 1);
    assert.equal(loops[0]!.path, '/body/actions/0');
    assert.match(loops[0]!.message, /"Heater on surplus".*"Heater guard"/);
    // Seen from B's side too.
    assert.match(findLoops(b, [a], facts)[0]!.message, /"Heater on surplus".*"Heater guard"/);
    // A metric trigger on the channel's own equipment is an input as well.
    const c = {
      ...b,
      definition: {
        ...b.definition,
        trigger: {
          ...exportRule,
          metric: 'power_w',
          nodeId: N,
          equipment: 'heater',
          op: 'above' as const,
          threshold: 10,
        },
        conditions: [],
      },
    };
    assert.equal(findLoops(a, [c], facts).length, 1);
    // Switching another channel is no loop.
    const d = {
      ...b,
      definition: {
        ...b.definition,
        actions: [{ type: 'set_channel' as const, channelId: Y, state: 'off' as const }],
      },
    };
    assert.deepEqual(findLoops(a, [d], facts), []);
  });
});
