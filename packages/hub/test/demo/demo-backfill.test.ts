// The demo fleet `npm start` brings up: seeded sites, history backfilled through the real ingest
// path, and a restart that backfills only what is missing (it used to re-send the whole month as
// duplicates, which froze the embedded database for the first minute of every start). Both engines.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { processDirtyDays } from '../../src/analytics/site-day.service.ts';
import { DemoRunner } from '../../src/demo/demo.runner.ts';
import { seedDemo } from '../../src/demo/demo.seed.ts';
import { demoTariff, seedDemoTariffs } from '../../src/demo/demo-tariffs.ts';
import { drainRollups } from '../../src/rollups/rollup.job.ts';
import { localDate } from '../../src/time/zoned.ts';
import { ENGINES } from '../helpers/engines.ts';
import { startTestHub, type TestHub } from '../helpers/hub.ts';

const HOUR = 3_600_000;

for (const engine of ENGINES) {
  describe(`demo backfill (${engine})`, () => {
    let hub: TestHub;
    before(async () => {
      hub = await startTestHub(engine);
    });
    after(async () => hub?.close());

    const storedSamples = async () =>
      Number(
        (await sql<{ n: string }>`SELECT count(*) AS n FROM samples`.execute(hub.app.hub.db)).rows[0]!.n,
      );

    it('fills history once; a restart stores only the time since the newest sample', async () => {
      const { created, nodes } = await seedDemo(hub.app.hub);
      assert.ok(created);
      assert.ok(nodes.length >= 3);
      // The hub accepts samples near its own clock only, so "now" is the real minute, three hours
      // back (room for the later restart); nothing asserted depends on the hour.
      const now = Math.floor(Date.now() / 60_000) * 60_000 - 3 * HOUR;
      // One day back: 15-minute points until six hours ago, then one a minute.
      const first = new DemoRunner(hub.app, hub.app.telemetryIngest, nodes, now);
      const stored = await first.backfill(1, now);
      first.stop();
      assert.ok(stored > 0);
      assert.equal(await storedSamples(), stored, 'every generated sample stored once');

      // Same data, same "now": nothing is missing, nothing is sent again.
      const again = new DemoRunner(
        hub.app,
        hub.app.telemetryIngest,
        (await seedDemo(hub.app.hub)).nodes,
        now,
      );
      assert.equal(await again.backfill(1, now), 0);
      again.stop();
      assert.equal(await storedSamples(), stored);

      // Two hours later: only those two hours, a point a minute per node and metric.
      const later = now + 2 * HOUR;
      const next = new DemoRunner(hub.app, hub.app.telemetryIngest, nodes, later);
      const added = await next.backfill(1, later);
      next.stop();
      const perMinute = stored > 0 ? added / 120 : 0;
      assert.ok(added > 0 && Number.isInteger(perMinute), `${added} samples for 120 minutes`);
      assert.equal(await storedSamples(), stored + added);
    });

    it('ships tariffs, so the first start shows costs and savings in the site currency', async () => {
      const { nodes } = await seedDemo(hub.app.hub);
      const sites = new Set(nodes.map((n) => n.siteId)).size;
      assert.equal(await seedDemoTariffs(hub.app.hub, nodes), sites);
      assert.equal(await seedDemoTariffs(hub.app.hub, nodes), 0, 'a restart adds none');
      await drainRollups(hub.app.hub);
      await processDirtyDays(hub.app.hub, 10_000);
      const berlin = nodes.find((n) => n.site.timezone === 'Europe/Berlin')!;
      const tokyo = nodes.find((n) => n.site.timezone === 'Asia/Tokyo')!;
      assert.equal(demoTariff('Asia/Tokyo').currency, 'JPY');
      for (const n of [berlin, tokyo]) {
        const tariffs = await hub.admin('GET', `/api/v1/sites/${n.siteId}/tariffs`);
        assert.equal(tariffs.json()[0].definition.currency, demoTariff(n.site.timezone).currency);
        // The days the previous test stored: priced, with savings (solar covers part of the load).
        const to = localDate(Date.now(), n.site.timezone);
        const from = localDate(Date.now() - 2 * 86_400_000, n.site.timezone);
        const days = await hub.admin('GET', `/api/v1/sites/${n.siteId}/daily?from=${from}&to=${to}`);
        assert.equal(days.statusCode, 200, days.body);
        const priced = days.json().filter((d: { loadKwh: number }) => d.loadKwh > 0);
        assert.ok(priced.length > 0, days.body);
        for (const d of priced) {
          assert.equal(d.currency, demoTariff(n.site.timezone).currency);
          assert.equal(typeof d.cost, 'number');
          assert.equal(typeof d.savings, 'number');
        }
      }
    });
  });
}
