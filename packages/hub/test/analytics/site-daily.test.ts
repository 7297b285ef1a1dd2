// Site days through the real path: signed node ingest → bus event → dirty day → recompute →
// API. Late data, tariff versions, device-report reconciliation, completeness, monthly,
// comparison and fleet totals, on both engines.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { processDirtyDays } from '../../src/analytics/site-day.service.ts';
import { runExclusive } from '../../src/jobs/lock.ts';
import { localDayBounds, localParts } from '../../src/time/zoned.ts';
import { ENGINES } from '../helpers/engines.ts';
import { batchId, createSite, startTestHub, type TestHub, TestNode } from '../helpers/hub.ts';

const TZ = 'Europe/Berlin';
const STEP = 5 * 60_000;
const DAY = '2026-06-15';
const hourOf = (ms: number) => {
  const p = localParts(ms, TZ);
  return p.hour + p.minute / 60;
};

type S = { metric: string; ts: number; value: number };

/** Sunny day: solar 4 kW 08–16, load 0.5 kW, grid = load − solar; samples every 5 min in [from, to). */
function sunny(from: number, to: number): S[] {
  const out: S[] = [];
  for (let t = from; t < to; t += STEP) {
    const h = hourOf(t);
    const solar = h >= 8 && h < 16 ? 4000 : 0;
    out.push(
      { metric: 'solar_w', ts: t, value: solar },
      { metric: 'load_w', ts: t, value: 500 },
      { metric: 'grid_w', ts: t, value: 500 - solar },
    );
  }
  return out;
}

async function send(node: TestNode, samples: S[]) {
  for (let i = 0; i < samples.length; i += 2000) {
    const res = await node.send('/api/v1/ingest/telemetry', {
      batchId: batchId('a'),
      samples: samples.slice(i, i + 2000),
    });
    assert.equal(res.statusCode, 200, res.body);
  }
}

const close = (actual: number, expected: number, tol: number, what: string) =>
  assert.ok(Math.abs(actual - expected) <= tol, `${what}: ${actual} ≠ ${expected}`);

