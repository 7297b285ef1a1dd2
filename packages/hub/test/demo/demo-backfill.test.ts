// The demo fleet `npm start` brings up: seeded sites, history backfilled through the real ingest
// path, and a restart that backfills only what is missing (it used to re-send the whole month as
// duplicates, which froze the embedded database for the first minute of every start). Both engines.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { DemoRunner } from '../../src/demo/demo.runner.ts';
import { seedDemo } from '../../src/demo/demo.seed.ts';
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
  });
}
