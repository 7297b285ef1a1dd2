// The mqtt-device source against the machine's real Mosquitto (and the agent's own embedded
// broker), with device stand-ins that publish the payloads the Shelly Gen2+ and Tasmota MQTT
// documentation gives (mqtt-device-standins.ts). Each test uses its own topic prefix.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { after, describe, it } from 'node:test';
import { builtinRules, parseConfigText } from '@wattfleet/devices/config';
import { sourceRules } from '@wattfleet/devices/sources';
import { WattfleetError } from '@wattfleet/protocol';
import { parseMqttTemplate } from '../../src/sources/mqtt/template.ts';
import { createSource } from '../../src/sources/registry.ts';
import { hasProbe, hasRelay, type Reading, type Source } from '../../src/sources/types.ts';
import { TEMPLATES_DIR } from './fixtures.ts';
import { type DeviceStandIn, startShellyStandIn, startTasmotaStandIn } from './mqtt-device-standins.ts';

const MOSQUITTO = 'mqtt://127.0.0.1:1883';
const ctx = {
  site: { latitude: 48.1, longitude: 11.6, timezone: 'Europe/Berlin' },
  templatesDir: TEMPLATES_DIR,
};
const uniq = (what: string) => `wftest-${what}-${randomBytes(4).toString('hex')}`;
const byEquipment = (readings: Reading[]) => {
  const out: Record<string, Record<string, number>> = {};
  for (const r of readings) {
    const e = r.equipment ?? '';
    out[e] = { ...out[e], [r.metric]: r.value };
  }
  return out;
};

const cleanup: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const c of cleanup.reverse()) await c().catch(() => {});
});
async function device(start: Promise<DeviceStandIn>) {
  const d = await start;
  cleanup.push(() => d.close());
  return d;
}
async function source(config: Record<string, unknown>): Promise<Source> {
  const s = await createSource('mqtt-device', { timeoutMs: 2000, ...config }, ctx);
  cleanup.push(async () => s.close?.());
  return s;
}
/** Reads until `ok` holds (messages arrive asynchronously), or fails with the last readings. */
async function readUntil(s: Source, ok: (r: Record<string, Record<string, number>>) => boolean) {
  let last: Record<string, Record<string, number>> = {};
  for (let i = 0; i < 100; i++) {
    last = byEquipment(await s.read(Date.now()));
    if (ok(last)) return last;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`not reached; last readings ${JSON.stringify(last)}`);
}

