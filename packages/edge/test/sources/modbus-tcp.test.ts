// End to end over loopback: the modbus-tcp source reads a stand-in device that serves template
// registers filled by the simulator, and must get back what the simulator holds.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type StandIn, type StandInOptions, startStandIn } from '../../src/sources/modbus/standin.ts';
import { loadTemplate } from '../../src/sources/modbus/template.ts';
import { createSource } from '../../src/sources/registry.ts';
import { simulatedDevice } from '../../src/sources/simulator/device.ts';
import { hasProbe, hasRelay, type Reading, type Source } from '../../src/sources/types.ts';
import { TEMPLATES_DIR } from './fixtures.ts';

const site = { latitude: 48.14, longitude: 11.58, timezone: 'Europe/Berlin' };
const ctx = { site, templatesDir: TEMPLATES_DIR };
const NOON = Date.parse('2025-06-03T11:00:00Z'); // 13:00 local, sunny side of the day
const simConfig = {
  key: 'sim',
  seed: 'e2e',
  origin: '2025-06-01T00:00:00Z',
  pv: { peakW: 8000 },
  battery: { capacityWh: 10_000, maxChargeW: 3000 },
};

async function withDevice(
  templateNames: string[],
  options: Partial<StandInOptions>,
  sourceConfig: Record<string, unknown>,
  test: (src: Source, standIn: StandIn, expected: Record<string, number>) => Promise<void>,
) {
  const device = simulatedDevice(simConfig, site);
  const templates = await Promise.all(templateNames.map((n) => loadTemplate(TEMPLATES_DIR, n)));
  const standIn = await startStandIn({
    templates,
    values: (now) => device.values(now),
    identity: { vendor: 'Wattfleet', model: 'Stand-in 103', serial: 'WF-0001' },
    clock: () => NOON,
    ...options,
  });
  let src: Source | undefined;
  try {
    src = await createSource(
      'modbus-tcp',
      {
        key: 'dev',
        host: standIn.host,
        port: standIn.port,
        templates: templateNames,
        timeoutMs: 8000, // generous: CI machines are busy; a refused connection fails at once anyway
        ...sourceConfig,
      },
      ctx,
    );
    await test(src, standIn, device.values(NOON));
  } finally {
    await src?.close?.();
    await standIn.close();
  }
}

const byMetric = (readings: Reading[]) => Object.fromEntries(readings.map((r) => [r.metric, r.value]));
const near = (actual: number | undefined, expected: number | undefined, tolerance: number, what: string) => {
  assert.ok(actual !== undefined && expected !== undefined, `${what}: ${actual} vs ${expected}`);
  assert.ok(Math.abs(actual - expected) <= tolerance, `${what}: read ${actual}, simulator ${expected}`);
};

