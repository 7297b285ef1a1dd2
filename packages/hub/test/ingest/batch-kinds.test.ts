// Issue 19.12: batch ids are per stream. One id used for an events batch, a daily batch and a
// telemetry batch of the same node stores all three; each one resent is still a duplicate.
// Both engines, through the signed ingest routes.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ENGINES } from '../helpers/engines.ts';
import { batchId, createSite, startTestHub, type TestHub, TestNode } from '../helpers/hub.ts';

for (const engine of ENGINES) {
  describe(`batch ids per kind on ${engine}`, () => {
    let hub: TestHub;
    let node: TestNode;
    before(async () => {
      hub = await startTestHub(engine);
      const site = await createSite(hub);
      node = await TestNode.enroll(hub, site.siteId);
    });
    after(async () => hub?.close());

    it('stores an events, a daily and a telemetry batch that share one id; resends stay duplicates', async () => {
      const id = batchId();
      const t0 = Date.now() - 3_600_000;
      const events = {
        batchId: id,
        events: [{ ts: Date.now() - 1000, kind: 'agent.start', severity: 'info', message: 'started' }],
      };
      const daily = { batchId: id, days: [{ date: '2026-11-20', values: { solar_kwh: 3 } }] };
      const telemetry = {
        batchId: id,
        samples: Array.from({ length: 5 }, (_, i) => ({ metric: 'solar_w', ts: t0 + i * 1000, value: i })),
      };
      const sent = [
        ['/api/v1/ingest/events', events],
        ['/api/v1/ingest/daily', daily],
        ['/api/v1/ingest/telemetry', telemetry],
      ] as const;
      for (const [url, body] of sent) {
        const res = await node.send(url, body);
        assert.equal(res.statusCode, 200, `${url}: ${res.body}`);
        assert.equal(res.json().status, 'stored', `${url}: ${res.body}`);
      }
      for (const [url, body] of sent) {
        assert.equal((await node.send(url, body)).json().status, 'duplicate', url);
      }
      const q = (text: string) => hub.tdb.database.pool.query(text, [node.nodeId]).then((r) => r.rows[0].n);
      assert.equal(
        await q(
          'SELECT count(*)::int AS n FROM samples s JOIN series ON series.id = s.series_id WHERE series.node_id = $1',
        ),
        5,
      );
      assert.equal(await q('SELECT count(*)::int AS n FROM node_events WHERE node_id = $1'), 1);
      assert.equal(await q('SELECT count(*)::int AS n FROM daily_reports WHERE node_id = $1'), 1);
      const kinds = await hub.tdb.database.pool.query(
        'SELECT kind FROM ingest_batches WHERE node_id = $1 AND batch_id = $2 ORDER BY kind',
        [node.nodeId, id],
      );
      assert.deepEqual(
        kinds.rows.map((r) => r.kind),
        ['daily', 'events', 'telemetry'],
      );
    });
  });
}
