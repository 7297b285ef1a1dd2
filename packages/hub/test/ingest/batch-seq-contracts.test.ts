// Issue 17 item 6, hub side, both engines, through the signed ingest route:
// - batch sequence numbers: seq 1, 2, 4 → batch 3 is lost (shown in completeness with its
//   range); a duplicate changes nothing; 3 arriving late closes the hole; a hole is split by a
//   late batch in its middle; a batch without seq (an older agent) is still stored.
// - data contracts: an inverter at −50 kW and a battery at 140 % are data-quality findings
//   (stored aggregated, visible through GET /nodes/{id}/data-quality, alertable) while every
//   sample of the batch is stored; a resent batch does not count twice; other tenants get 404.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { evaluateSite } from '../../src/alerts/alert-engine.ts';
import { localDate } from '../../src/time/zoned.ts';
import { ENGINES } from '../helpers/engines.ts';
import { batchId, createSite, type Fixture, startTestHub, type TestHub, TestNode } from '../helpers/hub.ts';
import { as, createUser, login } from '../identity/helpers.ts';

const T0 = Date.now() - 6 * 3_600_000;

for (const engine of ENGINES) {
  describe(`batch sequence numbers and data contracts on ${engine}`, () => {
    let hub: TestHub;
    let site: Fixture;
    let other: Fixture;
    before(async () => {
      hub = await startTestHub(engine);
      site = await createSite(hub);
      other = await createSite(hub);
    });
    after(async () => hub?.close());

    const q = (text: string, params: unknown[]) =>
      hub.tdb.database.pool.query(text, params).then((r) => r.rows);
    const sampleCount = (nodeId: string) =>
      q('SELECT count(*)::int AS n FROM samples s JOIN series r ON r.id = s.series_id WHERE r.node_id = $1', [
        nodeId,
      ]).then((r) => r[0].n as number);

    it('seq 1, 2, 4: batch 3 is lost in completeness; a duplicate changes nothing; 3 late closes it', async () => {
      const node = await TestNode.enroll(hub, site.siteId);
      const batches = new Map<number, unknown>();
      const send = async (seq: number | undefined, i: number) => {
        const body = {
          batchId: batchId('s'),
          ...(seq !== undefined ? { seq } : {}),
          samples: [{ metric: 'load_w', ts: T0 + i * 60_000, value: 100 + i }],
        };
        if (seq !== undefined) batches.set(seq, body);
        return send2(body);
      };
      const send2 = async (body: unknown) => {
        const res = await node.send('/api/v1/ingest/telemetry', body);
        assert.equal(res.statusCode, 200, res.body);
        return res.json().status as string;
      };
      const day = localDate(T0 + 4 * 60_000, site.timezone);
      const completeness = async () => {
        const res = await hub.admin('GET', `/api/v1/nodes/${node.nodeId}/completeness?from=${day}&to=${day}`);
        assert.equal(res.statusCode, 200, res.body);
        const [d] = res.json();
        return {
          count: d.lostBatchCount,
          ranges: d.lostBatches.map((g: { fromSeq: number; toSeq: number }) => [g.fromSeq, g.toSeq]),
        };
      };

      assert.equal(await send(1, 1), 'stored');
      assert.equal(await send(2, 2), 'stored');
      assert.equal(await send(4, 4), 'stored');
      assert.deepEqual(await completeness(), { count: 1, ranges: [[3, 3]] });
      const [gap] = (
        await hub.admin('GET', `/api/v1/nodes/${node.nodeId}/completeness?from=${day}&to=${day}`)
      ).json()[0].lostBatches;
      assert.equal(gap.nextSampleAt, new Date(T0 + 4 * 60_000).toISOString(), 'the hole sits before batch 4');

      // Resending batch 4 (same id, same seq) is a duplicate and leaves the watermark and holes alone.
      assert.equal(await send2(batches.get(4)), 'duplicate');
      assert.deepEqual(await completeness(), { count: 1, ranges: [[3, 3]] });
      const [w] = await q('SELECT max_seq FROM node_batch_seq WHERE node_id = $1', [node.nodeId]);
      assert.equal(Number(w.max_seq), 4);

      // An older agent's batch without seq is stored and does not touch the sequence.
      assert.equal(await send(undefined, 5), 'stored');

      // The outbox resends batch 3 after a reconnect: the hole is closed.
      assert.equal(await send(3, 3), 'stored');
      assert.deepEqual(await completeness(), { count: 0, ranges: [] });

      // 5, then 9: 6–8 lost; 7 arriving late splits the hole into 6 and 8.
      assert.equal(await send(5, 6), 'stored');
      assert.equal(await send(9, 10), 'stored');
      assert.deepEqual(await completeness(), { count: 3, ranges: [[6, 8]] });
      assert.equal(await send(7, 8), 'stored');
      assert.deepEqual(await completeness(), {
        count: 2,
        ranges: [
          [6, 6],
          [8, 8],
        ],
      });
      assert.equal(await sampleCount(node.nodeId), 8, 'every stored batch kept its sample');

      await evaluateSite(hub.app.hub, site.siteId, { rules: ['batches_lost'] });
      const [alert] = await q(
        "SELECT state, message FROM alerts WHERE rule = 'batches_lost' AND node_id = $1 ORDER BY opened_at DESC LIMIT 1",
        [node.nodeId],
      );
      assert.equal(alert?.state, 'open', 'alertable');
      // (The hub's own alert job may have opened it earlier, with the count of that moment.)
      assert.match(alert.message, /telemetry batch\(es\) lost/);
      assert.equal(await send(6, 7), 'stored');
      assert.equal(await send(8, 9), 'stored');
      assert.deepEqual(await completeness(), { count: 0, ranges: [] });
      await evaluateSite(hub.app.hub, site.siteId, { rules: ['batches_lost'] });
      const [resolved] = await q(
        "SELECT state FROM alerts WHERE rule = 'batches_lost' AND node_id = $1 ORDER BY opened_at DESC LIMIT 1",
        [node.nodeId],
      );
      assert.equal(resolved?.state, 'resolved');
    });

    it('contract violations are findings, visible and alertable; every sample is stored; other tenants 404', async () => {
      const node = await TestNode.enroll(hub, site.siteId);
      // Unit-test set-up by hand: the registry that fills `equipment` from the agent is another
      // item's work; ingest only reads the rows (node_id + key → kind).
      for (const [key, kind] of [
        ['inv', 'inverter'],
        ['bat', 'battery'],
      ]) {
        await q('INSERT INTO equipment (node_id, key, kind) VALUES ($1, $2, $3)', [node.nodeId, key, kind]);
      }
      const cycle = (i: number, solar: number, soc: number) => [
        { metric: 'solar_w', equipment: 'inv', ts: T0 + i * 10_000, value: solar },
        { metric: 'battery_soc', equipment: 'bat', ts: T0 + i * 10_000, value: soc },
        { metric: 'battery_w', equipment: 'bat', ts: T0 + i * 10_000, value: 500 },
        // Equipment without a contract (none registered) is not judged.
        { metric: 'solar_w', ts: T0 + i * 10_000, value: -70_000 },
      ];
      const first = {
        batchId: batchId('q'),
        seq: 1,
        samples: [...cycle(0, 1200, 55), ...cycle(1, -50_000, 140), ...cycle(2, 1300, 56)],
      };
      const res = await node.send('/api/v1/ingest/telemetry', first);
      assert.equal(res.statusCode, 200, res.body);
      assert.deepEqual(res.json(), { status: 'stored', batchId: first.batchId, stored: 12 });
      assert.equal(await sampleCount(node.nodeId), 12, 'the offending samples are stored too');
      // Resent: a duplicate, its findings are not counted again.
      assert.equal((await node.send('/api/v1/ingest/telemetry', first)).json().status, 'duplicate');
      // Another batch: a second −50 kW reading adds to the same finding; the inverter misses
      // solar_w for three cycles (required by inverter_v1).
      const second = {
        batchId: batchId('q'),
        seq: 2,
        samples: [
          { metric: 'solar_w', equipment: 'inv', ts: T0 + 100_000, value: -51_000 },
          ...[4, 5, 6].map((i) => ({
            metric: 'battery_soc',
            equipment: 'bat',
            ts: T0 + i * 10_000,
            value: 60,
          })),
        ],
      };
      assert.equal((await node.send('/api/v1/ingest/telemetry', second)).statusCode, 200);
      const third = {
        batchId: batchId('q'),
        seq: 3,
        samples: [7, 8, 9].map((i) => ({
          metric: 'inverter_state',
          equipment: 'inv',
          ts: T0 + i * 10_000,
          value: 4,
        })),
      };
      assert.equal((await node.send('/api/v1/ingest/telemetry', third)).statusCode, 200);

      const report = await hub.admin('GET', `/api/v1/nodes/${node.nodeId}/data-quality`);
      assert.equal(report.statusCode, 200, report.body);
      const findings = new Map(
        report
          .json()
          .findings.map((f: { equipment: string; metric: string; rule: string }) => [
            `${f.equipment}/${f.metric}/${f.rule}`,
            f,
          ]),
      );
      assert.deepEqual([...findings.keys()].sort(), [
        'bat/battery_soc/out_of_range',
        'inv/solar_w/out_of_range',
        'inv/solar_w/required_missing',
      ]);
      const power = findings.get('inv/solar_w/out_of_range') as Record<string, unknown>;
      assert.equal(power.count, 2, 'one row, counted per offending sample, the duplicate not twice');
      assert.equal(power.exampleValue, -51_000, 'the latest offending value');
      assert.equal(power.contract, 'inverter_v1');
      assert.equal(power.unit, 'W');
      assert.equal(power.min, -500);
      assert.equal(power.firstSeenAt, new Date(T0 + 10_000).toISOString());
      assert.equal(power.lastSeenAt, new Date(T0 + 100_000).toISOString());
      const soc = findings.get('bat/battery_soc/out_of_range') as Record<string, unknown>;
      assert.equal(soc.count, 1);
      assert.equal(soc.exampleValue, 140);
      assert.equal(soc.unit, '%');
      assert.equal(soc.max, 100);
      const [rows] = await q('SELECT count(*)::int AS n FROM data_quality_findings WHERE node_id = $1', [
        node.nodeId,
      ]);
      assert.equal(rows.n, 3, 'aggregated: one row per equipment/metric/rule, not per sample');

      await evaluateSite(hub.app.hub, site.siteId, { rules: ['data_quality'] });
      const [alert] = await q(
        "SELECT state, message FROM alerts WHERE rule = 'data_quality' AND node_id = $1 ORDER BY opened_at DESC LIMIT 1",
        [node.nodeId],
      );
      assert.equal(alert?.state, 'open', 'alertable');
      assert.match(alert.message, /data-quality finding/);

      // Access: the site's owner sees it; another household's owner, and its node, get 404.
      await createUser(hub, site.orgId, 'owner', `own-${engine}@example.test`);
      await createUser(hub, other.orgId, 'owner', `other-${engine}@example.test`);
      const own = (await login(hub, `own-${engine}@example.test`)).accessToken;
      const foreign = (await login(hub, `other-${engine}@example.test`)).accessToken;
      const mine = await as(hub, own, 'GET', `/api/v1/nodes/${node.nodeId}/data-quality`);
      assert.equal(mine.statusCode, 200, mine.body);
      assert.equal(mine.json().findings.length, 3);
      assert.equal(
        (await as(hub, foreign, 'GET', `/api/v1/nodes/${node.nodeId}/data-quality`)).statusCode,
        404,
      );
      const day = localDate(T0, site.timezone);
      assert.equal(
        (await as(hub, foreign, 'GET', `/api/v1/nodes/${node.nodeId}/completeness?from=${day}&to=${day}`))
          .statusCode,
        404,
      );
      assert.equal(
        (await hub.admin('GET', `/api/v1/nodes/${crypto.randomUUID()}/data-quality`)).statusCode,
        404,
      );
    });
  });
}
