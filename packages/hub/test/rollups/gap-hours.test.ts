// Issue #11 item 7: hours an interval spans keep their energy, and hourly energy adds up to the
// daily energy of the same local day, whatever the gap between readings — on both engines.
// Data is built relative to the site's local midnight a few days back (never the time of day).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { drainRollups } from '../../src/rollups/rollup.job.ts';
import { localDate, localDayBounds } from '../../src/time/zoned.ts';
import { ENGINES } from '../helpers/engines.ts';
import { batchId, createSite, startTestHub, type TestHub, TestNode } from '../helpers/hub.ts';

const MIN = 60_000;
const HOUR = 3_600_000;
const TZ = 'Europe/Athens';
// Power is integrated across gaps up to 2 h here, so the 61-min gap carries power energy too.
const MAX_GAP_S = 2 * 3600;

type Sample = { metric: string; ts: number; value: number };

async function send(node: TestNode, samples: Sample[]) {
  for (let i = 0; i < samples.length; i += 2000) {
    const res = await node.send('/api/v1/ingest/telemetry', {
      batchId: batchId(),
      samples: samples.slice(i, i + 2000),
    });
    assert.equal(res.statusCode, 200, res.body);
  }
}

async function energies(hub: TestHub, nodeId: string, metric: string, day: string) {
  const [start, end] = localDayBounds(day, TZ);
  const q = (sqlText: string, params: unknown[]) => hub.tdb.database.pool.query(sqlText, params);
  const hourly = await q(
    `SELECT h.bucket, h.energy_wh, h.count FROM rollup_hourly h JOIN series s ON s.id = h.series_id
     WHERE s.node_id = $1 AND s.metric = $2 AND h.bucket >= $3 AND h.bucket < $4 ORDER BY h.bucket`,
    [nodeId, metric, new Date(start), new Date(end)],
  );
  const daily = await q(
    `SELECT d.energy_wh FROM rollup_daily d JOIN series s ON s.id = d.series_id
     WHERE s.node_id = $1 AND s.metric = $2 AND d.day = $3`,
    [nodeId, metric, day],
  );
  const byHour = new Map<number, { energy: number; count: number }>(
    hourly.rows.map((r) => [new Date(r.bucket).getTime(), { energy: Number(r.energy_wh), count: r.count }]),
  );
  return { byHour, daily: Number(daily.rows[0]?.energy_wh), start, end };
}

const near = (a: number, b: number, what: string) =>
  assert.ok(Math.abs(a - b) < 1e-6, `${what}: ${a} vs ${b}`);

for (const engine of ENGINES) {
  describe(`hourly energy across gaps on ${engine}`, () => {
    let hub: TestHub;
    let siteId: string;
    // Three days ago in the site's zone: a whole local day, inside raw retention.
    const day = localDate(Date.now() - 3 * 24 * HOUR, TZ);

    before(async () => {
      hub = await startTestHub(engine, { maxIntegrationGapS: MAX_GAP_S });
      siteId = (await createSite(hub, { timezone: TZ })).siteId;
    });
    after(async () => hub?.close());

    for (const gapMin of [1, 61, 360]) {
      it(`a ${gapMin}-min gap: every spanned hour gets its share; the hours add up to the day`, async () => {
        const node = await TestNode.enroll(hub, siteId);
        const [start, end] = localDayBounds(day, TZ);
        // Readings every minute from 30 min before local midnight to 30 min after the next, with
        // one gap of gapMin minutes starting at 09:59 local time-of-day offset (start + 9h59m):
        // a 61-min gap ends at 11:00:00 sharp, a 6-h gap leaves five hours without a reading.
        const gapFrom = start + 9 * HOUR + 59 * MIN;
        const gapTo = gapFrom + gapMin * MIN;
        const counter = (t: number) => ((t - start) / MIN) * 10; // +10 Wh a minute, linear
        const before: Sample[] = [];
        const afterGap: Sample[] = [];
        for (let t = start - 30 * MIN; t <= end + 30 * MIN; t += MIN) {
          if (t > gapFrom && t < gapTo) continue;
          const list = t <= gapFrom ? before : afterGap;
          list.push({ metric: 'grid_import_wh', ts: t, value: 100_000 + counter(t) });
          list.push({ metric: 'solar_w', ts: t, value: 1200 });
        }
        // The readings before the gap are rolled up first: the later batch must fix the hours
        // it spans, not only its own.
        await send(node, before);
        await drainRollups(hub.app.hub);
        await send(node, afterGap);
        await drainRollups(hub.app.hub);

        const dayHours = (end - start) / HOUR;
        const c = await energies(hub, node.nodeId, 'grid_import_wh', day);
        // A linear counter: every hour of the day holds exactly 600 Wh, readings inside or not.
        assert.equal(c.byHour.size, dayHours, 'an hourly bucket for every hour of the day');
        for (const [bucket, h] of c.byHour)
          near(h.energy, 600, `counter hour ${new Date(bucket).toISOString()}`);
        const hourSum = [...c.byHour.values()].reduce((a, h) => a + h.energy, 0);
        near(c.daily, dayHours * 600, 'counter day');
        near(hourSum, c.daily, 'counter hours vs day');
        if (gapMin === 360) {
          const empty = [...c.byHour.values()].filter((h) => h.count === 0).length;
          assert.equal(empty, 5, 'five hours without a reading still carry energy');
        }

        const p = await energies(hub, node.nodeId, 'solar_w', day);
        const pSum = [...p.byHour.values()].reduce((a, h) => a + h.energy, 0);
        near(pSum, p.daily, 'power hours vs day');
        const integrated = gapMin * 60 <= MAX_GAP_S;
        // Constant 1200 W: the whole day, or the day minus the gap not integrated over.
        near(p.daily, 1200 * (integrated ? dayHours : dayHours - gapMin / 60), 'power day');
        if (gapMin === 61) {
          const hour10 = p.byHour.get(start + 10 * HOUR);
          assert.ok(hour10, 'the hour 10–11 has a power bucket though no reading lies inside');
          near(hour10.energy, 1200, 'power 10–11');
        }
      });
    }
  });
}
