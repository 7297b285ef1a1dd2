// Reference days computed by hand (the expected figures are in the comments), checked to the Wh
// and the percentages to 0.1 point. Pure: no database.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { aggregateDays, computeDay, type Sample, type SeriesInput } from '../../src/analytics/energy-day.ts';
import { dayCost, importRateAt, type TariffDefinition } from '../../src/tariffs/tariff-cost.ts';
import { localDayBounds, localParts } from '../../src/time/zoned.ts';

const TZ = 'Europe/Berlin';
const STEP = 5 * 60_000;

/** Local decimal hour of an instant in TZ. */
const hourOf = (ms: number) => {
  const p = localParts(ms, TZ);
  return p.hour + p.minute / 60;
};

/** Samples every 5 min over [start, end); fn returns undefined to leave a sample out. */
function gen(start: number, end: number, fn: (ms: number, h: number) => number | undefined): Sample[] {
  const out: Sample[] = [];
  for (let t = start; t < end; t += STEP) {
    const v = fn(t, hourOf(t));
    if (v !== undefined) out.push({ ts: t, value: v });
  }
  return out;
}

const within = (h: number, a: number, b: number) => h >= a && h < b;

function near(actual: number | null, expected: number, tol: number, what: string) {
  assert.ok(actual !== null, `${what} is null`);
  assert.ok(Math.abs(actual - expected) <= tol, `${what}: ${actual} ≠ ${expected} ± ${tol}`);
}

