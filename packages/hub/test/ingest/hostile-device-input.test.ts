// Issue 19.2 and the node-originated part of 19.10: what a hostile (or broken) node sends can
// neither crash the hub, nor answer 5xx, nor store anything, nor stop other nodes' writes.
// - signed HTTP ingest (events, daily, node log upload): NUL and lone surrogates in text and in
//   free-form data, JSON nested far deeper than any stack, dates that do not exist or that
//   PostgreSQL cannot store, timestamps JavaScript cannot read: 400 WF_VALIDATION, nothing stored;
// - MQTT (embedded broker): the same payloads on every topic a node publishes are refused and
//   logged at warn (never "mqtt message failed"), and a heartbeat with `\u0000` in its reason no
//   longer stops the batched heartbeat flush: the other node's last_seen keeps moving;
// - the flush itself isolates a heartbeat the database refuses (fed to the service directly,
//   past validation, to prove the second line of defence).
// Both engines.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { topics } from '@wattfleet/protocol';
import { ENGINES } from '../helpers/engines.ts';
import { batchId, createSite, TestNode } from '../helpers/hub.ts';
import {
  connectNode,
  type MqttTestHub,
  nodeRow,
  sleep,
  startMqttHub,
  status,
  waitFor,
} from '../mqtt/mqtt-helpers.ts';

