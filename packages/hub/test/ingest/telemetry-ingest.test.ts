import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ENGINES } from '../helpers/engines.ts';
import { batchId, createSite, startTestHub, type TestHub, TestNode } from '../helpers/hub.ts';

async function countSamples(hub: TestHub): Promise<number> {
  const { rows } = await hub.tdb.database.pool.query('SELECT count(*)::int AS n FROM samples');
  return rows[0].n;
}

for (const engine of ENGINES) {
  describe(`telemetry ingest on ${engine}`, () => {
    let hub: TestHub;
    let node: TestNode;
    const t0 = Date.now() - 3_600_000;
    const samples = (n: number, start = t0) =>
      Array.from({ length: n }, (_, i) => ({ metric: 'solar_w', ts: start + i * 10_000, value: 100 + i }));

    before(async () => {
      hub = await startTestHub(engine);
      const site = await createSite(hub);
      node = await TestNode.enroll(hub, site.siteId);
    });
    after(async () => hub?.close());

    it('stores a batch once and answers duplicate the second time', async () => {
      const batch = { batchId: batchId(), samples: samples(50) };
      const first = await node.send('/api/v1/ingest/telemetry', batch);
      assert.equal(first.statusCode, 200, first.body);
      assert.deepEqual(first.json(), { status: 'stored', batchId: batch.batchId, stored: 50 });
      const second = await node.send('/api/v1/ingest/telemetry', batch);
      assert.equal(second.statusCode, 200);
      assert.equal(second.json().status, 'duplicate');
      assert.equal(await countSamples(hub), 50);
    });

    it('stores a batch sent concurrently from several requests exactly once', async () => {
      const before = await countSamples(hub);
      const batch = { batchId: batchId(), samples: samples(300, t0 + 1_000_000) };
      const answers = await Promise.all(
        Array.from({ length: 6 }, () => node.send('/api/v1/ingest/telemetry', batch)),
      );
      const statuses = answers.map((a) => a.json().status).sort();
      assert.deepEqual(statuses, ['duplicate', 'duplicate', 'duplicate', 'duplicate', 'duplicate', 'stored']);
      assert.equal((await countSamples(hub)) - before, 300);
    });

    it('a burst of batches shares transactions yet each is stored exactly once, answered on its own', async () => {
      // Distinct batches, repeats of them and a batch overlapping another's samples, all at once,
      // from two nodes: the hub commits them in groups (telemetry-writer.ts); an overlap aborts a
      // group's COPY and the group is redone with ON CONFLICT.
      const other = await TestNode.enroll(hub, (await createSite(hub)).siteId);
      const before = await countSamples(hub);
      const start = Date.now() - 5 * 86_400_000;
      const batches = Array.from({ length: 12 }, (_, i) => ({
        batchId: batchId(),
        samples: samples(100, start + i * 1_000_000),
      }));
      const overlapping = { batchId: batchId(), samples: samples(100, start + 500_000) }; // half of batch 0
      const sends = [
        ...batches.map((b, i) => (i % 2 ? other : node).send('/api/v1/ingest/telemetry', b)),
        ...batches.slice(0, 4).map((b, i) => (i % 2 ? other : node).send('/api/v1/ingest/telemetry', b)),
        node.send('/api/v1/ingest/telemetry', overlapping),
      ];
      const answers = (await Promise.all(sends)).map((a) => {
        assert.equal(a.statusCode, 200, a.body);
        return a.json() as { status: string; batchId: string; stored: number };
      });
      for (const b of batches) {
        const mine = answers.filter((a) => a.batchId === b.batchId).map((a) => a.status);
        assert.equal(mine.filter((s) => s === 'stored').length, 1, `batch ${b.batchId} stored once`);
      }
      const stored = answers.filter((a) => a.status === 'stored').reduce((sum, a) => sum + a.stored, 0);
      // Node 0's batch 0 and the overlapping batch share 50 samples; everything else is distinct.
      assert.equal((await countSamples(hub)) - before, 12 * 100 + 50);
      assert.equal(stored, 12 * 100 + 50);
      const claims = await hub.tdb.database.pool.query(
        'SELECT count(*)::int AS n FROM ingest_batches WHERE batch_id = ANY($1)',
        [[...batches.map((b) => b.batchId), overlapping.batchId]],
      );
      assert.equal(claims.rows[0].n, 13);
      // Every batch's rollup buckets and site days were marked in its transaction.
      const dirty = await hub.tdb.database.pool.query(
        `SELECT count(DISTINCT date_trunc('hour', bucket))::int AS n FROM rollup_dirty
         WHERE resolution = 'hour' AND bucket >= to_timestamp($1 / 1000.0)`,
        [Math.floor(start / 3_600_000) * 3_600_000],
      );
      assert.ok(dirty.rows[0].n >= 3, `hourly buckets marked: ${dirty.rows[0].n}`);
      const days = await hub.tdb.database.pool.query('SELECT count(*)::int AS n FROM site_daily_dirty');
      assert.ok(days.rows[0].n >= 2, 'site days marked for both sites');
    });

    it('a different batch overlapping stored samples keeps the stored ones and adds the rest', async () => {
      const before = await countSamples(hub);
      const start = t0 + 600_000;
      const first = await node.send('/api/v1/ingest/telemetry', {
        batchId: batchId(),
        samples: samples(10, start),
      });
      assert.equal(first.json().stored, 10);
      // Re-formed batch (new id) with 5 old and 5 new samples, the old ones with other values.
      const overlap = samples(10, start + 50_000).map((s) => ({ ...s, value: -1 }));
      const second = await node.send('/api/v1/ingest/telemetry', { batchId: batchId(), samples: overlap });
      assert.equal(second.statusCode, 200, second.body);
      assert.deepEqual(
        { status: second.json().status, stored: second.json().stored },
        { status: 'stored', stored: 5 },
      );
      assert.equal((await countSamples(hub)) - before, 15);
      const { rows } = await hub.tdb.database.pool.query(
        'SELECT count(*)::int AS n FROM samples WHERE value = -1',
      );
      assert.equal(rows[0].n, 5);
    });

    it('accepts gzip and normalises offsets to UTC', async () => {
      const ts = '2026-01-01T00:00:00+05:30';
      const when = Date.now() - 60_000;
      const local = new Date(when + 5.5 * 3_600_000).toISOString().replace('Z', '+05:30');
      const res = await node.send(
        '/api/v1/ingest/telemetry',
        { batchId: batchId(), samples: [{ metric: 'load_w', ts: local, value: 512, equipment: 'meter1' }] },
        { gzip: true },
      );
      assert.equal(res.statusCode, 200, res.body);
      const { rows } = await hub.tdb.database.pool.query(
        `SELECT s.ts FROM samples s JOIN series r ON r.id = s.series_id WHERE r.metric = 'load_w' AND r.equipment = 'meter1'`,
      );
      assert.equal(rows.length, 1);
      assert.equal(new Date(rows[0].ts).getTime(), when);
      assert.ok(ts); // documents the format used above
    });

    it('refuses unknown metrics, bad values and timestamps, listing every problem and storing nothing', async () => {
      const before = await countSamples(hub);
      const res = await node.send('/api/v1/ingest/telemetry', {
        batchId: batchId(),
        samples: [
          { metric: 'solar_w', ts: t0, value: 1 },
          { metric: 'pool_pump_w', ts: t0, value: 1 },
          { metric: 'x_pool_pump_w', ts: t0, value: 1 },
          { metric: 'load_w', ts: Date.now() + 3_600_000, value: 1 },
          { metric: 'load_w', ts: '2026-01-01T00:00:00', value: 1 },
          { metric: 'load_w', ts: t0, value: 1e300 },
        ],
      });
      assert.equal(res.statusCode, 400, res.body);
      const body = res.json();
      assert.equal(body.code, 'WF_VALIDATION');
      const paths = body.problems.map((p: { path: string }) => p.path);
      assert.deepEqual(paths.sort(), [
        '/body/samples/1/metric',
        '/body/samples/3/ts',
        '/body/samples/4/ts',
        '/body/samples/5/value',
      ]);
      assert.match(JSON.stringify(body.problems), /pool_pump_w/);
      assert.equal(await countSamples(hub), before);
    });

    it('refuses schema violations with every problem listed', async () => {
      const res = await node.send('/api/v1/ingest/telemetry', {
        batchId: 'x',
        samples: [{ metric: 'solar_w', ts: 'soon', value: 'high' }, { metric: 'solar_w' }],
      });
      assert.equal(res.statusCode, 400);
      const body = res.json();
      assert.equal(body.code, 'WF_VALIDATION');
      assert.ok(body.problems.length >= 4, JSON.stringify(body.problems));
      assert.ok(body.problems.every((p: { path: string }) => p.path.startsWith('/body')));
    });

    it('refuses bad JSON, bad gzip, bad signature, expired timestamp, replay, unsigned', async () => {
      const before = await countSamples(hub);
      const url = '/api/v1/ingest/telemetry';
      const good = { batchId: batchId(), samples: samples(2, t0 + 500_000) };
      const badJson = await node.send(url, null, { raw: Buffer.from('{"batchId": "abc') });
      assert.equal(badJson.statusCode, 400);
      assert.equal(badJson.json().code, 'WF_BAD_JSON');
      const badGzip = await node.send(url, null, {
        raw: Buffer.from('not gzip'),
        headers: { 'content-encoding': 'gzip' },
      });
      assert.equal(badGzip.json().code, 'WF_BAD_GZIP');
      const expired = await node.send(url, good, { now: Date.now() - 6 * 60_000 });
      assert.equal(expired.statusCode, 401);
      assert.equal(expired.json().code, 'WF_SIGNATURE_EXPIRED');
      const tampered = await node.send(url, good, {
        headers: { 'x-wf-signature': Buffer.alloc(64).toString('base64') },
      });
      assert.equal(tampered.json().code, 'WF_SIGNATURE_INVALID');
      const unsigned = await hub.app.inject({ method: 'POST', url, payload: good });
      assert.equal(unsigned.statusCode, 401);
      assert.equal(unsigned.json().code, 'WF_SIGNATURE_MISSING');
      // Replay: the exact same signed request twice.
      const bytes = Buffer.from(JSON.stringify(good));
      const { signRequest } = await import('@wattfleet/protocol');
      const headers = {
        'content-type': 'application/json',
        ...signRequest(node.key, node.nodeId, 'POST', url, bytes),
      };
      const once = await hub.app.inject({ method: 'POST', url, headers, payload: bytes });
      assert.equal(once.statusCode, 200, once.body);
      const twice = await hub.app.inject({ method: 'POST', url, headers, payload: bytes });
      assert.equal(twice.statusCode, 401);
      assert.equal(twice.json().code, 'WF_SIGNATURE_REPLAYED');
      assert.equal((await countSamples(hub)) - before, 2);
    });

    it('refuses an oversize body with 413', async () => {
      const big = Buffer.alloc(5 * 1024 * 1024, 0x20);
      const res = await node.send('/api/v1/ingest/telemetry', null, { raw: big });
      assert.equal(res.statusCode, 413);
      assert.equal(res.json().code, 'WF_BODY_TOO_LARGE');
    });

    it('refuses a deactivated node and accepts it again when reactivated', async () => {
      const off = await hub.admin('POST', `/api/v1/nodes/${node.nodeId}/deactivate`);
      assert.equal(off.statusCode, 200);
      const refused = await node.send('/api/v1/ingest/telemetry', {
        batchId: batchId(),
        samples: samples(1, t0 + 2_500_000),
      });
      assert.equal(refused.statusCode, 403);
      assert.equal(refused.json().code, 'WF_NODE_INACTIVE');
      await hub.admin('POST', `/api/v1/nodes/${node.nodeId}/activate`);
      const ok = await node.send('/api/v1/ingest/telemetry', {
        batchId: batchId(),
        samples: samples(1, t0 + 2_500_000),
      });
      assert.equal(ok.statusCode, 200);
    });
  });
}
