// The simulator must look like a real site and be reproducible: same seed and instants, same
// readings; PV only by day; counters that are exactly the integral of the reported powers.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as SunCalcModule from 'suncalc';
import {
  createSimState,
  type SimState,
  simulateAt,
  simulateRange,
  withRelay,
} from '../../src/sources/simulator/model.ts';
import { simulatorModel, simulatorSource } from '../../src/sources/simulator/source.ts';
import { hasHistory, hasRelay } from '../../src/sources/types.ts';
import { TEMPLATES_DIR } from './fixtures.ts';

const SunCalc: typeof SunCalcModule =
  (SunCalcModule as unknown as { default?: typeof SunCalcModule }).default ?? SunCalcModule;

const MUNICH = { latitude: 48.14, longitude: 11.58, timezone: 'Europe/Berlin' };
const ORIGIN = Date.parse('2025-06-01T00:00:00Z');
const MIN = 60_000;
const DAY = 86_400_000;
const config = {
  key: 'home',
  seed: 'site-42',
  pv: { peakW: 6000 },
  battery: { capacityWh: 10_000, maxChargeW: 3000, minSocPct: 10, initialSocPct: 50 },
};
const fresh = (over: object = {}, site = MUNICH): SimState =>
  createSimState(simulatorModel({ ...config, ...over }, site), ORIGIN);

describe('simulator determinism', () => {
  it('gives identical readings for the same seed and instants, whatever was asked before', () => {
    const instants = [3, 7.5, 12, 12.01, 18, 47.3].map((h) => ORIGIN + h * 3_600_000);
    const a = instants.map((ts) => simulateAt(fresh(), ts).snapshot);
    // Walk forward through all instants with one state, and also ask them in reverse order.
    let s = fresh();
    const b = instants.map((ts) => {
      const r = simulateAt(s, ts);
      s = r.state;
      return r.snapshot;
    });
    const c = [...instants]
      .reverse()
      .map((ts) => simulateAt(s, ts).snapshot)
      .reverse();
    assert.deepEqual(b, a);
    assert.deepEqual(c, a);
  });

  it('differs for another seed', () => {
    const ts = ORIGIN + 36 * 3_600_000;
    assert.notDeepEqual(simulateAt(fresh({ seed: 'other' }), ts).snapshot, simulateAt(fresh(), ts).snapshot);
  });

  it('refuses instants before its origin', () => {
    assert.throws(() => simulateAt(fresh(), ORIGIN - 1), RangeError);
  });
});

