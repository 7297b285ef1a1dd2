// Modbus RTU over a real serial line: socat makes a pseudo-terminal bridged to an RTU bus
// stand-in (one or more slaves, each serving template registers filled by the simulator). The
// agent's modbus-rtu source opens the pty with the real serialport stack, so framing, CRC,
// timeouts and turn-taking on a shared bus are all exercised; faults (corrupted CRC, a slave that
// stops answering) are switched on in the stand-in.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { builtinRules, parseConfigText } from '@wattfleet/devices/config';
import { sourceRules } from '@wattfleet/devices/sources';
import { SILENT_SLAVE_BACKOFF_MS } from '../../src/sources/modbus/link.ts';
import { type RtuStandIn, startRtuStandIn } from '../../src/sources/modbus/rtu-standin.ts';
import { loadTemplate } from '../../src/sources/modbus/template.ts';
import { createSource } from '../../src/sources/registry.ts';
import { simulatedDevice } from '../../src/sources/simulator/device.ts';
import { hasProbe, hasRelay, type Reading, type Source } from '../../src/sources/types.ts';
import { TEMPLATES_DIR } from './fixtures.ts';
import { type SerialBridge, startSerialBridge } from './serial-bridge.ts';

const site = { latitude: 48.14, longitude: 11.58, timezone: 'Europe/Berlin' };
const ctx = { site, templatesDir: TEMPLATES_DIR };
const NOON = Date.parse('2025-06-03T11:00:00Z'); // 13:00 local, sunny side of the day
const device = simulatedDevice(
  {
    key: 'sim',
    seed: 'rtu',
    origin: '2025-06-01T00:00:00Z',
    pv: { peakW: 8000 },
    battery: { capacityWh: 10_000, maxChargeW: 3000 },
  },
  site,
);
const sim = device.values(NOON);
const byMetric = (readings: Reading[]) => Object.fromEntries(readings.map((r) => [r.metric, r.value]));

