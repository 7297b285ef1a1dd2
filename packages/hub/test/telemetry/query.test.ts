import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { drainRollups } from '../../src/rollups/rollup.job.ts';
import { chooseResolution } from '../../src/telemetry/telemetry.repository.ts';
import { ENGINES } from '../helpers/engines.ts';
import { batchId, createSite, startTestHub, type TestHub, TestNode } from '../helpers/hub.ts';

describe('resolution choice', () => {
  it('picks the finest resolution that keeps a series within 2,000 points', () => {
    const H = 3_600_000;
    assert.equal(chooseResolution(0, 5 * H, 10, 2000), 'raw'); // 1,800 points
    assert.equal(chooseResolution(0, 6 * H, 10, 2000), 'hour'); // 2,160 raw points
    assert.equal(chooseResolution(0, 80 * 24 * H, 10, 2000), 'hour'); // 1,920 hours
    assert.equal(chooseResolution(0, 90 * 24 * H, 10, 2000), 'day');
  });
});

for (const engine of ENGINES) {
  describe(`telemetry query API on ${engine}`, () => {
    let hub: TestHub;
    let node: TestNode;
    let siteId: string;
    const end = Math.floor(Date.now() / 3_600_000) * 3_600_000 - 3_600_000;
    const start = end - 8 * 3_600_000;

    before(async () => {
      hub = await startTestHub(engine);
      siteId = (await createSite(hub)).siteId;
      node = await TestNode.enroll(hub, siteId);
      const samples = [];
      for (let t = start; t < end; t += 10_000) samples.push({ metric: 'solar_w', ts: t, value: 1800 });
      for (let i = 0; i < samples.length; i += 5000) {
        const res = await node.send('/api/v1/ingest/telemetry', {
          batchId: batchId(),
          samples: samples.slice(i, i + 5000),
        });
        assert.equal(res.statusCode, 200, res.body);
      }
      await node.send('/api/v1/ingest/telemetry', {
        batchId: batchId(),
        samples: [{ metric: 'battery_soc', ts: end - 1000, value: 64, equipment: 'bat1' }],
      });
      await drainRollups(hub.app.hub);
    });
    after(async () => hub?.close());

    it('answers raw data for a short range and says so', async () => {
      const res = await hub.admin(
        'GET',
        `/api/v1/sites/${siteId}/telemetry?from=${new Date(end - 3_600_000).toISOString()}&to=${new Date(end).toISOString()}&metrics=solar_w`,
      );
      assert.equal(res.statusCode, 200, res.body);
      const body = res.json();
      assert.equal(body.resolution, 'raw');
      assert.equal(body.series.length, 1);
      assert.equal(body.series[0].points.length, 360);
    });

    it('switches to hourly rollups for a long range, with energy per bucket', async () => {
      const res = await hub.admin(
        'GET',
        `/api/v1/sites/${siteId}/telemetry?from=${new Date(start).toISOString()}&to=${new Date(end).toISOString()}&metrics=solar_w`,
      );
      const body = res.json();
      assert.equal(body.resolution, 'hour');
      const s = body.series[0];
      assert.equal(s.points.length, 8);
      assert.ok(s.points.every((p: [number, number]) => p[1] === 1800));
      // Full hours inside the range: 1.8 kWh each (the last one ends at the last sample).
      assert.ok(Math.abs(s.energyWh[0] - 1800) < 1e-6, String(s.energyWh[0]));
    });

    it('refuses an inverted range and unknown query keys', async () => {
      const inverted = await hub.admin(
        'GET',
        `/api/v1/sites/${siteId}/telemetry?from=${new Date(end).toISOString()}&to=${new Date(start).toISOString()}`,
      );
      assert.equal(inverted.statusCode, 400);
      const unknown = await hub.admin('GET', `/api/v1/sites/${siteId}/telemetry?from=x&to=y&evil=1`);
      assert.equal(unknown.statusCode, 400);
      assert.equal(unknown.json().code, 'WF_VALIDATION');
    });

    it('returns the latest value per series of a node', async () => {
      const res = await hub.admin('GET', `/api/v1/nodes/${node.nodeId}/latest`);
      assert.equal(res.statusCode, 200);
      const values = res.json().values as { metric: string; equipment: string; value: number; ts: string }[];
      const soc = values.find((v) => v.metric === 'battery_soc');
      assert.deepEqual(soc && { e: soc.equipment, v: soc.value }, { e: 'bat1', v: 64 });
      const solar = values.find((v) => v.metric === 'solar_w');
      assert.equal(new Date(solar!.ts).getTime(), end - 10_000);
    });

    it('answers 404 for an unknown site', async () => {
      const res = await hub.admin(
        'GET',
        `/api/v1/sites/00000000-0000-4000-8000-000000000000/telemetry?from=${new Date(start).toISOString()}&to=${new Date(end).toISOString()}`,
      );
      assert.equal(res.statusCode, 404);
    });
  });
}
