// The export never holds ingest up and never sees what did not commit, both engines: a batch
// whose transaction fails (a trigger refusing one value, a real rollback) and a resent batch hand
// nothing over; a batch with more series than the queue holds has its oldest updates dropped,
// counted and logged. No broker runs here, so what reaches the end is counted as no_broker.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ENGINES } from '../helpers/engines.ts';
import { batchId, createSite, type Fixture, startTestHub, type TestHub, TestNode } from '../helpers/hub.ts';

for (const engine of ENGINES) {
  describe(`unified namespace queue on ${engine}`, () => {
    let hub: TestHub;
    let site: Fixture;
    let node: TestNode;
    const logs: string[] = [];
    const dropped = async (reason: string) =>
      (await hub.app.uns.publisher.dropped.get()).values.find((v) => v.labels.reason === reason)?.value ?? 0;
    const handed = { n: 0 };

    before(async () => {
      hub = await startTestHub(engine, { uns: { queueLimit: 3 } }, { logs });
      site = await createSite(hub);
      node = await TestNode.enroll(hub, site.siteId);
      const on = await hub.admin('PUT', `/api/v1/orgs/${site.orgId}/uns`, { enabled: true });
      assert.equal(on.statusCode, 200, on.body);
      hub.app.hub.bus.onEvent('telemetry.latest', (e) => {
        handed.n += e.latest.length;
      });
      // Refuses one value inside the ingest transaction: the whole batch rolls back.
      await hub.tdb.database.pool.query(`
        CREATE FUNCTION refuse_666() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN IF NEW.value = 666 THEN RAISE EXCEPTION 'refused by test'; END IF; RETURN NEW; END $$;
        CREATE TRIGGER refuse_666 BEFORE INSERT ON samples FOR EACH ROW EXECUTE FUNCTION refuse_666();`);
    });
    after(async () => hub?.close());

    it('hands over nothing of a batch that rolled back, or of a resent one', async () => {
      const ts = Date.now() - 5000;
      const failed = await node.send('/api/v1/ingest/telemetry', {
        batchId: batchId(),
        samples: [
          { metric: 'solar_w', ts, value: 100 },
          { metric: 'grid_w', ts, value: 666 },
        ],
      });
      assert.equal(failed.statusCode, 500, failed.body);
      assert.equal(handed.n, 0);
      assert.equal(hub.app.uns.publisher.queued, 0);
      const stored = await hub.tdb.database.pool.query('SELECT count(*)::int AS n FROM samples');
      assert.equal(stored.rows[0].n, 0);

      const body = { batchId: batchId(), samples: [{ metric: 'solar_w', ts, value: 100 }] };
      assert.equal((await node.send('/api/v1/ingest/telemetry', body)).statusCode, 200);
      assert.equal(handed.n, 1);
      await hub.app.uns.publisher.idle();
      const resent = await node.send('/api/v1/ingest/telemetry', body);
      assert.equal(resent.statusCode, 200, resent.body);
      assert.equal(resent.json().status, 'duplicate');
      assert.equal(handed.n, 1);
      assert.equal(hub.app.uns.publisher.queued, 0);
    });

    it('bounds the queue: beyond the limit the oldest updates are dropped, counted and logged', async () => {
      const ts = Date.now() - 3000;
      const noBroker = await dropped('no_broker');
      const metrics = ['solar_w', 'grid_w', 'load_w', 'battery_w', 'battery_soc'];
      const res = await node.send('/api/v1/ingest/telemetry', {
        batchId: batchId(),
        samples: metrics.map((metric, i) => ({ metric, ts, value: i })),
      });
      assert.equal(res.statusCode, 200, res.body);
      // Enqueued synchronously by ingest, worked off later: the answer came before any publish.
      assert.equal(hub.app.uns.publisher.queued, 3);
      await hub.app.uns.publisher.idle();
      assert.equal(await dropped('queue_full'), 2);
      assert.equal((await dropped('no_broker')) - noBroker, 3);
      assert.ok(
        logs.some((l) => l.includes('unified namespace queue full')),
        logs.join('\n'),
      );
      const scrape = await hub.app.hub.metrics.registry.metrics();
      assert.match(scrape, /wattfleet_uns_dropped_total\{reason="queue_full",hub="[^"]+"\} 2/);
      assert.match(scrape, /wattfleet_uns_queue_length\{hub="[^"]+"\} 0/);
    });
  });
}
