import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { applyRetention } from '../../src/jobs/maintenance.ts';
import { listPartitions } from '../../src/storage/partitions.ts';
import { ENGINES } from '../helpers/engines.ts';
import { batchId, createSite, startTestHub, type TestHub, TestNode } from '../helpers/hub.ts';

const DAY = 86_400_000;

for (const engine of ENGINES) {
  describe(`partitions and retention on ${engine}`, () => {
    let hub: TestHub;
    let node: TestNode;
    before(async () => {
      hub = await startTestHub(engine, { retention: { rawDays: 30, hourlyDays: 730 } });
      node = await TestNode.enroll(hub, (await createSite(hub)).siteId);
    });
    after(async () => hub?.close());

    it('creates partitions ahead at migration and on demand for backfills', async () => {
      const today = Math.floor(Date.now() / DAY) * DAY;
      const names = (await listPartitions(hub.app.hub.db)).map((p) => p.day);
      assert.ok(names.includes(today) && names.includes(today + 3 * DAY), 'today and 3 days ahead exist');
      const old = today - 20 * DAY + 3_600_000;
      const res = await node.send('/api/v1/ingest/telemetry', {
        batchId: batchId(),
        samples: [{ metric: 'solar_w', ts: old, value: 5 }],
      });
      assert.equal(res.statusCode, 200, res.body);
      assert.ok((await listPartitions(hub.app.hub.db)).some((p) => p.day === today - 20 * DAY));
    });

    it('refuses samples older than raw retention', async () => {
      const res = await node.send('/api/v1/ingest/telemetry', {
        batchId: batchId(),
        samples: [{ metric: 'solar_w', ts: Date.now() - 31 * DAY, value: 5 }],
      });
      assert.equal(res.statusCode, 400);
      assert.match(res.json().problems[0].message, /older than raw retention/);
    });

    it('drops whole partitions past retention and keeps the rest', async () => {
      const now = new Date();
      // Pretend 15 days have passed: the partition 20 days back is now 35 days old.
      const later = new Date(now.getTime() + 15 * DAY);
      const before = await hub.tdb.database.pool.query('SELECT count(*)::int AS n FROM samples');
      const result = await applyRetention(hub.app.hub, later);
      assert.ok(result.droppedPartitions.length >= 1);
      const after = await hub.tdb.database.pool.query('SELECT count(*)::int AS n FROM samples');
      assert.equal(after.rows[0].n, before.rows[0].n - 1);
      const days = (await listPartitions(hub.app.hub.db)).map((p) => p.day);
      assert.ok(days.every((d) => d + DAY > later.getTime() - 30 * DAY));
    });
  });
}