const DEEP = 100_000;
const deepArray = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`;

/** Raw JSON texts (escapes as a device would send them) that must all be refused. */
function hostileEvents(): { name: string; raw: string }[] {
  const ev = (fields: string) =>
    `{"batchId":"${batchId()}","events":[{"ts":${Date.now() - 1000},"kind":"agent.start","severity":"info",${fields}}]}`;
  return [
    { name: 'NUL in message', raw: ev('"message":"a\\u0000b"') },
    { name: 'lone surrogate in message', raw: ev('"message":"a\\ud800b"') },
    { name: 'NUL in data', raw: ev('"message":"m","data":{"x":"\\u0000"}') },
    { name: 'NUL in a data key', raw: ev('"message":"m","data":{"a\\u0000":1}') },
    { name: 'lone surrogate deep in data', raw: ev('"message":"m","data":{"x":[{"y":"\\udc00"}]}') },
    { name: 'data nested 100 000 deep', raw: ev(`"message":"m","data":{"x":${deepArray(DEEP)}}`) },
    {
      name: 'leap second',
      raw: `{"batchId":"${batchId()}","events":[{"ts":"2024-01-01T23:59:60Z","kind":"a","severity":"info","message":"m"}]}`,
    },
    {
      name: 'zone suffix',
      raw: `{"batchId":"${batchId()}","events":[{"ts":"2024-01-01T00:00:00Z[UTC]","kind":"a","severity":"info","message":"m"}]}`,
    },
    {
      name: 'year 0',
      raw: `{"batchId":"${batchId()}","events":[{"ts":"0000-01-01T00:00:00Z","kind":"a","severity":"info","message":"m"}]}`,
    },
  ];
}

function hostileDaily(): { name: string; raw: string }[] {
  return ['0000-01-01', '2024-02-30', '10000-01-01', '1999-12-31'].map((date) => ({
    name: `date ${date}`,
    raw: JSON.stringify({ batchId: batchId(), days: [{ date, values: { solar_kwh: 1 } }] }),
  }));
}

async function stored(hub: MqttTestHub, nodeId: string) {
  const q = async (table: string) =>
    (
      await hub.tdb.database.pool.query(`SELECT count(*)::int AS n FROM ${table} WHERE node_id = $1`, [
        nodeId,
      ])
    ).rows[0].n as number;
  return {
    events: await q('node_events'),
    daily: await q('daily_reports'),
    logs: await q('node_log_chunks'),
    batches: await q('ingest_batches'),
  };
}

for (const engine of ENGINES) {
  describe(`hostile device input on ${engine}`, () => {
    let hub: MqttTestHub;
    let hostile: TestNode;
    let good: TestNode;
    const logs: string[] = [];

    before(async () => {
      hub = await startMqttHub(engine, { offlineAfterS: 60 }, {}, { logs });
      const site = await createSite(hub);
      hostile = await TestNode.enroll(hub, site.siteId);
      good = await TestNode.enroll(hub, site.siteId);
    });
    after(async () => hub?.close());

    const nothing = { events: 0, daily: 0, logs: 0, batches: 0 };

    it('refuses hostile events and daily reports over HTTP with 400 WF_VALIDATION, storing nothing', async () => {
      const cases = [
        ...hostileEvents().map((c) => ({ ...c, url: '/api/v1/ingest/events' })),
        ...hostileDaily().map((c) => ({ ...c, url: '/api/v1/ingest/daily' })),
      ];
      for (const c of cases) {
        const res = await hostile.send(c.url, undefined, { raw: Buffer.from(c.raw) });
        assert.equal(res.statusCode, 400, `${c.name}: ${res.body}`);
        assert.equal(res.json().code, 'WF_VALIDATION', `${c.name}: ${res.body}`);
      }
      assert.deepEqual(await stored(hub, hostile.nodeId), nothing);
    });

    it('refuses hostile log uploads (NUL, lone surrogate, chunk past int4)', async () => {
      const url = `/api/v1/nodes/${hostile.nodeId}/logs`;
      for (const raw of [
        '{"chunk":0,"final":true,"lines":["ok","a\\u0000b"]}',
        '{"chunk":0,"final":true,"lines":["\\ud83d"]}',
        '{"chunk":2147483648,"final":true,"lines":["ok"]}',
      ]) {
        const res = await hostile.send(url, undefined, { raw: Buffer.from(raw) });
        assert.equal(res.statusCode, 400, `${raw}: ${res.body}`);
        assert.equal(res.json().code, 'WF_VALIDATION');
      }
      // An emoji (a well-formed surrogate pair) is fine.
      const ok = await hostile.send(url, { chunk: 0, final: true, lines: ['sun ☀️ 😀'] });
      assert.equal(ok.statusCode, 200, ok.body);
      assert.equal((await stored(hub, hostile.nodeId)).logs, 1);
      await hub.tdb.database.pool.query('DELETE FROM node_log_chunks WHERE node_id = $1', [hostile.nodeId]);
    });

    it('over MQTT refuses the same payloads at warn; a NUL heartbeat does not stop the fleet', async () => {
      const h = await connectNode(hub.url, hostile);
      const g = await connectNode(hub.url, good);
      try {
        await g.publishAsync(topics.status(good.nodeId), status(), { qos: 1 });
        const first = await waitFor(
          async () => (await nodeRow(hub, good.nodeId)).last_seen_at,
          10_000,
          'good seen',
        );
        const invalidBefore = hub.cp.stats.status.invalid;
        // The attack of 19.2: the hostile heartbeat lands in the same flush as the good one.
        await h.publishAsync(topics.status(hostile.nodeId), status({ reason: 'x\u0000y' }), { qos: 1 });
        await h.publishAsync(topics.status(hostile.nodeId), status({ osVersion: '\ud800' }), { qos: 1 });
        await sleep(20);
        await g.publishAsync(topics.status(good.nodeId), status(), { qos: 1 });
        await waitFor(
          async () => ((await nodeRow(hub, good.nodeId)).last_seen_at?.getTime() ?? 0) > first.getTime(),
          10_000,
          'good last_seen advanced',
        );
        await waitFor(() => hub.cp.stats.status.invalid >= invalidBefore + 2, 5000, 'status refused');
        assert.equal((await nodeRow(hub, hostile.nodeId)).last_seen_at, null);

        for (const c of hostileEvents())
          await h.publishAsync(topics.events(hostile.nodeId), c.raw, { qos: 1 });
        for (const c of hostileDaily()) await h.publishAsync(topics.daily(hostile.nodeId), c.raw, { qos: 1 });
        const response = `{"id":"${crypto.randomUUID()}","state":"succeeded","ts":1,"data":{"x":${deepArray(DEEP)}}}`;
        await h.publishAsync(topics.responses(hostile.nodeId), response, { qos: 1 });
        const expected = hostileEvents().length + hostileDaily().length;
        await waitFor(
          () =>
            hub.cp.stats.events.invalid + hub.cp.stats.daily.invalid >= expected &&
            hub.cp.stats.responses.invalid >= 1,
          10_000,
          'all refused',
        );
        assert.deepEqual(await stored(hub, hostile.nodeId), nothing);
        const entries = logs.map((l) => JSON.parse(l) as { level: number; msg: string });
        const errors = entries.filter((e) => e.level >= 50);
        assert.deepEqual(errors, [], 'nothing logged as an error');
        assert.ok(entries.some((e) => e.level === 40 && e.msg === 'invalid mqtt payload'));
        assert.equal(hub.cp.stats.events.failed + hub.cp.stats.daily.failed + hub.cp.stats.status.failed, 0);
      } finally {
        await h.endAsync().catch(() => {});
        await g.endAsync().catch(() => {});
      }
    });

    it('the heartbeat flush drops only the heartbeat the database refuses', async () => {
      const others = await Promise.all([1, 2, 3].map(() => TestNode.enroll(hub, good.siteId)));
      const receivedAt = Date.now();
      // Straight into the service, past validation: the status text is stored as received.
      hub.cp.heartbeats.record(
        hostile.nodeId,
        { state: 'online', clock: receivedAt },
        '{"state":"online","clock":1,"reason":"\\u0000"}',
        receivedAt,
      );
      for (const n of others)
        hub.cp.heartbeats.record(n.nodeId, { state: 'online', clock: receivedAt }, undefined, receivedAt);
      const dropped = hub.cp.heartbeats.stats.dropped;
      // The timer may be flushing right now; a flush started then does not hold these yet.
      await waitFor(
        async () => {
          await hub.cp.heartbeats.flush();
          return hub.cp.heartbeats.stats.dropped > dropped;
        },
        10_000,
        'flush',
      );
      assert.equal(hub.cp.heartbeats.stats.dropped, dropped + 1);
      for (const n of others) {
        const row = await nodeRow(hub, n.nodeId);
        assert.equal(row.status, 'online');
        assert.equal(row.last_seen_at?.getTime(), receivedAt);
      }
      assert.equal((await nodeRow(hub, hostile.nodeId)).last_seen_at, null);
    });
  });
}