describe('mqtt-device source: Shelly Gen2+', () => {
  it('reads a Plus 1PM from its status, switches it and confirms from its own status message', async () => {
    const prefix = uniq('shellyplus1pm');
    const plug = await device(startShellyStandIn({ url: MOSQUITTO, prefix, channels: 1 }));
    plug.setLoad(0, 1800);
    const s = await source({ key: 'heater', template: 'shelly-gen2', prefix, broker: { url: MOSQUITTO } });
    // Shelly.GetStatus at connect: values without waiting for a change.
    const first = await readUntil(s, (r) => r['heater']?.['relay_state'] === 0);
    assert.deepEqual(first['heater'], {
      power_w: 0,
      voltage_l1: 231.4,
      current_l1: 0,
      energy_wh: 1234.5,
      temperature_c: 41.2,
      relay_state: 0,
    });
    assert.deepEqual(s.info(), { key: 'heater', kind: 'plug', vendor: 'Shelly' });
    assert.ok(hasRelay(s));
    assert.deepEqual(s.relayChannels?.(), [], 'one switch: a single-channel device');
    assert.equal(await s.getRelay(), 'off');
    assert.equal(await s.setRelay('on'), 'on');
    assert.equal(plug.output(0), true, 'the device switched');
    const on = await readUntil(s, (r) => r['heater']?.['power_w'] === 1800);
    assert.equal(on['heater']?.['relay_state'], 1);
    assert.equal(await s.setRelay('off'), 'off');
    assert.ok(hasProbe(s));
    assert.equal((await s.probe()).ok, true);
  });

  it('addresses one switch of a Pro 2PM', async () => {
    const prefix = uniq('shellypro2pm');
    const dev = await device(startShellyStandIn({ url: MOSQUITTO, prefix, channels: 2 }));
    const s = await source({
      key: 'pro',
      template: 'shelly-gen2',
      prefix,
      broker: { url: MOSQUITTO },
      channels: ['0', '1'],
    });
    assert.ok(hasRelay(s));
    assert.deepEqual(s.relayChannels?.(), [{ channel: '0' }, { channel: '1' }]);
    assert.equal(await s.setRelay('on', '1'), 'on');
    assert.deepEqual([dev.output(0), dev.output(1)], [false, true]);
    const r = await readUntil(
      s,
      (x) => x['pro.1']?.['relay_state'] === 1 && x['pro.0']?.['relay_state'] === 0,
    );
    assert.equal(r['pro.1']?.['energy_wh'], 1334.5);
    await assert.rejects(s.setRelay('on', '7'), /no relay channel "7" \(has 0, 1\)/);
  });

  it('reports what a stuck device says, an offline device as offline, and stale values not at all', async () => {
    const prefix = uniq('shellystuck');
    const dev = await device(startShellyStandIn({ url: MOSQUITTO, prefix, channels: 1, stuck: true }));
    const s = await source({
      key: 'stuck',
      template: 'shelly-gen2',
      prefix,
      broker: { url: MOSQUITTO },
      staleAfterS: 1,
    });
    assert.ok(hasRelay(s));
    assert.equal(await s.setRelay('on'), 'off', 'the state the device reports, not the one asked for');
    await readUntil(s, (r) => r['stuck']?.['relay_state'] === 0);
    await new Promise((r) => setTimeout(r, 1100));
    await assert.rejects(s.read(Date.now()), /stuck: nothing newer than 1 s from the device on prefix/);
    await dev.report();
    await readUntil(s, (r) => r['stuck']?.['power_w'] === 0);
    dev.vanish(); // the broker publishes its last will: online = false
    let error: Error | undefined;
    for (let i = 0; i < 100 && !error; i++) {
      error = await s.read(Date.now()).then(
        () => undefined,
        (e: Error) => e,
      );
      if (!error) await new Promise((r) => setTimeout(r, 50));
    }
    assert.match(
      error?.message ?? '',
      new RegExp(`device offline \\(its last will on ${prefix}/online says false\\)`),
    );
  });
});

describe('mqtt-device source: Tasmota', () => {
  it('reads an energy plug (kWh counter into Wh), switches POWER and confirms from stat/', async () => {
    const topic = uniq('tasmota');
    const plug = await device(startTasmotaStandIn({ url: MOSQUITTO, prefix: topic, channels: 1 }));
    plug.setLoad(0, 350);
    const s = await source({ key: 'fridge', template: 'tasmota', prefix: topic, broker: { url: MOSQUITTO } });
    // STATUS 8 and an empty POWER at connect answer at once (no waiting for TelePeriod).
    const r = await readUntil(
      s,
      (x) => x['fridge']?.['relay_state'] === 0 && x['fridge']?.['energy_wh'] !== undefined,
    );
    assert.deepEqual(r['fridge'], {
      power_w: 0,
      voltage_l1: 229,
      current_l1: 0,
      energy_wh: 12345,
      relay_state: 0,
    });
    assert.ok(hasRelay(s));
    assert.equal(await s.setRelay('on'), 'on');
    assert.equal(plug.output(0), true);
    await plug.report(); // tele/…/SENSOR after TelePeriod
    const on = await readUntil(s, (x) => x['fridge']?.['power_w'] === 350);
    assert.equal(on['fridge']?.['relay_state'], 1);
    assert.deepEqual(s.info(), { key: 'fridge', kind: 'plug', vendor: 'Tasmota' });
  });

  it('switches relay 2 of a two-relay device (POWER2)', async () => {
    const topic = uniq('tasmota2');
    const dev = await device(startTasmotaStandIn({ url: MOSQUITTO, prefix: topic, channels: 2 }));
    const s = await source({
      key: 'dual',
      template: 'tasmota',
      prefix: topic,
      broker: { url: MOSQUITTO },
      channels: ['1', '2'],
    });
    assert.ok(hasRelay(s));
    assert.equal(await s.setRelay('on', '2'), 'on');
    assert.deepEqual([dev.output(0), dev.output(1)], [false, true]);
    assert.equal(await s.getRelay('1'), 'off');
    await dev.report();
    const r = await readUntil(
      s,
      (x) => x['dual.2']?.['relay_state'] === 1 && x['dual.1']?.['relay_state'] === 0,
    );
    assert.equal(r['dual']?.['voltage_l1'], 229, "the device's one meter belongs to the device");
  });
});