describe('simulated physics', () => {
  const day = [...simulateRange(fresh(), ORIGIN, ORIGIN + 7 * DAY, MIN)];

  it('has PV only while the sun is up, and none at night', () => {
    for (const s of day) {
      const { altitude } = SunCalc.getPosition(new Date(s.ts), MUNICH.latitude, MUNICH.longitude);
      if (altitude <= 0) assert.equal(s.solar_w, 0, new Date(s.ts).toISOString());
      assert.ok(s.solar_w >= 0 && s.solar_w <= 6000);
    }
    const localMidnights = day.filter(
      (s) => new Date(s.ts).getUTCHours() === 22 && new Date(s.ts).getUTCMinutes() === 0,
    );
    assert.ok(localMidnights.length >= 6);
    for (const s of localMidnights) assert.equal(s.solar_w, 0);
  });

  it('peaks near solar noon', () => {
    // Average over a week per 15-minute slot of the day: clouds average out, the sun does not.
    const slots = new Map<number, number>();
    for (const s of day) {
      const slot = Math.floor((s.ts % DAY) / (15 * MIN));
      slots.set(slot, (slots.get(slot) ?? 0) + s.solar_w);
    }
    const best = [...slots.entries()].sort((x, y) => y[1] - x[1])[0]![0];
    const noon = SunCalc.getTimes(new Date(ORIGIN + 3 * DAY), MUNICH.latitude, MUNICH.longitude).solarNoon;
    const noonSlot = Math.floor((noon.getTime() % DAY) / (15 * MIN));
    assert.ok(Math.abs(best - noonSlot) <= 4, `peak slot ${best}, solar noon slot ${noonSlot}`);
    const dailyKwh = day.reduce((a, s) => a + s.solar_w, 0) / 60 / 1000 / 7;
    assert.ok(dailyKwh > 10 && dailyKwh < 45, `June PV of 6 kWp: ${dailyKwh.toFixed(1)} kWh/day`);
  });

  it('has a household load with a base load and an evening peak', () => {
    const byLocalHour = (h: number) => {
      const xs = day.filter((s) => (new Date(s.ts).getUTCHours() + 2) % 24 === h).map((s) => s.load_w);
      return xs.reduce((a, b) => a + b, 0) / xs.length;
    };
    assert.ok(byLocalHour(3) > 100 && byLocalHour(3) < 600, `night ${byLocalHour(3)}`);
    assert.ok(byLocalHour(19) > 2 * byLocalHour(3), `evening ${byLocalHour(19)} vs night ${byLocalHour(3)}`);
    assert.ok(byLocalHour(7) > 1.5 * byLocalHour(3), `morning ${byLocalHour(7)}`);
  });

  it('balances the flows: grid = load − PV − battery, with our signs', () => {
    for (const s of day) assert.equal(s.grid_w, s.load_w - s.solar_w - s.battery_w!);
    // The battery charges from surplus and covers the evening: both signs occur, SoC stays in bounds.
    assert.ok(day.some((s) => s.battery_w! < 0 && s.solar_w > s.load_w));
    assert.ok(day.some((s) => s.battery_w! > 0 && s.solar_w < s.load_w));
    for (const s of day)
      assert.ok(s.battery_soc! >= 10 - 1e-9 && s.battery_soc! <= 100 + 1e-9, `${s.battery_soc}`);
    assert.ok(
      day.some((s) => s.grid_w < 0),
      'exports once the battery is full',
    );
  });

  it('keeps the voltage around 230 V and the frequency around 50 Hz', () => {
    for (const s of day) {
      assert.ok(s.voltage_l1 > 220 && s.voltage_l1 < 240, `${s.voltage_l1}`);
      assert.ok(Math.abs(s.frequency_hz - 50) < 0.1);
    }
  });

  it('charges from the grid at night when configured', () => {
    const night = {
      ...config.battery,
      initialSocPct: 20,
      gridCharge: { fromHour: 1, toHour: 5, powerW: 2000, targetSocPct: 80 },
    };
    const s = simulateAt(fresh({ battery: night }), ORIGIN + 2 * DAY - 50 * MIN).snapshot; // 01:10 local
    assert.equal(s.solar_w, 0);
    assert.ok(s.battery_w! <= -2000, `battery ${s.battery_w}`);
    assert.ok(s.grid_w >= 2000, `grid ${s.grid_w}`);
  });
});

describe('energy counters', () => {
  it('equal the integral of the reported powers, and never decrease', () => {
    const snaps = [...simulateRange(fresh(), ORIGIN, ORIGIN + 3 * DAY, MIN)];
    const sum = { solar: 0, load: 0, imp: 0, exp: 0, chg: 0, dis: 0 };
    for (let i = 1; i < snaps.length; i++) {
      const p = snaps[i - 1]!;
      const h = (snaps[i]!.ts - p.ts) / 3_600_000;
      sum.solar += p.solar_w * h;
      sum.load += p.load_w * h;
      sum.imp += Math.max(0, p.grid_w) * h;
      sum.exp += Math.max(0, -p.grid_w) * h;
      sum.chg += Math.max(0, -p.battery_w!) * h;
      sum.dis += Math.max(0, p.battery_w!) * h;
      for (const k of Object.keys(p.counters) as (keyof typeof p.counters)[]) {
        assert.ok(snaps[i]!.counters[k] >= p.counters[k], `${k} decreased`);
      }
    }
    const last = snaps.at(-1)!.counters;
    const close = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-6, `${a} ≠ ${b}`);
    close(last.solar_wh, sum.solar);
    close(last.load_wh, sum.load);
    close(last.grid_import_wh, sum.imp);
    close(last.grid_export_wh, sum.exp);
    close(last.battery_charge_wh, sum.chg);
    close(last.battery_discharge_wh, sum.dis);
    // And the books balance: import − export = load − PV − (discharge − charge).
    close(
      last.grid_import_wh - last.grid_export_wh,
      last.load_wh - last.solar_wh - (last.battery_discharge_wh - last.battery_charge_wh),
    );
  });

  it('grow linearly within a step, so any instant is consistent with its neighbours', () => {
    const t = ORIGIN + DAY + 12 * 3_600_000;
    const a = simulateAt(fresh(), t).snapshot;
    const b = simulateAt(fresh(), t + 30_000).snapshot;
    assert.ok(Math.abs(b.counters.solar_wh - a.counters.solar_wh - (a.solar_w * 30) / 3600) < 1e-6);
  });
});