describe('modbus-tcp source against the stand-in', () => {
  it('reads a SunSpec inverter (common + 103) in one request', async () => {
    await withDevice(['sunspec-common', 'sunspec-inverter-103'], {}, {}, async (src, standIn, sim) => {
      const readings = await src.read(NOON);
      assert.equal(standIn.requests, 1, 'common model and inverter model share one read');
      const got = byMetric(readings);
      assert.ok(sim['solar_w']! > 1000, 'noon in June: the simulator produces');
      near(got['solar_w'], sim['solar_w'], 0, 'solar_w');
      near(got['solar_wh'], sim['solar_wh'], 0.01, 'solar_wh');
      near(got['voltage_l1'], sim['voltage_l1'], 1e-9, 'voltage_l1');
      near(got['frequency_hz'], sim['frequency_hz'], 1e-9, 'frequency_hz');
      // What the simulator does not model is "not implemented" on the wire, and absent here.
      assert.equal(got['voltage_l2'], undefined);
      assert.equal(got['inverter_state'], undefined);
      assert.ok(readings.every((r) => r.ts === NOON && r.equipment === 'dev'));
      assert.deepEqual(src.info(), {
        key: 'dev',
        kind: 'inverter',
        vendor: 'Wattfleet',
        model: 'Stand-in 103',
        serial: 'WF-0001',
      });
      assert.ok(hasProbe(src));
      const probe = await src.probe();
      assert.equal(probe.ok, true, probe.detail);
    });
  });

  it('reads a SunSpec meter (203) with our grid sign convention', async () => {
    await withDevice(['sunspec-common', 'sunspec-meter-203'], {}, {}, async (src, _standIn, sim) => {
      const got = byMetric(await src.read(NOON));
      near(got['grid_w'], sim['grid_w'], 0, 'grid_w');
      near(got['grid_import_wh'], sim['grid_import_wh'], 0.01, 'grid_import_wh');
      near(got['grid_export_wh'], sim['grid_export_wh'], 0.01, 'grid_export_wh');
      assert.equal(src.info().kind, 'meter');
    });
  });

  it('reads a GoodWe-style hybrid: inverted meter sign, battery, derived PV', async () => {
    await withDevice(['goodwe-et'], {}, { unitId: 247 }, async (src, standIn, sim) => {
      const got = byMetric(await src.read(NOON));
      assert.equal(standIn.requests, 4);
      near(got['solar_w'], sim['solar_w'], 0, 'solar_w (sum of two strings)');
      near(got['grid_w'], sim['grid_w'], 0, 'grid_w');
      near(got['battery_w'], sim['battery_w'], 0, 'battery_w');
      near(got['load_w'], sim['load_w'], 0, 'load_w');
      near(got['battery_soc'], sim['battery_soc'], 0.5, 'battery_soc (whole percent)');
      near(got['voltage_l1'], sim['voltage_l1'], 0.05, 'voltage_l1 (0.1 V)');
      for (const counter of [
        'solar_wh',
        'load_wh',
        'grid_import_wh',
        'grid_export_wh',
        'battery_charge_wh',
      ]) {
        near(got[counter], sim[counter], 50, `${counter} (0.1 kWh)`);
      }
      assert.deepEqual(src.info(), { key: 'dev', kind: 'inverter', vendor: 'GoodWe', model: 'ET series' });
    });
  });

  it('switches a Modbus relay by writing its register', async () => {
    const device = simulatedDevice({ ...simConfig, relay: { loadW: 2000 } }, site);
    const template = await loadTemplate(TEMPLATES_DIR, 'modbus-relay');
    const writes: unknown[] = [];
    const standIn = await startStandIn({
      templates: [template],
      values: (now) => device.values(now),
      onWrite: (w) => {
        writes.push(w);
        if (w.metric === 'relay_state') device.setRelay(w.value === 1, Date.now());
      },
    });
    const src = await createSource(
      'modbus-tcp',
      {
        key: 'heater',
        host: standIn.host,
        port: standIn.port,
        templates: ['modbus-relay'],
        timeoutMs: 10_000,
      },
      ctx,
    );
    try {
      assert.ok(hasRelay(src));
      assert.equal(await src.getRelay(), 'off');
      assert.equal(byMetric(await src.read(Date.now()))['power_w'], 0);
      assert.equal(await src.setRelay('on'), 'on');
      assert.deepEqual(writes, [
        { template: 'modbus-relay', register: 'state', metric: 'relay_state', value: 1 },
      ]);
      const got = byMetric(await src.read(Date.now()));
      assert.equal(got['relay_state'], 1);
      assert.equal(got['power_w'], 2000);
      assert.equal(await src.setRelay('off'), 'off');
      assert.equal(await src.getRelay(), 'off');
    } finally {
      await src.close?.();
      await standIn.close();
    }
  });

  it('applies addressOffset, and refuses a device that does not match its template', async () => {
    const templates = ['sunspec-common', 'sunspec-inverter-103'];
    await withDevice(templates, { addressOffset: -1 }, { addressOffset: -1 }, async (src, _s, sim) => {
      near(byMetric(await src.read(NOON))['solar_w'], sim['solar_w'], 0, 'solar_w');
    });
    await withDevice(templates, { addressOffset: -1 }, {}, async (src) => {
      await assert.rejects(src.read(NOON), /does not match template sunspec-common/);
    });
    await withDevice(['sunspec-inverter-103'], {}, { templates: ['sunspec-inverter-101'] }, async (src) => {
      await assert.rejects(src.read(NOON), /ID=103 \(expected 101\)/);
    });
  });

  it('fails a read when the device is gone, and recovers when it is back', async () => {
    await withDevice(['sunspec-inverter-103'], {}, {}, async (src, standIn) => {
      await src.read(NOON);
      await standIn.close();
      await assert.rejects(src.read(NOON));
      assert.ok(hasProbe(src));
      assert.equal((await src.probe()).ok, false);
      // The same device comes back on the same port: the next read reconnects by itself.
      const template = await loadTemplate(TEMPLATES_DIR, 'sunspec-inverter-103');
      const back = await startStandIn({
        templates: [template],
        values: () => ({ solar_w: 1234 }),
        port: standIn.port,
      });
      try {
        assert.equal(byMetric(await src.read(NOON))['solar_w'], 1234);
      } finally {
        await back.close();
      }
    });
  });
});
