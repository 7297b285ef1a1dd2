// Every alert rule fires, stays single, clears; repeat, mute, acknowledge and manual resolve;
// PV at night does not fire. Data goes in through the real signed ingest path; evaluations run
// at chosen instants (`now`) so silence and daylight are deterministic. Both engines.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { evaluateSite } from '../../src/alerts/alert-engine.ts';
import { alertsIdle } from '../../src/alerts/alerts.plugin.ts';
import { HeartbeatService } from '../../src/heartbeat/heartbeat.service.ts';
import { localDayBounds } from '../../src/time/zoned.ts';
import { ENGINES } from '../helpers/engines.ts';
import { batchId, createSite, startTestHub, type TestHub, TestNode } from '../helpers/hub.ts';

const TZ = 'Europe/Berlin';
const [DAY0] = localDayBounds('2026-06-15', TZ);
const at = (h: number, m = 0) => DAY0 + h * 3_600_000 + m * 60_000; // local wall time that day (UTC+2)
const MB = 1024 * 1024;

for (const engine of ENGINES) {
  describe(`alert rules on ${engine}`, () => {
    let hub: TestHub;
    let node: TestNode;
    let siteId: string;
    const updates: { alertId: string; state: string }[] = [];

    before(async () => {
      hub = await startTestHub(engine, { retention: { rawDays: 3650, hourlyDays: 3650 } });
      const site = await createSite(hub, { timezone: TZ, latitude: 52.5, longitude: 13.4 });
      siteId = site.siteId;
      node = await TestNode.enroll(hub, siteId);
      hub.app.hub.bus.onEvent('alert.updated', (e) => updates.push(e));
    });
    after(async () => hub?.close());

    const sql = (text: string, params: unknown[] = []) => hub.tdb.database.pool.query(text, params);
    const evaluate = (rule: string, now: number) => evaluateSite(hub.app.hub, siteId, { now, rules: [rule] });
    const alertsOf = async (rule: string) =>
      (await sql('SELECT * FROM alerts WHERE rule = $1 ORDER BY opened_at', [rule])).rows;
    const samples = async (
      metric: string,
      equipment: string,
      from: number,
      to: number,
      value: (t: number, i: number) => number,
      stepMs = 60_000,
    ) => {
      const s = [];
      for (let t = from, i = 0; t < to; t += stepMs, i++)
        s.push({ metric, equipment, ts: t, value: value(t, i) });
      const res = await node.send('/api/v1/ingest/telemetry', { batchId: batchId('al'), samples: s });
      assert.equal(res.statusCode, 200, res.body);
      // Ingest triggers an evaluation at the real clock; let it finish before evaluating at `now`.
      await alertsIdle(hub.app.hub);
    };
    const events = async (list: { ts: number; kind: string; severity?: string; equipment?: string }[]) => {
      const res = await node.send('/api/v1/ingest/events', {
        batchId: batchId('ev'),
        events: list.map((e) => ({ severity: 'error', message: e.kind, ...e })),
      });
      assert.equal(res.statusCode, 200, res.body);
      await alertsIdle(hub.app.hub);
    };

    /** Fires (twice evaluated → one alert), then clears (→ resolved). */
    async function firesOnceThenClears(
      rule: string,
      fire: () => Promise<void>,
      fireAt: number,
      clear: () => Promise<void>,
      clearAt: number,
    ) {
      await fire();
      await evaluate(rule, fireAt);
      await evaluate(rule, fireAt + 1000);
      let rows = await alertsOf(rule);
      assert.equal(rows.length, 1, `${rule}: one alert`);
      assert.equal(rows[0].state, 'open', `${rule}: open`);
      await clear();
      await evaluate(rule, clearAt);
      rows = await alertsOf(rule);
      assert.equal(rows.length, 1);
      assert.equal(rows[0].state, 'resolved', `${rule}: resolved when the condition cleared`);
      assert.equal(rows[0].resolved_by, 'system');
      const tr = await sql(
        'SELECT from_state, to_state FROM alert_transitions WHERE alert_id = $1 ORDER BY id',
        [rows[0].id],
      );
      assert.deepEqual(
        tr.rows.map((r) => `${r.from_state}>${r.to_state}`),
        ['null>open', 'open>resolved'],
      );
      assert.ok(updates.some((u) => u.alertId === rows[0].id && u.state === 'resolved'));
    }

    it('pv_flat_daylight: not at night, fires by day, clears on production', async () => {
      await samples('solar_w', 'inv1', at(0, 30), at(1, 0), () => 0);
      await evaluate('pv_flat_daylight', at(1, 0));
      assert.equal((await alertsOf('pv_flat_daylight')).length, 0, 'a sleeping inverter at night is normal');
      await firesOnceThenClears(
        'pv_flat_daylight',
        () => samples('solar_w', 'inv1', at(11, 30), at(12, 0), () => 0),
        at(12, 0),
        () => samples('solar_w', 'inv1', at(12, 0), at(12, 30), () => 2000),
        at(12, 30),
      );
    });

    it('ct_flatline: a CT stuck at zero while the load varies', async () => {
      await firesOnceThenClears(
        'ct_flatline',
        async () => {
          await samples('grid_w', 'ct1', at(13, 0), at(13, 30), () => 0);
          await samples('load_w', 'meter', at(13, 0), at(13, 30), (_, i) => 300 + (i % 5) * 200);
        },
        at(13, 30),
        () => samples('grid_w', 'ct1', at(13, 30), at(14, 0), (_, i) => 100 + (i % 3) * 50),
        at(14, 0),
      );
    });

    it('voltage_out_of_range with hysteresis', async () => {
      await firesOnceThenClears(
        'voltage_out_of_range',
        () => samples('voltage_l1', 'meter', at(14, 0), at(14, 5), () => 255),
        at(14, 5),
        async () => {
          // 252 V is inside 207–253 but within the 2 V hysteresis band: stays open.
          await samples('voltage_l1', 'meter', at(14, 5), at(14, 10), () => 252);
          await evaluate('voltage_out_of_range', at(14, 10));
          assert.equal((await alertsOf('voltage_out_of_range'))[0].state, 'open');
          await samples('voltage_l1', 'meter', at(14, 10), at(14, 15), () => 235);
        },
        at(14, 15),
      );
    });

    it('equipment_unreachable and update_failed from node events', async () => {
      await firesOnceThenClears(
        'equipment_unreachable',
        () => events([{ ts: at(9), kind: 'equipment.unreachable', equipment: 'inv1' }]),
        at(9, 1),
        () => events([{ ts: at(9, 10), kind: 'equipment.reachable', severity: 'info', equipment: 'inv1' }]),
        at(9, 11),
      );
      await firesOnceThenClears(
        'update_failed',
        () => events([{ ts: at(9, 20), kind: 'update.failed' }]),
        at(9, 21),
        () => events([{ ts: at(9, 30), kind: 'update.succeeded', severity: 'info' }]),
        at(9, 31),
      );
    });

    it('error_burst: more than 10 errors in an hour', async () => {
      await firesOnceThenClears(
        'error_burst',
        () => events(Array.from({ length: 11 }, (_, i) => ({ ts: at(15, i), kind: 'modbus.error' }))),
        at(15, 30),
        async () => {},
        at(17, 0),
      );
    });

    it('disk_low, clock_drift and outbox_drops from node status', async () => {
      const status = async (s: object) => {
        await sql('UPDATE nodes SET last_status = $1 WHERE id = $2', [JSON.stringify(s), node.nodeId]);
      };
      const offset = (ms: number) => async () => {
        await sql('UPDATE nodes SET clock_offset_ms = $1 WHERE id = $2', [ms, node.nodeId]);
      };
      await firesOnceThenClears(
        'disk_low',
        () => status({ diskFreeBytes: 100 * MB }),
        at(16),
        () => status({ diskFreeBytes: 600 * MB }),
        at(16, 1),
      );
      await firesOnceThenClears('clock_drift', offset(90_000), at(16), offset(1000), at(16, 1));
    });

    it('outbox_drops: new drops open it, a quiet period resolves it, a counter reset counts anew', async () => {
      // Heartbeats through the real HeartbeatService (its SQL turns the cumulative count into
      // drop events), received at chosen instants.
      const beats = new HeartbeatService(hub.app.hub, {
        offlineAfterS: 300,
        clockDriftMs: 60_000,
        onOnline: () => {},
        log: { error: () => {}, warn: () => {} },
      });
      const beat = async (dropped: number, receivedAt: number) => {
        beats.record(
          node.nodeId,
          { state: 'online', clock: receivedAt, outboxDropped: dropped },
          undefined,
          receivedAt,
        );
        await beats.flush();
        await alertsIdle(hub.app.hub);
      };
      const state = async () => (await alertsOf('outbox_drops')).map((a) => a.state);
      await beat(0, at(19));
      await evaluate('outbox_drops', at(19, 1));
      assert.deepEqual(await state(), [], 'nothing dropped, nothing open');
      await beat(5, at(19, 2));
      await evaluate('outbox_drops', at(19, 3));
      assert.deepEqual(await state(), ['open']);
      // The count stays at 5 (nothing new): inside the quiet period the alert stays open …
      await beat(5, at(19, 30));
      await evaluate('outbox_drops', at(19, 40));
      assert.deepEqual(await state(), ['open'], 'not resolved before the quiet period');
      // … and after an hour without new drops it resolves, though the node still reports 5.
      await beat(5, at(20, 0));
      await evaluate('outbox_drops', at(20, 3));
      assert.deepEqual(await state(), ['resolved'], 'one old drop does not keep it open forever');
      const [first] = await alertsOf('outbox_drops');
      assert.equal(first.resolved_by, 'system');
      // The agent was reinstalled (count back to 0) and has since dropped 3: new drops, new alert.
      await beat(3, at(20, 10));
      await evaluate('outbox_drops', at(20, 11));
      const rows = await alertsOf('outbox_drops');
      assert.deepEqual(
        rows.map((a) => [a.state, a.value]),
        [
          ['resolved', 0],
          ['open', 3],
        ],
      );
      // Configurable: a site with a 1-min window and quiet period resolves a minute later.
      const put = await hub.admin('PUT', `/api/v1/sites/${siteId}/alert-rules/outbox_drops`, {
        params: { windowS: 60, quietS: 60 },
      });
      assert.equal(put.statusCode, 200, put.body);
      await evaluate('outbox_drops', at(20, 12));
      assert.deepEqual(await state(), ['resolved', 'resolved']);
    });

    it('node_offline: silence detected by the schedule, repeats when configured, clears on return', async () => {
      const put = await hub.admin('PUT', `/api/v1/sites/${siteId}/alert-rules/node_offline`, {
        repeatS: 600,
        params: { offlineAfterS: 300 },
      });
      assert.equal(put.statusCode, 200, put.body);
      await sql('UPDATE nodes SET last_seen_at = $1 WHERE id = $2', [new Date(at(18)), node.nodeId]);
      await evaluate('node_offline', at(18, 4));
      assert.equal((await alertsOf('node_offline')).length, 0, 'not yet: 4 min of silence');
      await evaluate('node_offline', at(18, 6));
      await evaluate('node_offline', at(18, 10));
      let [a] = await alertsOf('node_offline');
      assert.equal(a.state, 'open');
      assert.equal(a.repeat_count, 0, 'no repeat before repeatS');
      await evaluate('node_offline', at(18, 17));
      [a] = await alertsOf('node_offline');
      assert.equal(a.repeat_count, 1, 'repeated once after 10 min');
      await sql('UPDATE nodes SET last_seen_at = $1 WHERE id = $2', [new Date(at(18, 20)), node.nodeId]);
      await evaluate('node_offline', at(18, 20));
      const rows = await alertsOf('node_offline');
      assert.equal(rows.length, 1);
      assert.equal(rows[0].state, 'resolved');
      // A last will (status offline) fires at once, without waiting for the silence threshold.
      await sql(`UPDATE nodes SET status = 'offline', status_reason = 'last will' WHERE id = $1`, [
        node.nodeId,
      ]);
      await evaluate('node_offline', at(18, 21));
      const will = (await alertsOf('node_offline')).filter((r) => r.state === 'open');
      assert.equal(will.length, 1);
      assert.match(will[0].message, /offline \(last will\)/);
      await sql(`UPDATE nodes SET status = 'online', status_reason = NULL WHERE id = $1`, [node.nodeId]);
      await evaluate('node_offline', at(18, 22));
      assert.equal((await alertsOf('node_offline')).filter((r) => r.state !== 'resolved').length, 0);
    });

    it('acknowledge, manual resolve (no re-open while the condition holds), mute, list filters', async () => {
      await sql('UPDATE nodes SET clock_offset_ms = 120000 WHERE id = $1', [node.nodeId]);
      await evaluate('clock_drift', at(19));
      const open = (await alertsOf('clock_drift')).find((r) => r.state === 'open');
      assert.ok(open);
      const ack = await hub.admin('POST', `/api/v1/alerts/${open.id}/acknowledge`, { note: 'looking' });
      assert.equal(ack.statusCode, 200, ack.body);
      assert.equal(ack.json().state, 'acknowledged');
      const res = await hub.admin('POST', `/api/v1/alerts/${open.id}/resolve`, {});
      assert.equal(res.json().state, 'resolved');
      assert.equal((await hub.admin('POST', `/api/v1/alerts/${open.id}/resolve`, {})).statusCode, 409);
      await evaluate('clock_drift', at(19, 5));
      assert.equal(
        (await alertsOf('clock_drift')).filter((r) => r.state !== 'resolved').length,
        0,
        'not re-opened',
      );
      // Condition clears, then comes back: a new alert — unless the rule is muted for the site.
      await sql('UPDATE nodes SET clock_offset_ms = 0 WHERE id = $1', [node.nodeId]);
      await evaluate('clock_drift', at(19, 6));
      const mute = await hub.admin('POST', `/api/v1/sites/${siteId}/alert-mutes`, {
        rule: 'clock_drift',
        until: new Date(Date.now() + 3_600_000).toISOString(),
      });
      assert.equal(mute.statusCode, 201, mute.body);
      await sql('UPDATE nodes SET clock_offset_ms = 120000 WHERE id = $1', [node.nodeId]);
      await evaluateSite(hub.app.hub, siteId, { now: Date.now(), rules: ['clock_drift'] });
      assert.equal((await alertsOf('clock_drift')).filter((r) => r.state !== 'resolved').length, 0, 'muted');
      const detail = await hub.admin('GET', `/api/v1/alerts/${open.id}`);
      assert.deepEqual(
        detail.json().transitions.map((t: { to_state: string }) => t.to_state),
        ['open', 'acknowledged', 'resolved'],
      );
      const list = await hub.admin('GET', `/api/v1/alerts?siteId=${siteId}&state=resolved&rule=clock_drift`);
      assert.equal(list.statusCode, 200);
      assert.ok(list.json().length >= 2);
      assert.ok(list.json().every((a: { state: string }) => a.state === 'resolved'));
      const bad = await hub.admin('PUT', `/api/v1/sites/${siteId}/alert-rules/clock_drift`, {
        params: { nope: 1 },
      });
      assert.equal(bad.statusCode, 400);
    });

    it('duration: the condition must hold for durationS; org settings apply below site settings', async () => {
      const org = (await sql('SELECT org_id FROM sites WHERE id = $1', [siteId])).rows[0].org_id;
      const put = await hub.admin('PUT', `/api/v1/orgs/${org}/alert-rules/disk_low`, {
        durationS: 300,
        severity: 'critical',
        params: { minFreeBytes: 200 * MB },
      });
      assert.equal(put.statusCode, 200, put.body);
      await sql('UPDATE nodes SET last_status = $1 WHERE id = $2', [
        JSON.stringify({ diskFreeBytes: 300 * MB }),
        node.nodeId,
      ]);
      await evaluate('disk_low', at(20));
      assert.equal(
        (await alertsOf('disk_low')).filter((r) => r.state !== 'resolved').length,
        0,
        '300 MB is fine for this org',
      );
      await sql('UPDATE nodes SET last_status = $1 WHERE id = $2', [
        JSON.stringify({ diskFreeBytes: 100 * MB }),
        node.nodeId,
      ]);
      await evaluate('disk_low', at(20, 1));
      await evaluate('disk_low', at(20, 5));
      assert.equal(
        (await alertsOf('disk_low')).filter((r) => r.state !== 'resolved').length,
        0,
        'not for 5 min yet',
      );
      await evaluate('disk_low', at(20, 6));
      const open = (await alertsOf('disk_low')).filter((r) => r.state !== 'resolved');
      assert.equal(open.length, 1);
      assert.equal(open[0].severity, 'critical');
      // A site setting overrides the org's: disabled here, and an open alert is left as it is.
      await hub.admin('PUT', `/api/v1/sites/${siteId}/alert-rules/disk_low`, { enabled: false });
      const rules = await hub.admin('GET', '/api/v1/alert-rules');
      // 12 device and site rules (config_rolled_back included) + data_quality and batches_lost
      // (issue 17 item 6) + 3 vendor-account rules (vendors/vendor-alert-rules.ts).
      assert.equal(rules.json().length, 17);
    });

    it('evaluates when data arrives (bus event from ingest)', async () => {
      await events([{ ts: Date.now() - 60_000, kind: 'equipment.unreachable', equipment: 'battery1' }]);
      await alertsIdle(hub.app.hub);
      const rows = (await alertsOf('equipment_unreachable')).filter((r) => r.state === 'open');
      assert.equal(rows.length, 1);
      assert.equal(rows[0].target_id, `${node.nodeId}/battery1`);
    });
  });
}
