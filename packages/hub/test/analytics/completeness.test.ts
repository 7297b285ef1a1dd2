// Completeness against the interval a node reports (enrollment), cross-checked with the interval
// the hub learns from the data per series: a complete 60 s day reads 100 %, a missing hour reads
// 60 missing minutes, a node that never said is judged by what it sends, and a node whose data
// disagrees with what it said is flagged. Real signed ingest, on both engines.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { generateNodeKeyPair, privateKeyFromPem } from '@wattfleet/protocol';
import { localDayBounds, localParts } from '../../src/time/zoned.ts';
import { ENGINES } from '../helpers/engines.ts';
import { batchId, createSite, startTestHub, type TestHub, TestNode } from '../helpers/hub.ts';

const TZ = 'Europe/Berlin';
const DAY = '2026-06-15';
const NEXT = '2026-06-16';
const MIN = 60_000;

/** Enrolls like the agent does, saying its poll interval (or not). */
async function enroll(hub: TestHub, siteId: string, pollIntervalS?: number): Promise<TestNode> {
  const code = await hub.admin('POST', `/api/v1/sites/${siteId}/enrollment-codes`, {});
  assert.equal(code.statusCode, 201, code.body);
  const pair = generateNodeKeyPair();
  const res = await hub.app.inject({
    method: 'POST',
    url: '/api/v1/nodes/enroll',
    payload: {
      code: code.json().code,
      publicKey: pair.publicKey,
      name: 'agent',
      ...(pollIntervalS !== undefined ? { pollIntervalS } : {}),
    },
  });
  assert.equal(res.statusCode, 200, res.body);
  const b = res.json();
  return new TestNode(hub, b.nodeId, b.siteId, privateKeyFromPem(pair.privateKeyPem), b.mqtt.password);
}

/** Two metrics every 60 s over the local day, a few hundred ms of jitter, minus `skip`. */
async function sendDay(node: TestNode, day: string, skip: (ts: number) => boolean = () => false) {
  const [start, end] = localDayBounds(day, TZ);
  const samples = [];
  for (let t = start, i = 0; t < end; t += MIN, i++) {
    const ts = t + ((i * 137) % 400);
    if (skip(ts)) continue;
    samples.push({ metric: 'load_w', ts, value: 400 + (i % 7) }, { metric: 'grid_w', ts, value: 100 });
  }
  for (let i = 0; i < samples.length; i += 2000) {
    const res = await node.send('/api/v1/ingest/telemetry', {
      batchId: batchId('c'),
      samples: samples.slice(i, i + 2000),
    });
    assert.equal(res.statusCode, 200, res.body);
  }
}

for (const engine of ENGINES) {
  describe(`completeness at the node's own interval on ${engine}`, () => {
    let hub: TestHub;
    let siteId: string;
    const completeness = async (node: TestNode, from: string, to = from) => {
      const res = await hub.admin('GET', `/api/v1/nodes/${node.nodeId}/completeness?from=${from}&to=${to}`);
      assert.equal(res.statusCode, 200, res.body);
      return res.json();
    };

    before(async () => {
      hub = await startTestHub(engine, { retention: { rawDays: 3650, hourlyDays: 3650 } });
      siteId = (await createSite(hub, { timezone: TZ })).siteId;
    });
    after(() => hub?.close());

    it('a complete 60 s day is 100 %, a missing hour is 60 missing minutes', async () => {
      const node = await enroll(hub, siteId, 60);
      const detail = await hub.admin('GET', `/api/v1/nodes/${node.nodeId}`);
      assert.equal(detail.json().sample_interval_s, 60, 'enrollment stored the reported interval');
      await sendDay(node, DAY);
      const hour = (ts: number) => localParts(ts, TZ).hour;
      await sendDay(node, NEXT, (ts) => hour(ts) === 10);
      const [full, gap] = await completeness(node, DAY, NEXT);
      assert.equal(full.intervalS, 60);
      assert.equal(full.intervalSource, 'reported');
      assert.equal(full.learnedIntervalS, 60, 'learned from the data: the same');
      assert.equal(full.intervalMismatch, false);
      assert.equal(full.expected, 1440);
      assert.equal(full.received, 1440);
      assert.equal(full.pct, 100);
      assert.deepEqual(full.gaps, []);
      assert.equal(gap.expected - gap.received, 60, 'sixty minutes missing');
      assert.equal(gap.gaps.length, 1);
      assert.equal(gap.gaps[0].seconds, 3600);
      const [s] = localDayBounds(NEXT, TZ);
      assert.equal(gap.gaps[0].from, new Date(s + 10 * 3_600_000).toISOString());
    });

    it('a node that never reported its interval is judged by the interval its data shows', async () => {
      const node = await enroll(hub, siteId);
      await sendDay(node, DAY);
      const [d] = await completeness(node, DAY);
      assert.equal(d.reportedIntervalS, null);
      assert.equal(d.intervalSource, 'learned');
      assert.equal(d.intervalS, 60);
      assert.equal(d.pct, 100);
    });

    it('a node whose data disagrees with the interval it reported is flagged', async () => {
      const node = await enroll(hub, siteId, 10);
      await sendDay(node, DAY);
      const [d] = await completeness(node, DAY);
      assert.equal(d.intervalS, 10, 'what the node said is what it is held to');
      assert.equal(d.learnedIntervalS, 60);
      assert.equal(d.intervalMismatch, true);
      assert.ok(Math.abs(d.pct - 100 / 6) < 0.01, String(d.pct));
    });
  });
}
