import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ENGINES } from '../helpers/engines.ts';
import { batchId, createSite, startTestHub, type TestHub, TestNode } from '../helpers/hub.ts';

for (const engine of ENGINES) {
  describe(`daily summaries, events and rate limits on ${engine}`, () => {
    let hub: TestHub;
    let node: TestNode;
    let other: TestNode;
    before(async () => {
      hub = await startTestHub(engine, {
        ingest: { maxBodyBytes: 4 * 1024 * 1024, nodeRatePerMinute: 5, writers: 2, groupSamples: 20_000 },
      });
      const site = await createSite(hub);
      node = await TestNode.enroll(hub, site.siteId);
      other = await TestNode.enroll(hub, site.siteId);
    });
    after(async () => hub?.close());

    it('stores a device daily summary once and replaces it by a later report of the same day', async () => {
      const first = {
        batchId: batchId(),
        days: [{ date: '2026-11-20', values: { solar_kwh: 10.5, load_kwh: 8 } }],
      };
      assert.equal((await node.send('/api/v1/ingest/daily', first)).json().status, 'stored');
      assert.equal((await node.send('/api/v1/ingest/daily', first)).json().status, 'duplicate');
      const later = {
        batchId: batchId(),
        days: [{ date: '2026-11-20', values: { solar_kwh: 11.25, load_kwh: 8.5 } }],
      };
      assert.equal((await node.send('/api/v1/ingest/daily', later)).json().status, 'stored');
      const { rows } = await hub.tdb.database.pool.query(
        `SELECT "values" FROM daily_reports WHERE node_id = $1`,
        [node.nodeId],
      );
      assert.equal(rows.length, 1);
      assert.deepEqual(rows[0].values, { solar_kwh: 11.25, load_kwh: 8.5 });
    });

    it('refuses a daily batch with a bad date and negative energy, listing both', async () => {
      const res = await node.send('/api/v1/ingest/daily', {
        batchId: batchId(),
        days: [{ date: '2026-13-45', values: { solar_kwh: -1 } }],
      });
      assert.equal(res.statusCode, 400);
      const paths = res.json().problems.map((p: { path: string }) => p.path);
      assert.ok(
        paths.includes('/body/days/0/date') && paths.includes('/body/days/0/values/solar_kwh'),
        JSON.stringify(paths),
      );
    });

    it('stores events once', async () => {
      const batch = {
        batchId: batchId(),
        events: [
          {
            ts: Date.now() - 1000,
            kind: 'equipment.unreachable',
            severity: 'error',
            equipment: 'inv1',
            message: 'no answer',
          },
          {
            ts: new Date().toISOString(),
            kind: 'agent.start',
            severity: 'info',
            message: 'started',
            data: { version: '1.0.0' },
          },
        ],
      };
      assert.equal((await node.send('/api/v1/ingest/events', batch)).json().stored, 2);
      assert.equal((await node.send('/api/v1/ingest/events', batch)).json().status, 'duplicate');
      const { rows } = await hub.tdb.database.pool.query(
        'SELECT count(*)::int AS n FROM node_events WHERE node_id = $1',
        [node.nodeId],
      );
      assert.equal(rows[0].n, 2);
    });

    it('limits requests per node with 429 and Retry-After, without affecting other nodes', async () => {
      let limited: Awaited<ReturnType<TestNode['send']>> | undefined;
      for (let i = 0; i < 10 && !limited; i++) {
        const res = await node.send('/api/v1/ingest/telemetry', {
          batchId: batchId(),
          samples: [{ metric: 'load_w', ts: Date.now() - 1000 * (i + 1), value: 1 }],
        });
        if (res.statusCode === 429) limited = res;
      }
      assert.ok(limited, 'the node was rate limited');
      assert.equal(limited.json().code, 'WF_RATE_LIMITED');
      assert.ok(Number(limited.headers['retry-after']) > 0);
      const fine = await other.send('/api/v1/ingest/telemetry', {
        batchId: batchId(),
        samples: [{ metric: 'load_w', ts: Date.now() - 500, value: 1 }],
      });
      assert.equal(fine.statusCode, 200);
    });
  });
}