describe('simulator performance', () => {
  it('backfills 30 days at 60 s for 12 sites in a few seconds', () => {
    const started = performance.now();
    let n = 0;
    for (let site = 0; site < 12; site++) {
      for (const _ of simulateRange(fresh({ seed: `site-${site}` }), ORIGIN, ORIGIN + 30 * DAY, MIN)) n++;
    }
    const seconds = (performance.now() - started) / 1000;
    assert.equal(n, 12 * (30 * 1440 + 1));
    assert.ok(seconds < 10, `${seconds.toFixed(2)} s`);
  });
});

describe('simulator source', () => {
  const ctx = { site: MUNICH, templatesDir: TEMPLATES_DIR };

  it('reads canonical metrics for its equipment key', async () => {
    const src = await simulatorSource.create({ ...config, origin: '2025-06-01T00:00:00Z' }, ctx);
    const readings = await src.read(ORIGIN + 12 * 3_600_000);
    const metrics = readings.map((r) => r.metric).sort();
    assert.deepEqual(metrics, [
      'battery_charge_wh',
      'battery_discharge_wh',
      'battery_soc',
      'battery_w',
      'frequency_hz',
      'grid_export_wh',
      'grid_import_wh',
      'grid_w',
      'load_w',
      'load_wh',
      'solar_w',
      'solar_wh',
      'voltage_l1',
    ]);
    assert.ok(readings.every((r) => r.equipment === 'home' && r.ts === ORIGIN + 12 * 3_600_000));
    assert.equal(hasRelay(src), false, 'no relay configured, so no relay capability');
  });

  it('backfills history with the same values as live reads', async () => {
    const c = { ...config, origin: '2025-06-01T00:00:00Z' };
    const a = await simulatorSource.create(c, ctx);
    const b = await simulatorSource.create(c, ctx);
    assert.ok(hasHistory(a));
    const batches = [...a.history(ORIGIN + DAY, ORIGIN + DAY + 10 * MIN, MIN)];
    assert.equal(batches.length, 11);
    assert.deepEqual(batches[5], await b.read(ORIGIN + DAY + 5 * MIN));
  });

  it('switches a relay that adds its appliance to the load from the next step', async () => {
    const src = await simulatorSource.create({ ...config, relay: { loadW: 2000 } }, ctx);
    assert.ok(hasRelay(src));
    assert.equal(await src.getRelay(), 'off');
    assert.equal(await src.setRelay('on'), 'on');
    assert.equal(await src.getRelay(), 'on');

    const model = simulatorModel({ ...config, relay: { loadW: 2000 } }, MUNICH);
    const t = ORIGIN + DAY + 3 * 3_600_000;
    const off = simulateAt(createSimState(model, ORIGIN), t + MIN).snapshot;
    const on = simulateAt(withRelay(createSimState(model, ORIGIN), t, true), t + MIN).snapshot;
    assert.equal(on.load_w - off.load_w, 2000);
    assert.equal(on.relay_state, 1);
    assert.equal(off.relay_state, 0);
  });
});
