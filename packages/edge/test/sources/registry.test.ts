// The registry builds sources only from configs that pass their schema, and lists every problem.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isAcceptedMetric, WattfleetError } from '@wattfleet/protocol';
import Type from 'typebox';
import { createSource, SourceRegistry, sourceRegistry } from '../../src/sources/registry.ts';
import type { Source } from '../../src/sources/types.ts';
import { TEMPLATES_DIR } from './fixtures.ts';

const ctx = {
  site: { latitude: 52.52, longitude: 13.4, timezone: 'Europe/Berlin' },
  templatesDir: TEMPLATES_DIR,
};

async function refusal(p: Promise<unknown>): Promise<WattfleetError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof WattfleetError, String(err));
    return err;
  }
  assert.fail('expected a refusal');
}

describe('source registry', () => {
  it('knows the built-in source types', () => {
    assert.deepEqual(sourceRegistry.types(), [
      'modbus-rtu',
      'modbus-tcp',
      'mqtt-device',
      'opcua',
      'simulator',
    ]);
  });

  it('builds a simulator whose readings are all accepted metrics', async () => {
    const src = await createSource(
      'simulator',
      { key: 'sim1', seed: 7, battery: { capacityWh: 5000, maxChargeW: 2500 } },
      ctx,
    );
    assert.equal(src.type, 'simulator');
    assert.equal(src.info().key, 'sim1');
    const readings = await src.read(Date.now());
    assert.ok(readings.length >= 10);
    for (const r of readings) {
      assert.ok(isAcceptedMetric(r.metric), r.metric);
      assert.ok(Number.isFinite(r.value), `${r.metric}=${r.value}`);
    }
  });

  it('lists every problem of an invalid simulator config', async () => {
    const err = await refusal(
      createSource(
        'simulator',
        {
          key: 'bad key!',
          pv: { peakW: -5 },
          battery: { capacityWh: 0, maxChargeW: 1000, colour: 'red' },
          extra: 1,
        },
        ctx,
      ),
    );
    assert.equal(err.code, 'WF_VALIDATION');
    const paths = (err.problems ?? []).map((p) => p.path);
    for (const path of ['/key', '/pv/peakW', '/battery/capacityWh', '/battery']) {
      assert.ok(paths.includes(path), `${path} in ${JSON.stringify(err.problems)}`);
    }
    assert.ok(
      err.problems!.some((p) => /seed/.test(p.message)),
      'missing seed is reported',
    );
    assert.ok(
      err.problems!.some((p) => p.path === '/extra' || /additional/.test(p.message)),
      'unknown key refused',
    );
  });

  it('lists every problem of an invalid modbus-tcp config', async () => {
    const err = await refusal(
      createSource('modbus-tcp', { key: 'inv', port: 70000, templates: [], unitId: -1 }, ctx),
    );
    const paths = (err.problems ?? []).map((p) => p.path);
    for (const path of ['/port', '/templates', '/unitId'])
      assert.ok(paths.includes(path), `${path}: ${paths}`);
    assert.ok(
      err.problems!.some((p) => /host/.test(p.message)),
      'missing host is reported',
    );
  });

  it('refuses an unknown type, naming the known ones', async () => {
    const err = await refusal(createSource('teleporter', {}, ctx));
    assert.match(
      err.problems![0]!.message,
      /unknown source type "teleporter".*modbus-tcp, mqtt-device, opcua, simulator/,
    );
  });

  it('reports a template the modbus-tcp config names but the directory lacks', async () => {
    const err = await refusal(
      createSource('modbus-tcp', { key: 'x', host: '127.0.0.1', templates: ['no-such-device'] }, ctx),
    );
    assert.equal(err.code, 'WF_NOT_FOUND');
  });

  it('lets a driver register its own type once', async () => {
    const registry = new SourceRegistry();
    const factory = {
      type: 'constant',
      configSchema: Type.Object(
        { key: Type.String(), value: Type.Number() },
        { additionalProperties: false },
      ),
      create: (c: { key: string; value: number }): Source => ({
        key: c.key,
        type: 'constant',
        info: () => ({ key: c.key, kind: 'sensor' }),
        read: async (now) => [{ metric: 'x_constant', value: c.value, ts: now }],
      }),
    };
    registry.register(factory);
    assert.throws(() => registry.register(factory), /already registered/);
    const src = await registry.create('constant', { key: 'c', value: 3 }, ctx);
    assert.deepEqual(await src.read(1), [{ metric: 'x_constant', value: 3, ts: 1 }]);
    assert.deepEqual(
      registry.problems('constant', { key: 'c', value: 'three' }).map((p) => p.path),
      ['/value'],
    );
  });
});
