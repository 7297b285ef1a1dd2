// Energy distribution (the owner app's Sankey): the pure split of a period's totals, and the flows
// of a battery day sent through the real ingest path, on both engines. Samples are built from the
// site's local midnight so the test holds whatever the machine's time zone.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { energyFlows } from '../../src/analytics/energy-flows.ts';
import { localDayBounds, localParts } from '../../src/time/zoned.ts';
import { ENGINES } from '../helpers/engines.ts';
import { batchId, createSite, startTestHub, type TestHub, TestNode } from '../helpers/hub.ts';

const TZ = 'America/New_York';
const STEP = 5 * 60_000;
const DAY = '2026-06-15';

const close = (actual: number, expected: number, tol: number, what: string) =>
  assert.ok(Math.abs(actual - expected) <= tol, `${what}: ${actual} ≠ ${expected}`);

describe('energy flows (pure)', () => {
  it('splits solar, grid and battery so every node balances', () => {
    // Solar 10: 4 home, 3 export, 3 battery. Battery charged 5 (2 from grid), gave 4 to home.
    // Import 6: 2 battery, 4 home. Load 12 = 4 solar + 4 grid + 4 battery.
    const f = energyFlows({
      solarWh: 10_000,
      loadWh: 12_000,
      importWh: 6_000,
      exportWh: 3_000,
      chargeWh: 5_000,
      dischargeWh: 4_000,
      solarToLoadWh: 4_000,
      solarExportWh: 3_000,
    });
    assert.deepEqual(f, {
      solarToHomeKwh: 4,
      solarToBatteryKwh: 3,
      solarToGridKwh: 3,
      gridToHomeKwh: 4,
      gridToBatteryKwh: 2,
      batteryToHomeKwh: 4,
      batteryToGridKwh: 0,
    });
  });

  it('never draws a negative flow when meters disagree, and is all zero without data', () => {
    const f = energyFlows({
      solarWh: 1_000,
      loadWh: 500,
      importWh: 0,
      exportWh: 0,
      chargeWh: 0,
      dischargeWh: 2_000,
      solarToLoadWh: 1_500,
      solarExportWh: 0,
    });
    for (const [k, v] of Object.entries(f)) assert.ok(v >= 0, `${k} = ${v}`);
    assert.ok(f.solarToHomeKwh <= 1);
    const zero = energyFlows({
      solarWh: 0,
      loadWh: 0,
      importWh: 0,
      exportWh: 0,
      chargeWh: 0,
      dischargeWh: 0,
      solarToLoadWh: 0,
      solarExportWh: 0,
    });
    assert.ok(Object.values(zero).every((v) => v === 0));
  });
});

/** Battery day in TZ: solar 4 kW 08–16 charges the battery 2 kW; battery gives 1 kW 16–24; load 1 kW. */
function batteryDay(from: number, to: number) {
  const out: { metric: string; ts: number; value: number }[] = [];
  for (let t = from; t < to; t += STEP) {
    const p = localParts(t, TZ);
    const h = p.hour + p.minute / 60;
    const solar = h >= 8 && h < 16 ? 4000 : 0;
    const battery = h >= 8 && h < 16 ? -2000 : h >= 16 ? 1000 : 0; // + discharge, − charge
    const load = 1000;
    out.push(
      { metric: 'solar_w', ts: t, value: solar },
      { metric: 'load_w', ts: t, value: load },
      { metric: 'battery_w', ts: t, value: battery },
      { metric: 'grid_w', ts: t, value: load - solar - battery },
    );
  }
  return out;
}

for (const engine of ENGINES) {
  describe(`energy flows through ingest on ${engine}`, () => {
    let hub: TestHub;
    let node: TestNode;
    let siteId: string;

    before(async () => {
      hub = await startTestHub(engine, { retention: { rawDays: 3650, hourlyDays: 3650 } });
      siteId = (await createSite(hub, { timezone: TZ })).siteId;
      node = await TestNode.enroll(hub, siteId);
    });
    after(async () => hub?.close());

    it('a battery day: solar → home/battery/grid, grid → home, battery → home, balanced', async () => {
      const [start, end] = localDayBounds(DAY, TZ);
      const samples = batteryDay(start, end);
      for (let i = 0; i < samples.length; i += 2000) {
        const res = await node.send('/api/v1/ingest/telemetry', {
          batchId: batchId('f'),
          samples: samples.slice(i, i + 2000),
        });
        assert.equal(res.statusCode, 200, res.body);
      }
      const res = await hub.admin('GET', `/api/v1/sites/${siteId}/comparison?from=${DAY}&to=${DAY}`);
      assert.equal(res.statusCode, 200, res.body);
      const { current, previous } = res.json();
      const f = current.flows;
      // Solar 32 = 8 home + 16 battery + 8 grid; load 24 = 8 solar + 8 grid (00–08) + 8 battery.
      close(f.solarToHomeKwh, 8, 0.001, 'solar → home');
      close(f.solarToBatteryKwh, 16, 0.001, 'solar → battery');
      close(f.solarToGridKwh, 8, 0.001, 'solar → grid');
      close(f.gridToHomeKwh, 8, 0.001, 'grid → home');
      close(f.gridToBatteryKwh, 0, 0.001, 'grid → battery');
      close(f.batteryToHomeKwh, 8, 0.001, 'battery → home');
      close(f.batteryToGridKwh, 0, 0.001, 'battery → grid');
      // Each node balances against the hub's own totals.
      close(f.solarToHomeKwh + f.solarToBatteryKwh + f.solarToGridKwh, current.solarKwh, 0.002, 'solar out');
      close(f.solarToHomeKwh + f.gridToHomeKwh + f.batteryToHomeKwh, current.loadKwh, 0.002, 'home in');
      close(f.gridToHomeKwh + f.gridToBatteryKwh, current.importKwh, 0.002, 'grid out');
      assert.equal(previous.daysWithData, 0);
      assert.ok(Object.values(previous.flows).every((v) => v === 0));
    });
  });
}