describe('modbus-rtu source over a serial line (socat pty ↔ RTU bus stand-in)', () => {
  let bus: RtuStandIn;
  let tty: SerialBridge;
  const writes: unknown[] = [];
  const sources: Source[] = [];
  const open = async (config: Record<string, unknown>) => {
    const src = await createSource(
      'modbus-rtu',
      { path: tty.path, baudRate: 19200, timeoutMs: 2000, ...config },
      ctx,
    );
    sources.push(src);
    return src;
  };

  before(async () => {
    const load = (names: string[]) => Promise.all(names.map((n) => loadTemplate(TEMPLATES_DIR, n)));
    bus = await startRtuStandIn({
      slaves: [
        {
          unitId: 1,
          templates: await load(['sunspec-common', 'sunspec-inverter-103']),
          values: (now) => device.values(now),
          identity: { vendor: 'Wattfleet', model: 'RTU 103', serial: 'WF-RTU-1' },
          clock: () => NOON,
        },
        {
          unitId: 2,
          templates: await load(['sunspec-common', 'sunspec-meter-203']),
          values: (now) => device.values(now),
          clock: () => NOON,
        },
        {
          unitId: 17,
          templates: await load(['modbus-relay-board-8']),
          values: () => ({}),
          onWrite: (w) => writes.push(w),
        },
        {
          unitId: 18,
          templates: await load(['modbus-relay-board-8']),
          values: () => ({}),
          ignoreWrites: true, // welded contacts: acknowledged, never switched
        },
      ],
    });
    tty = await startSerialBridge(bus.port);
  });
  after(async () => {
    for (const s of sources) await s.close?.();
    await tty?.close();
    await bus?.close();
  });

  it('reads a SunSpec inverter with the TCP templates unchanged, in one request', async () => {
    const inverter = await open({
      key: 'inv',
      unitId: 1,
      templates: ['sunspec-common', 'sunspec-inverter-103'],
    });
    const before = bus.requests(1);
    const got = byMetric(await inverter.read(NOON));
    assert.equal(bus.requests(1) - before, 1, 'common and inverter model share one read');
    assert.ok((sim['solar_w'] ?? 0) > 1000, 'noon in June: the simulator produces');
    assert.equal(got['solar_w'], sim['solar_w']);
    assert.ok(Math.abs((got['solar_wh'] ?? 0) - (sim['solar_wh'] ?? 0)) <= 0.01);
    assert.equal(got['frequency_hz'], sim['frequency_hz']);
    assert.deepEqual(inverter.info(), {
      key: 'inv',
      kind: 'inverter',
      vendor: 'Wattfleet',
      model: 'RTU 103',
      serial: 'WF-RTU-1',
    });
    assert.ok(hasProbe(inverter));
    const probe = await inverter.probe();
    assert.equal(probe.ok, true, probe.detail);
  });

  it('shares one bus between slaves: concurrent reads take turns and each gets its own device', async () => {
    const inverter = sources[0]!;
    const meter = await open({ key: 'meter', unitId: 2, templates: ['sunspec-common', 'sunspec-meter-203'] });
    const seen = [bus.framesSeen(1), bus.framesSeen(2)];
    const served = [bus.requests(1), bus.requests(2)];
    const [a, b] = await Promise.all([inverter.read(NOON), meter.read(NOON)]);
    assert.equal(byMetric(a)['solar_w'], sim['solar_w']);
    assert.equal(byMetric(b)['grid_w'], sim['grid_w']);
    assert.ok(Math.abs((byMetric(b)['grid_export_wh'] ?? 0) - (sim['grid_export_wh'] ?? -1)) <= 0.01);
    assert.equal(meter.info().kind, 'meter');
    // Every frame on the line was whole and answered: none garbled by two requests overlapping.
    const frames = [bus.framesSeen(1) - seen[0]!, bus.framesSeen(2) - seen[1]!];
    assert.deepEqual(frames, [bus.requests(1) - served[0]!, bus.requests(2) - served[1]!]);
    assert.equal(frames[0], 1, 'the inverter is read in one request');
  });

  it('refuses a second source with other line settings or a unit id already on the bus', async () => {
    await assert.rejects(
      open({ key: 'odd', unitId: 3, baudRate: 9600, templates: ['sunspec-inverter-103'] }),
      /already open at 19200 8E1 for inv, meter; every device on one bus uses the same line settings \(asked for 9600 8E1\)/,
    );
    await assert.rejects(
      open({ key: 'twin', unitId: 2, templates: ['sunspec-meter-203'] }),
      /unit id 2 on .* is already read by meter/,
    );
  });

  it('switches a relay board coil over RTU and reports the state read back', async () => {
    const board = await open({ key: 'board', unitId: 17, templates: ['modbus-relay-board-8'] });
    assert.ok(hasRelay(board));
    assert.equal(await board.setRelay('on', 'ch3'), 'on');
    assert.equal(bus.relayState(17, 'ch3'), 'on');
    assert.equal(bus.relayState(17, 'ch2'), 'off');
    assert.deepEqual(writes, [{ template: 'modbus-relay-board-8', register: 'relay ch3', value: 1 }]);
    const states = (await board.read(NOON)).filter((r) => r.metric === 'relay_state');
    assert.equal(states.length, 8);
    assert.equal(states.find((r) => r.equipment === 'board.ch3')?.value, 1);
    assert.equal(await board.setRelay('off', 'ch3'), 'off');

    // A stuck board acknowledges the write; the read-back tells the truth.
    const stuck = await open({ key: 'stuck', unitId: 18, templates: ['modbus-relay-board-8'] });
    assert.ok(hasRelay(stuck));
    assert.equal(await stuck.setRelay('on', 'ch1'), 'off');
  });

  it('fails a read on CRC errors without disturbing the other slaves, and recovers', async () => {
    const [inverter, meter] = sources;
    bus.fault(1, 'crc');
    try {
      await assert.rejects(inverter!.read(NOON), /inv: garbled answer from unit 1 on .*ttyWF0 \(CRC error\)/);
      assert.equal(byMetric(await meter!.read(NOON))['grid_w'], sim['grid_w'], 'the meter still answers');
    } finally {
      bus.fault(1, undefined);
    }
    assert.equal(byMetric(await inverter!.read(NOON))['solar_w'], sim['solar_w']);
  });

  it('times out on a silent slave, then leaves it alone for a while so the bus stays live', async () => {
    const meter = sources[1]!;
    bus.fault(2, 'silent');
    try {
      await assert.rejects(meter.read(NOON), /meter: no answer from unit 2 on .*ttyWF0 within 2000 ms$/);
      // Backing off: the next read fails at once, with the same reason, and nothing goes on the wire.
      const frames = bus.framesSeen(2);
      await assert.rejects(
        meter.read(NOON),
        /no answer from unit 2 .* \(asked again in [12] s: the bus is shared\)/,
      );
      assert.ok(hasProbe(meter));
      const probe = await meter.probe();
      assert.equal(probe.ok, false);
      assert.match(probe.detail, /no answer from unit 2/);
      assert.equal(bus.framesSeen(2), frames, 'a backed-off slave is not asked');
      // The rest of the bus is unaffected.
      assert.equal(byMetric(await sources[0]!.read(NOON))['solar_w'], sim['solar_w']);
    } finally {
      bus.fault(2, undefined);
    }
    // Answering again: the first read after the pause succeeds.
    const deadline = Date.now() + SILENT_SLAVE_BACKOFF_MS.first + 5000;
    let got: Record<string, number> | undefined;
    while (!got && Date.now() < deadline) {
      got = await meter.read(NOON).then(byMetric, () => undefined);
      if (!got) await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(got?.['grid_w'], sim['grid_w']);
  });

  it('closes the port with its last source; a new source opens it again', async () => {
    for (const s of sources.splice(0)) await s.close?.();
    const again = await open({
      key: 'inv',
      unitId: 1,
      templates: ['sunspec-common', 'sunspec-inverter-103'],
    });
    assert.equal(byMetric(await again.read(NOON))['solar_w'], sim['solar_w']);
  });
});

describe('modbus-rtu config', () => {
  const rules = [...builtinRules, sourceRules];
  const config = (sources: string) => `
version: 2
hub: { url: "http://127.0.0.1:1" }
site: { lat: 48.1, lon: 11.6, timezone: Europe/Berlin }
sources:
${sources}
`;

  it('accepts a bus of several slaves with the defaults (9600 8E1)', () => {
    const r = parseConfigText(
      config(`  - { type: modbus-rtu, key: a, path: /dev/ttyUSB0, unitId: 1, templates: [sunspec-inverter-103] }
  - { type: modbus-rtu, key: b, path: /dev/ttyUSB0, unitId: 2, baudRate: 9600, parity: even, templates: [sunspec-meter-203] }`),
      rules,
    );
    assert.ok(r.ok, JSON.stringify(!r.ok && r.problems));
  });

  it('lists every problem at once: bad line settings, address, clashes on one bus', () => {
    const r = parseConfigText(
      config(`  - { type: modbus-rtu, key: a, path: /dev/ttyUSB0, unitId: 1, baudRate: 19200, templates: [sunspec-inverter-103] }
  - { type: modbus-rtu, key: b, path: /dev/ttyUSB0, unitId: 1, parity: none, templates: [sunspec-meter-203] }
  - { type: modbus-rtu, key: c, path: ttyUSB1, unitId: 0, baudRate: 9601, stopBits: 3, templates: [] }`),
      rules,
    );
    assert.equal(r.ok, false);
    const problems = r.ok ? [] : r.problems.map((p) => `${p.path}: ${p.message}`);
    const has = (re: RegExp) =>
      assert.ok(
        problems.some((p) => re.test(p)),
        `${re} in\n${problems.join('\n')}`,
      );
    has(/^\/sources\/2\/path/);
    has(/^\/sources\/2\/unitId/);
    has(/^\/sources\/2\/baudRate/);
    has(/^\/sources\/2\/stopBits/);
    has(/^\/sources\/2\/templates/);
    has(/^\/sources\/1: serial port \/dev\/ttyUSB0 is set to 9600 8N1 here but 19200 8E1 in \/sources\/0/);
    has(/^\/sources\/1\/unitId: unit id 1 on \/dev\/ttyUSB0 is already used by \/sources\/0/);
  });
});
