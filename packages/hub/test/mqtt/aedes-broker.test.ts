// The embedded broker: node authentication against the database, the per-node topic ACL,
// heartbeats (online, drift, offline by will, clean disconnect and silence, back online) and
// telemetry/live over MQTT. Both database engines.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { topics } from '@wattfleet/protocol';
import { ENGINES } from '../helpers/engines.ts';
import { batchId, createSite, TestNode } from '../helpers/hub.ts';
import {
  connectNode,
  grantedQos,
  type MqttTestHub,
  nodeRow,
  sleep,
  startMqttHub,
  status,
  waitFor,
} from './mqtt-helpers.ts';

for (const engine of ENGINES) {
  describe(`embedded aedes control plane on ${engine}`, () => {
    let hub: MqttTestHub;
    let a: TestNode;
    let b: TestNode;

    before(async () => {
      hub = await startMqttHub(engine, { offlineAfterS: 1 });
      const site = await createSite(hub);
      a = await TestNode.enroll(hub, site.siteId);
      b = await TestNode.enroll(hub, site.siteId);
    });
    after(async () => hub?.close());

    it('refuses a wrong password, an unknown node and a deactivated node', async () => {
      await assert.rejects(connectNode(hub.url, { nodeId: a.nodeId, mqttPassword: 'wrong' }));
      await assert.rejects(
        connectNode(hub.url, { nodeId: crypto.randomUUID(), mqttPassword: a.mqttPassword }),
      );
      const c = await TestNode.enroll(hub, b.siteId);
      const off = await hub.admin('POST', `/api/v1/nodes/${c.nodeId}/deactivate`);
      assert.equal(off.statusCode, 200, off.body);
      await assert.rejects(connectNode(hub.url, c));
      const ok = await connectNode(hub.url, a);
      await ok.endAsync();
    });

    it('lets a node publish and subscribe only within nodes/{own id}/# (plus broadcast)', async () => {
      const ca = await connectNode(hub.url, a);
      const cb = await connectNode(hub.url, b);
      try {
        const denied = await grantedQos(ca, [`nodes/${b.nodeId}/#`, '#', 'nodes/+/commands', 'hub/#']);
        assert.deepEqual(denied, [128, 128, 128, 128]);
        const granted = await grantedQos(ca, [`nodes/${a.nodeId}/#`, 'hub/broadcast']);
        assert.deepEqual(granted, [1, 1]);

        // B listens on its own commands; A tries to inject a command there and telemetry as B.
        const bGot: string[] = [];
        await cb.subscribeAsync(`nodes/${b.nodeId}/#`, { qos: 1 });
        cb.on('message', (t) => bGot.push(t));
        const before = hub.cp.stats.telemetry.received;
        ca.publish(topics.commands(b.nodeId), '{"id":"x"}', { qos: 0 });
        ca.publish(
          topics.telemetry(b.nodeId),
          JSON.stringify({ batchId: batchId(), samples: [{ metric: 'solar_w', ts: Date.now(), value: 1 }] }),
          { qos: 0 },
        );
        // A marker B sends itself proves B's subscription is live and that ordering has passed.
        await cb.publishAsync(topics.events(b.nodeId), 'marker', { qos: 1 });
        await waitFor(() => bGot.includes(topics.events(b.nodeId)), 5000, 'marker');
        await sleep(200);
        assert.deepEqual(bGot, [topics.events(b.nodeId)]);
        assert.equal(hub.cp.stats.telemetry.received, before);
      } finally {
        await ca.endAsync(true).catch(() => {});
        await cb.endAsync().catch(() => {});
      }
    });

    it('marks a node online on its heartbeat, records versions and flags clock drift', async () => {
      const drifts: unknown[] = [];
      const off = hub.app.hub.bus.onEvent('node.clock_drift', (e) => drifts.push(e));
      const c = await connectNode(hub.url, a);
      try {
        await c.publishAsync(topics.status(a.nodeId), status({ clock: Date.now() - 120_000 }), { qos: 1 });
        const row = await waitFor(async () => {
          const r = await nodeRow(hub, a.nodeId);
          return r.status === 'online' ? r : undefined;
        });
        assert.equal(row.agent_version, '1.2.3');
        assert.ok(row.last_seen_at);
        assert.ok(
          row.clock_offset_ms! < -110_000 && row.clock_offset_ms! > -130_000,
          String(row.clock_offset_ms),
        );
        await waitFor(() => drifts.length === 1, 5000, 'drift event');
        const events = await hub.app.hub.db
          .selectFrom('node_events')
          .select(['kind', 'severity'])
          .where('node_id', '=', a.nodeId)
          .execute();
        assert.deepEqual(events, [{ kind: 'node.clock_drift', severity: 'warning' }]);
        // A drift already known is not raised again; a clock back in bounds is recorded once.
        await c.publishAsync(topics.status(a.nodeId), status({ clock: Date.now() - 120_000 }), { qos: 1 });
        await c.publishAsync(topics.status(a.nodeId), status(), { qos: 1 });
        await waitFor(async () => Math.abs((await nodeRow(hub, a.nodeId)).clock_offset_ms!) < 10_000);
        // The event follows the batched row update; wait for it rather than race it.
        await waitFor(() => drifts.length >= 2, 5000, 'drift cleared event');
        assert.equal(drifts.length, 2);
        assert.equal((drifts[1] as { drifting: boolean }).drifting, false);
      } finally {
        off();
        await c.endAsync();
      }
    });

    it('goes offline by last will, back online, offline by clean disconnect, and by silence', async () => {
      const seen: string[] = [];
      const off = hub.app.hub.bus.onEvent('node.status', (e) => {
        if (e.nodeId === b.nodeId) seen.push(`${e.status}:${e.reason}`);
      });
      try {
        // Last will: the connection dies without DISCONNECT.
        const will = {
          topic: topics.status(b.nodeId),
          payload: Buffer.from(JSON.stringify({ state: 'offline', clock: Date.now() })),
          qos: 1 as const,
          retain: true,
        };
        const c1 = await connectNode(hub.url, b, { will });
        await c1.publishAsync(topics.status(b.nodeId), status(), { qos: 1 });
        await waitFor(async () => (await nodeRow(hub, b.nodeId)).status === 'online');
        c1.stream.destroy();
        const r1 = await waitFor(async () => {
          const r = await nodeRow(hub, b.nodeId);
          return r.status === 'offline' ? r : undefined;
        });
        assert.equal(r1.status_reason, 'last_will');
        c1.end(true);

        // Back online, then a clean disconnect (DISCONNECT packet; no will is published).
        const c2 = await connectNode(hub.url, b, { will });
        await c2.publishAsync(topics.status(b.nodeId), status(), { qos: 1 });
        await waitFor(async () => (await nodeRow(hub, b.nodeId)).status === 'online');
        await c2.endAsync();
        const r2 = await waitFor(async () => {
          const r = await nodeRow(hub, b.nodeId);
          return r.status === 'offline' ? r : undefined;
        });
        assert.equal(r2.status_reason, 'clean_disconnect');

        // Silence: online, then nothing for longer than the 1 s timeout while still connected.
        const c3 = await connectNode(hub.url, b);
        await c3.publishAsync(topics.status(b.nodeId), status(), { qos: 1 });
        await waitFor(async () => (await nodeRow(hub, b.nodeId)).status === 'online');
        const r3 = await waitFor(async () => {
          const r = await nodeRow(hub, b.nodeId);
          return r.status === 'offline' ? r : undefined;
        });
        assert.equal(r3.status_reason, 'silence');
        await c3.endAsync();
        assert.deepEqual(seen, [
          'online:heartbeat',
          'offline:last_will',
          'online:heartbeat',
          'offline:clean_disconnect',
          'online:heartbeat',
          'offline:silence',
        ]);
      } finally {
        off();
      }
    });

    it('ingests telemetry over MQTT exactly once, counts invalid payloads and fans out live snapshots', async () => {
      const c = await connectNode(hub.url, a);
      const lives: unknown[] = [];
      const off = hub.app.hub.bus.onEvent('node.live', (e) => lives.push(e));
      try {
        const batch = {
          batchId: batchId(),
          samples: Array.from({ length: 20 }, (_, i) => ({
            metric: 'solar_w',
            ts: Date.now() - 60_000 + i * 1000,
            value: i,
          })),
        };
        const invalidBefore = hub.cp.stats.telemetry.invalid;
        const handledBefore = hub.cp.stats.telemetry.handled;
        await c.publishAsync(topics.telemetry(a.nodeId), JSON.stringify(batch), { qos: 1 });
        await c.publishAsync(topics.telemetry(a.nodeId), JSON.stringify(batch), { qos: 1 });
        await c.publishAsync(topics.telemetry(a.nodeId), 'not json', { qos: 1 });
        await c.publishAsync(
          topics.telemetry(a.nodeId),
          JSON.stringify({ batchId: batchId(), samples: [{ metric: 'nope', ts: 1, value: 'x' }] }),
          { qos: 1 },
        );
        await c.publishAsync(
          topics.live(a.nodeId),
          JSON.stringify({ ts: Date.now(), values: { solar_w: 1234 } }),
          { qos: 0 },
        );
        await c.publishAsync(topics.live(a.nodeId), JSON.stringify({ ts: 'bad' }), { qos: 0 });
        await waitFor(() => hub.cp.stats.telemetry.invalid - invalidBefore >= 2, 5000, 'invalid counted');
        await waitFor(
          () => hub.cp.stats.telemetry.handled - handledBefore >= 2,
          5000,
          'stored and duplicate',
        );
        const { rows } = await hub.tdb.database.pool.query(
          'SELECT count(*)::int AS n FROM samples s JOIN series x ON x.id = s.series_id WHERE x.node_id = $1',
          [a.nodeId],
        );
        assert.equal(rows[0].n, 20);
        const batches = await hub.app.hub.db
          .selectFrom('ingest_batches')
          .select('batch_id')
          .where('batch_id', '=', batch.batchId)
          .execute();
        assert.equal(batches.length, 1);
        await waitFor(() => lives.length >= 1, 5000, 'live event');
        assert.equal(lives.length, 1);
        assert.deepEqual((lives[0] as { snapshot: unknown }).snapshot, {
          ts: (lives[0] as { snapshot: { ts: number } }).snapshot.ts,
          values: { solar_w: 1234 },
        });
        assert.ok(hub.cp.stats.live.invalid >= 1);
      } finally {
        off();
        await c.endAsync();
      }
    });

    it('stores events and daily reports sent over MQTT', async () => {
      const c = await connectNode(hub.url, a);
      try {
        const events = {
          batchId: batchId(),
          events: [
            {
              ts: Date.now() - 1000,
              kind: 'equipment.unreachable',
              severity: 'warning',
              message: 'meter silent',
            },
          ],
        };
        const daily = { batchId: batchId(), days: [{ date: '2026-01-02', values: { solar_kwh: 12.5 } }] };
        await c.publishAsync(topics.events(a.nodeId), JSON.stringify(events), { qos: 1 });
        await c.publishAsync(topics.daily(a.nodeId), JSON.stringify(daily), { qos: 1 });
        await waitFor(async () =>
          hub.app.hub.db
            .selectFrom('daily_reports')
            .selectAll()
            .where('node_id', '=', a.nodeId)
            .executeTakeFirst(),
        );
        const ev = await hub.app.hub.db
          .selectFrom('node_events')
          .select('kind')
          .where('node_id', '=', a.nodeId)
          .where('kind', '=', 'equipment.unreachable')
          .execute();
        assert.equal(ev.length, 1);
      } finally {
        await c.endAsync();
      }
    });
  });
}