for (const engine of ENGINES) {
  describe(`site daily analytics on ${engine}`, () => {
    let hub: TestHub;
    let node: TestNode;
    let siteId: string;
    let orgId: string;
    const [start, end] = localDayBounds(DAY, TZ);

    before(async () => {
      // Fixed, hand-checked dates in the past: widen raw retention so ingest accepts them.
      hub = await startTestHub(engine, { retention: { rawDays: 3650, hourlyDays: 3650 } });
      const site = await createSite(hub, { timezone: TZ });
      siteId = site.siteId;
      orgId = site.orgId;
      node = await TestNode.enroll(hub, siteId);
    });
    after(async () => hub?.close());

    const daily = async (from: string, to = from) => {
      const res = await hub.admin('GET', `/api/v1/sites/${siteId}/daily?from=${from}&to=${to}`);
      assert.equal(res.statusCode, 200, res.body);
      return res.json();
    };

    it('recomputes a day when its last hours arrive two days late', async () => {
      const cut = start + 20 * 3_600_000; // 20:00 local
      await send(node, sunny(start, cut));
      let [d] = await daily(DAY);
      close(d.solarKwh, 32, 0.001, 'solar (partial)');
      close(d.loadKwh, 10, 0.001, 'load (partial)');
      close(d.coverage, 20 / 24, 0.001, 'coverage (partial)');
      // The rest of the day, sent later (as an agent back online after two days would).
      await send(node, sunny(cut, end));
      [d] = await daily(DAY);
      close(d.solarKwh, 32, 0.001, 'solar');
      close(d.loadKwh, 12, 0.001, 'load');
      close(d.importKwh, 8, 0.001, 'import');
      close(d.exportKwh, 28, 0.001, 'export');
      close(d.selfConsumptionPct, 12.5, 0.1, 'self-consumption');
      close(d.selfSufficiencyPct, 33.333, 0.1, 'self-sufficiency');
      close(d.peakDemandKw, 0.5, 0.001, 'peak demand');
      assert.equal(d.coverage, 1);
    });

    it('a tariff version from a date leaves earlier days priced as before', async () => {
      const [s20, e20] = localDayBounds('2026-06-20', TZ);
      await send(node, sunny(s20, e20));
      const v1 = await hub.admin('POST', `/api/v1/sites/${siteId}/tariffs`, {
        validFrom: '2026-06-01',
        definition: { currency: 'EUR', importRate: 0.3, periods: [], exportRate: 0.1, dailyCharge: 1 },
      });
      assert.equal(v1.statusCode, 201, v1.body);
      // 8 kWh × 0.30 − 28 kWh × 0.10 + 1 = 0.60; without solar 12 × 0.30 + 1 = 4.60.
      const [before15] = await daily(DAY);
      const [before20] = await daily('2026-06-20');
      close(before15.cost, 0.6, 1e-6, 'cost 15th');
      close(before15.savings, 4.0, 1e-6, 'savings 15th');
      close(before20.cost, 0.6, 1e-6, 'cost 20th');
      const v2 = await hub.admin('POST', `/api/v1/sites/${siteId}/tariffs`, {
        validFrom: '2026-06-18',
        definition: { currency: 'EUR', importRate: 0.5, periods: [], exportRate: 0.1, dailyCharge: 1 },
      });
      assert.equal(v2.statusCode, 201, v2.body);
      const [after15] = await daily(DAY);
      const [after20] = await daily('2026-06-20');
      assert.equal(after15.cost, before15.cost);
      close(after20.cost, 8 * 0.5 - 2.8 + 1, 1e-6, 'cost 20th under v2');
      const again = await hub.admin('POST', `/api/v1/sites/${siteId}/tariffs`, {
        validFrom: '2026-06-18',
        definition: { currency: 'EUR', importRate: 0.1, periods: [], exportRate: 0, dailyCharge: 0 },
      });
      assert.equal(again.statusCode, 409);
      const del = await hub.admin('DELETE', `/api/v1/sites/${siteId}/tariffs/${v1.json().id}`);
      assert.equal(del.statusCode, 409, 'a version in effect cannot be deleted');
      const list = await hub.admin('GET', `/api/v1/sites/${siteId}/tariffs`);
      assert.deepEqual(
        list.json().map((v: { validFrom: string }) => v.validFrom),
        ['2026-06-01', '2026-06-18'],
      );
    });

    it('flags a device report more than 2 % away from the hub figure, keeps both', async () => {
      const res = await node.send('/api/v1/ingest/daily', {
        batchId: batchId('d'),
        days: [{ date: DAY, values: { solar_kwh: 33, load_kwh: 12.1 } }],
      });
      assert.equal(res.statusCode, 200, res.body);
      const rec = await hub.admin('GET', `/api/v1/sites/${siteId}/reconciliation?from=${DAY}&to=${DAY}`);
      assert.equal(rec.statusCode, 200, rec.body);
      const byMetric = Object.fromEntries(rec.json().map((r: { metric: string }) => [r.metric, r]));
      assert.equal(byMetric.solar_kwh.flagged, true);
      close(byMetric.solar_kwh.reportedWh, 33000, 0.001, 'reported');
      close(byMetric.solar_kwh.computedWh, 32000, 1, 'computed');
      assert.equal(byMetric.load_kwh.flagged, false);
      const [d] = await daily(DAY);
      close(d.solarKwh, 32, 0.001, 'the hub figure is not overwritten');
    });

    it('completeness counts expected vs received intervals and lists gaps', async () => {
      await hub.tdb.database.pool.query('UPDATE nodes SET sample_interval_s = 300 WHERE id = $1', [
        node.nodeId,
      ]);
      const [s, e] = localDayBounds('2026-06-22', TZ);
      await send(
        node,
        sunny(s, e).filter((x) => !(hourOf(x.ts) >= 10 && hourOf(x.ts) < 11)),
      );
      const res = await hub.admin(
        'GET',
        `/api/v1/nodes/${node.nodeId}/completeness?from=2026-06-21&to=2026-06-22`,
      );
      assert.equal(res.statusCode, 200, res.body);
      const [d21, d22] = res.json();
      assert.equal(d21.received, 0);
      assert.equal(d21.expected, 288);
      assert.equal(d22.expected, 288);
      assert.equal(d22.received, 276);
      assert.equal(d22.gaps.length, 1);
      assert.equal(d22.gaps[0].seconds, 3600);
      assert.equal(d22.gaps[0].from, new Date(s + 10 * 3_600_000).toISOString());
    });

    it('late solar for yesterday re-colours the battery energy used today (ledger carried over)', async () => {
      const [s1, e1] = localDayBounds('2026-07-01', TZ);
      const [s2, e2] = localDayBounds('2026-07-02', TZ);
      const within = (t: number, a: number, b: number) => hourOf(t) >= a && hourOf(t) < b;
      const gen = (from: number, to: number, f: (t: number) => S[]) => {
        const out: S[] = [];
        for (let t = from; t < to; t += STEP) out.push(...f(t));
        return out;
      };
      // Day 1: the battery takes 2 kW 10–14 (8 kWh); day 2: gives 2 kW 18–22 into a 2 kW load.
      await send(
        node,
        gen(s1, e1, (t) => [
          { metric: 'battery_w', ts: t, value: within(t, 10, 14) ? -2000 : 0 },
          { metric: 'load_w', ts: t, value: 500 },
        ]),
      );
      await send(
        node,
        gen(s2, e2, (t) => [
          { metric: 'battery_w', ts: t, value: within(t, 18, 22) ? 2000 : 0 },
          { metric: 'load_w', ts: t, value: within(t, 18, 22) ? 2000 : 500 },
        ]),
      );
      let [d2] = await daily('2026-07-02');
      // Without solar yesterday the battery held grid energy: nothing on day 2 is solar.
      assert.equal(d2.selfSufficiencyPct, 0);
      // Yesterday's PV arrives late: the 8 kWh that charged the battery were solar after all.
      await send(
        node,
        gen(s1, e1, (t) => (within(t, 10, 14) ? [{ metric: 'solar_w', ts: t, value: 2500 }] : [])),
      );
      [d2] = await daily('2026-07-02');
      // Day 2 load 20 × 0.5 + 4 × 2 = 18 kWh, 8 kWh of it solar through the battery: 44.4 %.
      close(d2.selfSufficiencyPct, (8 / 18) * 100, 0.1, 'self-sufficiency of day 2');
    });

    it('the recompute job runs under the job lock and empties the queue', async () => {
      const [s, e] = localDayBounds('2026-07-05', TZ);
      await send(node, sunny(s, e));
      const queued = await hub.tdb.database.pool.query('SELECT day::text AS day FROM site_daily_dirty');
      assert.ok(queued.rows.some((r) => r.day === '2026-07-05'));
      const r = await runExclusive(hub.app.hub.database, 'job.analytics.site-days', () =>
        processDirtyDays(hub.app.hub),
      );
      assert.ok(r.ran && r.value >= 1);
      assert.equal(
        (await hub.tdb.database.pool.query('SELECT count(*)::int AS n FROM site_daily_dirty')).rows[0].n,
        0,
      );
      const row = await hub.tdb.database.pool.query(
        `SELECT solar_wh FROM site_daily WHERE site_id = $1 AND day = '2026-07-05'`,
        [siteId],
      );
      close(row.rows[0].solar_wh, 32000, 1, 'stored solar Wh');
    });

    it('monthly, comparison and installer fleet totals', async () => {
      // A demand charge applies per kW of the month's highest 15-minute import (0.5 kW here).
      const v3 = await hub.admin('POST', `/api/v1/sites/${siteId}/tariffs`, {
        validFrom: '2026-06-25',
        definition: {
          currency: 'EUR',
          importRate: 0.5,
          periods: [],
          exportRate: 0.1,
          dailyCharge: 1,
          demandChargePerKw: 10,
        },
      });
      assert.equal(v3.statusCode, 201, v3.body);
      const june = (await daily('2026-06-01', '2026-06-30')) as { cost: number; baselineCost: number }[];
      assert.equal(june.length, 30);
      const monthly = await hub.admin('GET', `/api/v1/sites/${siteId}/monthly?from=2026-05&to=2026-06`);
      assert.equal(monthly.statusCode, 200, monthly.body);
      const [may, jun] = monthly.json();
      close(jun.cost, june.reduce((a, d) => a + d.cost, 0) + 10 * 0.5, 1e-6, 'june cost with demand charge');
      close(jun.baselineCost, june.reduce((a, d) => a + d.baselineCost, 0) + 10 * 0.5, 1e-6, 'june baseline');
      assert.equal(may.month, '2026-05');
      assert.equal(may.solarKwh, 0);
      // 15th and 20th full days, 22nd without 10–11 (solar 28, load 11.5).
      close(jun.solarKwh, 32 + 32 + 28, 0.001, 'june solar');
      close(jun.loadKwh, 12 + 12 + 11.5, 0.001, 'june load');
      const cmp = await hub.admin('GET', `/api/v1/sites/${siteId}/comparison?from=2026-06-15&to=2026-06-21`);
      assert.equal(cmp.statusCode, 200, cmp.body);
      close(cmp.json().current.solarKwh, 64, 0.001, 'current');
      assert.equal(cmp.json().previous.solarKwh, 0);
      assert.equal(cmp.json().previous.from, '2026-06-08');
      const fleet = await hub.admin('GET', `/api/v1/installers/${orgId}/fleet?from=2026-06-01&to=2026-06-30`);
      assert.equal(fleet.statusCode, 200, fleet.body);
      assert.equal(fleet.json().sites, 1);
      close(fleet.json().totals.solarKwh, 92, 0.001, 'fleet solar');
      const bad = await hub.admin('GET', `/api/v1/sites/${siteId}/daily?from=2026-06-20&to=2026-06-01`);
      assert.equal(bad.statusCode, 400);
      const anon = await hub.app.inject({
        method: 'GET',
        url: `/api/v1/sites/${siteId}/daily?from=${DAY}&to=${DAY}`,
      });
      assert.equal(anon.statusCode, 401);
    });
  });
}
