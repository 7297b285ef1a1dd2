// Series are created on first sight, outside the ingest transaction. Concurrent batches of one node
// that bring the same new series in different orders used to deadlock on the series' unique index
// (PostgreSQL then failed one of them: a 500 to the node; found by the vendor-poll bench). Both
// engines; the deadlock itself can only happen on PostgreSQL, which has concurrent connections.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ENGINES } from '../helpers/engines.ts';
import { batchId, createSite, startTestHub, type TestHub, TestNode } from '../helpers/hub.ts';

/** A fixed shuffle (no randomness in tests): rotation and reversal by batch number. */
function order<T>(items: T[], k: number): T[] {
  const r = [...items.slice((k * 37) % items.length), ...items.slice(0, (k * 37) % items.length)];
  return k % 2 === 0 ? r : r.reverse();
}

for (const engine of ENGINES) {
  describe(`series creation under concurrent batches on ${engine}`, () => {
    let hub: TestHub;
    let node: TestNode;
    before(async () => {
      hub = await startTestHub(engine);
      const site = await createSite(hub);
      node = await TestNode.enroll(hub, site.siteId);
    });
    after(async () => hub?.close());

    it('stores every batch when 8 batches bring the same 300 new series in different orders', async () => {
      const metrics = Array.from({ length: 300 }, (_, i) => `x_m${String(i).padStart(3, '0')}`);
      const t0 = Date.now() - 3_600_000;
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, k) =>
          node.send('/api/v1/ingest/telemetry', {
            batchId: batchId(),
            samples: order(metrics, k).map((metric) => ({
              metric,
              equipment: 'bus1',
              ts: t0 + k * 1000,
              value: k,
            })),
          }),
        ),
      );
      for (const res of results) assert.equal(res.statusCode, 200, res.body);
      const { rows } = await hub.tdb.database.pool.query(
        `SELECT count(DISTINCT s.id)::int AS series, count(*)::int AS samples
           FROM series s JOIN samples x ON x.series_id = s.id WHERE s.node_id = $1`,
        [node.nodeId],
      );
      assert.deepEqual(rows[0], { series: 300, samples: 300 * 8 });
    });
  });
}
