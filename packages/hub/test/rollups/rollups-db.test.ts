import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { drainRollups } from '../../src/rollups/rollup.job.ts';
import { localDayBounds } from '../../src/time/zoned.ts';
import { ENGINES } from '../helpers/engines.ts';
import { batchId, createSite, startTestHub, type TestHub, TestNode } from '../helpers/hub.ts';

const MIN = 60_000;

async function daily(hub: TestHub, metric: string, day: string) {
  const { rows } = await hub.tdb.database.pool.query(
    `SELECT d.energy_wh, d.hours, d.count, d.resets FROM rollup_daily d JOIN series s ON s.id = d.series_id
     WHERE s.metric = $1 AND d.day = $2`,
    [metric, day],
  );
  return rows[0] as { energy_wh: number; hours: number; count: number; resets: number } | undefined;
}

async function sendAll(node: TestNode, samples: { metric: string; ts: number; value: number }[]) {
  for (let i = 0; i < samples.length; i += 2000) {
    const res = await node.send('/api/v1/ingest/telemetry', {
      batchId: batchId(),
      samples: samples.slice(i, i + 2000),
    });
    assert.equal(res.statusCode, 200, res.body);
  }
}

for (const engine of ENGINES) {
  describe(`rollups on ${engine}`, () => {
    let hub: TestHub;
    let node: TestNode;
    const tz = 'Europe/Berlin';

    before(async () => {
      // Long raw retention so the DST days of this year can be ingested in the test.
      hub = await startTestHub(engine, { retention: { rawDays: 400, hourlyDays: 730 } });
      const site = await createSite(hub, { timezone: tz });
      node = await TestNode.enroll(hub, site.siteId);
    });
    after(async () => hub?.close());

    const constantDay = (metric: string, day: string, watts: number) => {
      const [start, end] = localDayBounds(day, tz);
      const out = [];
      for (let t = start; t <= end; t += MIN) out.push({ metric, ts: t, value: watts });
      return out;
    };

    it('daily buckets follow the local day: 23 h on the spring DST day, 25 h in autumn', async () => {
      await sendAll(node, constantDay('solar_w', '2026-03-29', 1000));
      await sendAll(node, constantDay('solar_w', '2026-10-25', 1000));
      await sendAll(node, constantDay('solar_w', '2026-06-10', 1000));
      await drainRollups(hub.app.hub);
      const spring = await daily(hub, 'solar_w', '2026-03-29');
      const autumn = await daily(hub, 'solar_w', '2026-10-25');
      const normal = await daily(hub, 'solar_w', '2026-06-10');
      assert.equal(spring?.hours, 23);
      assert.ok(Math.abs(spring!.energy_wh - 23_000) < 1e-6, String(spring?.energy_wh));
      assert.equal(autumn?.hours, 25);
      assert.ok(Math.abs(autumn!.energy_wh - 25_000) < 1e-6, String(autumn?.energy_wh));
      assert.equal(normal?.hours, 24);
      assert.ok(Math.abs(normal!.energy_wh - 24_000) < 1e-6);
      // The hourly buckets of the spring day add up to the day as well.
      const [start, end] = localDayBounds('2026-03-29', tz);
      const { rows } = await hub.tdb.database.pool.query(
        `SELECT count(*)::int AS n, sum(energy_wh) AS e FROM rollup_hourly h JOIN series s ON s.id = h.series_id
         WHERE s.metric = 'solar_w' AND h.bucket >= $1 AND h.bucket < $2`,
        [new Date(start), new Date(end)],
      );
      assert.equal(rows[0].n, 23);
      assert.ok(Math.abs(Number(rows[0].e) - 23_000) < 1e-6);
    });

    it('a counter reset mid-day counts as a reset, not as negative energy', async () => {
      const [start] = localDayBounds('2026-07-01', tz);
      const samples = [];
      // +10 Wh a minute; at minute 721 the meter restarted and reads 5; then +10 a minute again.
      for (let m = 0; m <= 720; m++)
        samples.push({ metric: 'grid_import_wh', ts: start + m * MIN, value: m * 10 });
      for (let m = 721; m < 1440; m++)
        samples.push({ metric: 'grid_import_wh', ts: start + m * MIN, value: 5 + (m - 721) * 10 });
      await sendAll(node, samples);
      await drainRollups(hub.app.hub);
      const d = await daily(hub, 'grid_import_wh', '2026-07-01');
      // 7200 before the reset + 5 across it + 7180 after it (718 minutes × 10).
      assert.equal(d?.energy_wh, 7200 + 5 + 7180);
      assert.equal(d?.resets, 1);
    });

    it('a late batch updates exactly the buckets it touches', async () => {
      const day = '2026-08-12';
      const [dayStart, dayEnd] = localDayBounds(day, tz);
      const full = constantDay('load_w', day, 500);
      const half = full.length / 2;
      await sendAll(node, full.slice(0, half));
      await drainRollups(hub.app.hub);
      const before = await daily(hub, 'load_w', day);
      assert.ok(before && before.energy_wh < 6_100, String(before?.energy_wh));
      const { rows: h1 } = await hub.tdb.database.pool.query(
        `SELECT bucket, energy_wh FROM rollup_hourly h JOIN series s ON s.id = h.series_id WHERE s.metric = 'load_w' AND h.bucket >= $1 AND h.bucket < $2 ORDER BY bucket`,
        [new Date(dayStart), new Date(dayEnd)],
      );
      // The second half arrives "two days later".
      await sendAll(node, full.slice(half));
      await drainRollups(hub.app.hub);
      const afterLate = await daily(hub, 'load_w', day);
      assert.ok(Math.abs(afterLate!.energy_wh - 12_000) < 1e-6, String(afterLate?.energy_wh));
      const { rows: h2 } = await hub.tdb.database.pool.query(
        `SELECT bucket, energy_wh FROM rollup_hourly h JOIN series s ON s.id = h.series_id WHERE s.metric = 'load_w' AND h.bucket >= $1 AND h.bucket < $2 ORDER BY bucket`,
        [new Date(dayStart), new Date(dayEnd)],
      );
      assert.equal(h2.length, 24);
      // Hours complete before the late batch keep their values.
      for (const row of h1.slice(0, -1)) {
        const same = h2.find((r) => new Date(r.bucket).getTime() === new Date(row.bucket).getTime());
        assert.equal(same.energy_wh, row.energy_wh);
      }
      assert.equal(
        (await hub.tdb.database.pool.query('SELECT count(*)::int AS n FROM rollup_dirty')).rows[0].n,
        0,
      );
    });
  });
}