describe('daily site energy (pure)', () => {
  it('sunny day with export', () => {
    // Solar 4 kW 08–16 = 32 kWh; load 0.5 kW all day = 12 kWh; grid = load − solar.
    // Import 0.5 kW × 16 h = 8 kWh; export 3.5 kW × 8 h = 28 kWh; solar to load 0.5 × 8 = 4 kWh.
    // Self-consumption 4/32 = 12.5 %; self-sufficiency 4/12 = 33.33 %; peak demand 0.5 kW.
    const [start, end] = localDayBounds('2026-06-15', TZ);
    const solar = (h: number) => (within(h, 8, 16) ? 4000 : 0);
    const series: SeriesInput[] = [
      { metric: 'solar_w', samples: gen(start, end, (_, h) => solar(h)) },
      { metric: 'load_w', samples: gen(start, end, () => 500) },
      { metric: 'grid_w', samples: gen(start, end, (_, h) => 500 - solar(h)) },
    ];
    const d = computeDay({ start, end, series });
    near(d.solarWh, 32000, 1, 'solar');
    near(d.loadWh, 12000, 1, 'load');
    near(d.importWh, 8000, 1, 'import');
    near(d.exportWh, 28000, 1, 'export');
    near(d.selfConsumptionPct, 12.5, 0.1, 'self-consumption');
    near(d.selfSufficiencyPct, 33.333, 0.1, 'self-sufficiency');
    near(d.peakDemandKw, 0.5, 0.001, 'peak demand');
    assert.equal(d.coverage, 1);

    // Tariff: 0.40 17–21 on weekdays, else 0.20; export 0.08; 1.00 a day. 2026-06-15 is a Monday.
    // Import: 2 kWh × 0.40 + 6 kWh × 0.20 = 2.00; export credit 28 × 0.08 = 2.24; cost 0.76.
    // Without solar: 2 kWh × 0.40 + 10 kWh × 0.20 + 1 = 3.80; savings 3.04.
    const tariff: TariffDefinition = {
      currency: 'EUR',
      importRate: 0.2,
      periods: [{ weekdays: [1, 2, 3, 4, 5], from: '17:00', to: '21:00', rate: 0.4 }],
      exportRate: 0.08,
      dailyCharge: 1,
    };
    const c = dayCost(tariff, d.slots, TZ);
    near(c.cost, 0.76, 1e-6, 'cost');
    near(c.baselineCost, 3.8, 1e-6, 'baseline');
    near(c.savings, 3.04, 1e-6, 'savings');
  });

  it('battery charged from the grid at night is not solar when discharged in the evening', () => {
    // 01–05: battery charges 2 kW from the grid (load 0.5, import 2.5) → ledger grid 8 kWh.
    // 10–14: solar 3 kW, load 0.5, battery charges 2 kW, export 0.5 → ledger solar 8 kWh.
    // 18–22: battery discharges 2 kW into a 2 kW load; the battery is half solar → 4 kWh solar.
    // Load 20 h × 0.5 + 4 h × 2 = 18 kWh; solar 12; import 4 × 2.5 + 12 × 0.5 = 16; export 2.
    // Self-consumption (12 − 2)/12 = 83.33 %; self-sufficiency (2 + 4)/18 = 33.33 %
    // (a naive count of all discharge as solar would claim 55.6 %). Peak demand 2.5 kW.
    const [start, end] = localDayBounds('2026-01-15', TZ);
    const solar = (h: number) => (within(h, 10, 14) ? 3000 : 0);
    const battery = (h: number) =>
      within(h, 1, 5) || within(h, 10, 14) ? -2000 : within(h, 18, 22) ? 2000 : 0;
    const load = (h: number) => (within(h, 18, 22) ? 2000 : 500);
    const series: SeriesInput[] = [
      { metric: 'solar_w', samples: gen(start, end, (_, h) => solar(h)) },
      { metric: 'load_w', samples: gen(start, end, (_, h) => load(h)) },
      { metric: 'battery_w', samples: gen(start, end, (_, h) => battery(h)) },
      { metric: 'grid_w', samples: gen(start, end, (_, h) => load(h) - solar(h) - battery(h)) },
    ];
    const d = computeDay({ start, end, series });
    near(d.solarWh, 12000, 1, 'solar');
    near(d.loadWh, 18000, 1, 'load');
    near(d.importWh, 16000, 1, 'import');
    near(d.exportWh, 2000, 1, 'export');
    near(d.chargeWh, 16000, 1, 'charge');
    near(d.dischargeWh, 8000, 1, 'discharge');
    near(d.batterySolarToLoadWh, 4000, 1, 'battery solar to load');
    near(d.selfConsumptionPct, 83.333, 0.1, 'self-consumption');
    near(d.selfSufficiencyPct, 33.333, 0.1, 'self-sufficiency');
    near(d.peakDemandKw, 2.5, 0.001, 'peak demand');
    near(d.closingBattery.solarWh, 4000, 1, 'closing solar');
    near(d.closingBattery.gridWh, 4000, 1, 'closing grid');
  });

  it('a counter reset mid-day is a reset, not negative energy', () => {
    // Solar 1 kW 08–16 = 8 kWh, read from a counter at 100 000 Wh that restarts from 0 right after
    // the 11:55 reading (so the 12:00 reading holds the 83.3 Wh of 11:55–12:00).
    const [start, end] = localDayBounds('2026-06-16', TZ);
    const e = (ms: number) => {
      const h = ms >= end ? 24 : hourOf(ms);
      return Math.min(Math.max(h - 8, 0), 8) * 1000;
    };
    const at1155 = 4000 - 1000 / 12;
    const after = (ms: number, h: number) => h >= 12 || ms >= end;
    // Before: 100 000 + e(t). After the reset: energy since 11:55, e(t) − e(11:55).
    const samples = gen(start, end + STEP, (ms, h) => (after(ms, h) ? e(ms) - at1155 : 100000 + e(ms)));
    const d = computeDay({ start, end, series: [{ metric: 'solar_wh', samples }] });
    near(d.solarWh, 8000, 1, 'solar');
    assert.equal(d.counterResets, 1);
  });

  it('DST spring day has 23 hours and autumn day 25', () => {
    for (const [day, hours] of [
      ['2026-03-29', 23],
      ['2026-10-25', 25],
    ] as const) {
      const [start, end] = localDayBounds(day, TZ);
      assert.equal((end - start) / 3_600_000, hours);
      // 1 kW of load and no solar: load = import = hours kWh; peak 1 kW.
      const d = computeDay({
        start,
        end,
        series: [{ metric: 'load_w', samples: gen(start, end, () => 1000) }],
      });
      near(d.loadWh, hours * 1000, 1, `${day} load`);
      near(d.importWh, hours * 1000, 1, `${day} import`);
      near(d.peakDemandKw, 1, 0.001, `${day} peak`);
      assert.equal(d.coverage, 1);
    }
  });

  it('a missing hour: power loses that hour (coverage says so), a counter bridges it', () => {
    const [start, end] = localDayBounds('2026-06-17', TZ);
    const gap = (h: number) => within(h, 10, 11);
    const power = gen(start, end, (_, h) => (gap(h) ? undefined : 1000));
    const p = computeDay({ start, end, series: [{ metric: 'load_w', samples: power }] });
    near(p.loadWh, 23000, 1, 'power load');
    near(p.coverage, 23 / 24, 0.001, 'coverage');
    const counter = gen(start, end + STEP, (ms, h) =>
      gap(h) && ms < end ? undefined : 50000 + (ms - start) / 3600,
    );
    const c = computeDay({ start, end, series: [{ metric: 'load_wh', samples: counter }] });
    near(c.loadWh, 24000, 1, 'counter load');
    assert.equal(c.coverage, 1);
  });

  it('a month aggregates days and recomputes ratios from sums', () => {
    const a = {
      solarWh: 10000,
      loadWh: 10000,
      importWh: 5000,
      exportWh: 5000,
      chargeWh: 0,
      dischargeWh: 0,
      solarToLoadWh: 5000,
      batterySolarToLoadWh: 0,
      solarExportWh: 5000,
      peakDemandKw: 2,
    };
    const b = {
      ...a,
      solarWh: 0,
      solarToLoadWh: 0,
      solarExportWh: 0,
      exportWh: 0,
      importWh: 10000,
      peakDemandKw: 3,
    };
    const m = aggregateDays([a, b]);
    assert.equal(m.solarWh, 10000);
    assert.equal(m.loadWh, 20000);
    near(m.selfConsumptionPct, 50, 0.001, 'self-consumption');
    near(m.selfSufficiencyPct, 25, 0.001, 'self-sufficiency');
    assert.equal(m.peakDemandKw, 3);
  });

  it('tariff periods by weekday and season, wrapping midnight', () => {
    const tariff: TariffDefinition = {
      currency: 'EUR',
      importRate: 0.25,
      periods: [
        // Winter weekday evenings are expensive; nights are cheap all year, across midnight.
        { weekdays: [1, 2, 3, 4, 5], months: [10, 11, 12, 1, 2, 3], from: '17:00', to: '20:00', rate: 0.5 },
        { from: '22:00', to: '06:00', rate: 0.1 },
      ],
      exportRate: 0,
      dailyCharge: 0,
    };
    const rateAt = (day: string, h: number) => {
      const [s] = localDayBounds(day, TZ);
      return importRateAt(tariff, s + h * 3_600_000, TZ);
    };
    assert.equal(rateAt('2026-01-14', 18), 0.5, 'winter Wednesday evening');
    assert.equal(rateAt('2026-01-17', 18), 0.25, 'winter Saturday evening');
    assert.equal(rateAt('2026-07-15', 18), 0.25, 'summer Wednesday evening');
    assert.equal(rateAt('2026-07-15', 23), 0.1, 'night before midnight');
    assert.equal(rateAt('2026-07-15', 3), 0.1, 'night after midnight');
    assert.equal(rateAt('2026-07-15', 6), 0.25, 'period end is exclusive');
    // A day's cost with 1 kW all day on a winter Wednesday: 8 h × 0.1 + 3 h × 0.5 + 13 h × 0.25.
    const [start, end] = localDayBounds('2026-01-14', TZ);
    const d = computeDay({
      start,
      end,
      series: [{ metric: 'load_w', samples: gen(start, end, () => 1000) }],
    });
    near(dayCost(tariff, d.slots, TZ).cost, 0.8 + 1.5 + 3.25, 1e-6, 'cost');
  });

  it("the battery ledger carries over: yesterday's mix comes out today", () => {
    // Opens with 4 kWh solar + 4 kWh grid; discharges 2 kW 18–22 into a 2 kW load → 4 kWh solar.
    const [start, end] = localDayBounds('2026-01-16', TZ);
    const battery = (h: number) => (within(h, 18, 22) ? 2000 : 0);
    const d = computeDay({
      start,
      end,
      openingBattery: { solarWh: 4000, gridWh: 4000 },
      series: [
        { metric: 'load_w', samples: gen(start, end, (_, h) => (within(h, 18, 22) ? 2000 : 500)) },
        { metric: 'battery_w', samples: gen(start, end, (_, h) => battery(h)) },
      ],
    });
    near(d.batterySolarToLoadWh, 4000, 1, 'battery solar to load');
    near(d.closingBattery.solarWh + d.closingBattery.gridWh, 0, 1, 'emptied');
    // No grid meter: import is the balance, 20 h × 0.5 kW.
    near(d.importWh, 10000, 1, 'derived import');
  });
});