describe('mqtt-device source: the embedded broker', () => {
  it('runs a broker with a login for the devices, and refuses a device with the wrong password', async () => {
    const port = await new Promise<number>((resolve) => {
      const srv = createServer().listen(0, '127.0.0.1', () => {
        const p = (srv.address() as { port: number }).port;
        srv.close(() => resolve(p));
      });
    });
    const broker = { embedded: { host: '127.0.0.1', port, username: 'plugs', password: 's3cret' } };
    const prefix = uniq('shellyembedded');
    const s = await source({ key: 'plug', template: 'shelly-gen2', prefix, broker });
    const url = `mqtt://127.0.0.1:${port}`;
    await assert.rejects(
      startShellyStandIn({ url, prefix: `${prefix}-x`, channels: 1, username: 'plugs', password: 'wrong' }),
      /Bad username or password|Not authorized|bad user name/i,
    );
    const plug = await device(
      startShellyStandIn({ url, prefix, channels: 1, username: 'plugs', password: 's3cret' }),
    );
    plug.setLoad(0, 60);
    await plug.report();
    await readUntil(s, (r) => r['plug']?.['relay_state'] === 0);
    assert.ok(hasRelay(s));
    assert.equal(await s.setRelay('on'), 'on');
    await readUntil(s, (r) => r['plug']?.['power_w'] === 60);
  });
});

describe('mqtt-device config and templates', () => {
  it('lists every config problem at once', () => {
    const r = parseConfigText(
      `version: 2
hub: { url: "http://127.0.0.1:1" }
site: { lat: 48.1, lon: 11.6, timezone: Europe/Berlin }
sources:
  - { type: mqtt-device, key: a, template: shelly-gen2, prefix: "shellies/#", broker: { url: "http://x" } }
  - { type: mqtt-device, key: b, template: Tasmota, prefix: plug, broker: { embedded: { port: 0 } }, channels: ["1", "1"] }
`,
      [...builtinRules, sourceRules],
    );
    assert.equal(r.ok, false);
    const paths = r.ok ? [] : r.problems.map((p) => p.path);
    for (const p of [
      '/sources/0/prefix',
      '/sources/0/broker',
      '/sources/1/template',
      '/sources/1/broker',
      '/sources/1/channels',
    ])
      assert.ok(
        paths.some((x) => x.startsWith(p)),
        `${p} in ${paths.join(', ')}`,
      );
  });

  it('checks a template by shape and meaning, every problem listed', () => {
    const bad = `template: my-plug
description: a plug
documentation: https://example.org/plug
channels: [""]
subscriptions:
  - topic: "plugs/{prefix}/#"
    format: json
    metrics: [{ path: power, metric: watts }, { path: on, metric: relay_state }]
  - topic: "plugs/{prefix}/state"
    format: text
    metrics: [{ path: x, metric: power_w }]
switch: { topic: "plugs/{prefix}/set", payload: "switch", on: "1", off: "0" }
refresh: []
`;
    try {
      parseMqttTemplate(bad, 'my-plug');
      assert.fail('accepted');
    } catch (err) {
      assert.ok(err instanceof WattfleetError);
      const shape = (err.problems ?? []).map((p) => `${p.path}: ${p.message}`);
      assert.ok(
        shape.some((p) => p.startsWith('/subscriptions/0/topic')),
        shape.join('\n'),
      );
    }
    const meaning = bad.replace('plugs/{prefix}/#', 'plugs/{prefix}/power');
    try {
      parseMqttTemplate(meaning, 'my-plug');
      assert.fail('accepted');
    } catch (err) {
      const problems = ((err as WattfleetError).problems ?? []).map((p) => `${p.path}: ${p.message}`);
      for (const re of [
        /^\/subscriptions: no subscription carries the relay state/,
        /^\/subscriptions\/0\/metrics\/0\/metric: "watts" is not a catalogue metric/,
        /^\/subscriptions\/0\/metrics\/1\/metric: relay_state comes from `state`/,
        /^\/subscriptions\/1: a text payload is one value/,
        /^\/switch\/payload: the switch command must carry \{on\}/,
      ])
        assert.ok(
          problems.some((p) => re.test(p)),
          `${re} in\n${problems.join('\n')}`,
        );
    }
  });
});
