// GET /metrics with real traffic: signed HTTP ingest from an enrolled node and MQTT telemetry and
// heartbeats through the embedded broker (a real MQTT connection), on both database engines. The
// counters are read back from the Prometheus text and must move by exactly what was sent.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { topics } from '@wattfleet/protocol';
import { startMetricsListener } from '../../src/observability/observability.plugin.ts';
import { ENGINES } from '../helpers/engines.ts';
import { batchId, createSite, TestNode } from '../helpers/hub.ts';
import { connectNode, type MqttTestHub, startMqttHub, status, waitFor } from '../mqtt/mqtt-helpers.ts';

const METRICS_TOKEN = 'metrics-token-for-tests-0123';

/** The value of one series in Prometheus text format (labels in any order), or 0 when absent. */
export function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const m = /^([^{\s]+)(?:\{([^}]*)\})?\s+(\S+)/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = Object.fromEntries(
      [...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]),
    );
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) return Number(m[3]);
  }
  return 0;
}

const FAMILIES = [
  'wattfleet_ingest_batches_total',
  'wattfleet_ingest_samples_total',
  'wattfleet_ingest_batch_seconds',
  'wattfleet_ingest_group_commit_batches',
  'wattfleet_ingest_group_commit_samples',
  'wattfleet_ingest_rejects_total',
  'wattfleet_mqtt_messages_in_flight',
  'wattfleet_mqtt_messages_total',
  'wattfleet_mqtt_reconnects_total',
  'wattfleet_mqtt_connected',
  'wattfleet_heartbeats_received_total',
  'wattfleet_heartbeats_applied_total',
  'wattfleet_heartbeats_late_total',
  'wattfleet_nodes',
  'wattfleet_command_transitions_total',
  'wattfleet_commands_open',
  'wattfleet_alert_evaluations_total',
  'wattfleet_alerts_open',
  'wattfleet_notification_deliveries_total',
  'wattfleet_notifications_queued',
  'wattfleet_job_runs_total',
  'wattfleet_job_duration_seconds',
  'wattfleet_job_last_success_timestamp_seconds',
  'wattfleet_job_backlog',
  'wattfleet_job_lag_seconds',
  'wattfleet_partitions_ahead_days',
  'wattfleet_retention_overdue_partitions',
  'wattfleet_db_pool_connections',
  'wattfleet_db_pool_waiting',
  'wattfleet_nodejs_eventloop_lag_seconds',
  'wattfleet_realtime_sockets',
  'wattfleet_realtime_dropped_clients_total',
  'wattfleet_http_requests_total',
];

for (const engine of ENGINES) {
  describe(`hub /metrics on ${engine}`, () => {
    let hub: MqttTestHub;
    let node: TestNode;
    const scrape = async () => {
      const r = await hub.app.inject({
        method: 'GET',
        url: '/metrics',
        headers: { authorization: `Bearer ${METRICS_TOKEN}` },
      });
      assert.equal(r.statusCode, 200, r.body);
      return r.body;
    };

    before(async () => {
      hub = await startMqttHub(engine, {}, { metricsToken: METRICS_TOKEN, hubId: 'hub-a' });
      const site = await createSite(hub);
      node = await TestNode.enroll(hub, site.siteId);
    });
    after(async () => hub?.close());

    it('is closed without the bearer token and lists every family, all named wattfleet_ and labelled hub', async () => {
      const none = await hub.app.inject({ method: 'GET', url: '/metrics' });
      assert.equal(none.statusCode, 401);
      const wrong = await hub.app.inject({
        method: 'GET',
        url: '/metrics',
        headers: { authorization: `Bearer ${METRICS_TOKEN}x` },
      });
      assert.equal(wrong.statusCode, 401);
      const text = await scrape();
      for (const family of FAMILIES) assert.ok(text.includes(`# TYPE ${family} `), `missing ${family}`);
      const names = text
        .split('\n')
        .filter((l) => l && !l.startsWith('#'))
        .map((l) => l.split(/[{\s]/)[0]!);
      assert.ok(names.length > 50);
      for (const n of names) assert.ok(n.startsWith('wattfleet_'), n);
      for (const l of text.split('\n').filter((l) => l && !l.startsWith('#')))
        assert.ok(l.includes('hub="hub-a"'), l);
    });

    it('counts signed HTTP ingest: stored, duplicate, samples, rejects by code', async () => {
      const t0 = Date.now() - 3_600_000;
      const before = await scrape();
      const http = { transport: 'http' };
      const batch = {
        batchId: batchId(),
        samples: Array.from({ length: 40 }, (_, i) => ({ metric: 'solar_w', ts: t0 + i * 1000, value: i })),
      };
      assert.equal((await node.send('/api/v1/ingest/telemetry', batch)).json().status, 'stored');
      assert.equal((await node.send('/api/v1/ingest/telemetry', batch)).json().status, 'duplicate');
      const bad = await node.send('/api/v1/ingest/telemetry', {
        batchId: batchId(),
        samples: [{ metric: 1 }],
      });
      assert.equal(bad.statusCode, 400);
      const unsigned = await hub.app.inject({
        method: 'POST',
        url: '/api/v1/ingest/telemetry',
        payload: { batchId: 'x', samples: [] },
      });
      assert.equal(unsigned.statusCode, 401);
      const after = await scrape();
      const delta = (name: string, labels: Record<string, string>) =>
        sample(after, name, labels) - sample(before, name, labels);
      assert.equal(delta('wattfleet_ingest_batches_total', { ...http, result: 'stored' }), 1);
      assert.equal(delta('wattfleet_ingest_batches_total', { ...http, result: 'duplicate' }), 1);
      assert.equal(delta('wattfleet_ingest_samples_total', http), 40);
      assert.equal(delta('wattfleet_ingest_batch_seconds_count', http), 3);
      assert.equal(delta('wattfleet_ingest_rejects_total', { ...http, code: bad.json().code }), 1);
      assert.equal(delta('wattfleet_ingest_rejects_total', { ...http, code: unsigned.json().code }), 1);
      assert.ok(delta('wattfleet_ingest_group_commit_batches_count', {}) >= 1);
      assert.ok(delta('wattfleet_ingest_group_commit_samples_sum', {}) >= 40);
      assert.ok(
        delta('wattfleet_http_requests_total', {
          method: 'POST',
          route: '/api/v1/ingest/telemetry',
          status: '200',
        }) >= 2,
      );
    });

    it('counts MQTT telemetry and heartbeats, and reports the node online', async () => {
      const before = await scrape();
      assert.equal(sample(before, 'wattfleet_mqtt_connected'), 1);
      const client = await connectNode(hub.url, node);
      try {
        const t0 = Date.now() - 1_800_000;
        const batch = {
          batchId: batchId('mqtt'),
          samples: Array.from({ length: 25 }, (_, i) => ({ metric: 'load_w', ts: t0 + i * 1000, value: i })),
        };
        await client.publishAsync(topics.telemetry(node.nodeId), JSON.stringify(batch), { qos: 1 });
        await client.publishAsync(topics.telemetry(node.nodeId), '{not json', { qos: 1 });
        await client.publishAsync(topics.status(node.nodeId), status(), { qos: 1 });
        const mqtt = { transport: 'mqtt' };
        // Wait for every counter asserted below: the node may already be online from the
        // previous test, so "online" alone does not prove the heartbeat was handled yet.
        const grew = (t: string, name: string, labels: Record<string, string>, by: number) =>
          sample(t, name, labels) - sample(before, name, labels) >= by;
        const after = await waitFor(
          async () => {
            const t = await scrape();
            return grew(t, 'wattfleet_ingest_samples_total', mqtt, 25) &&
              grew(t, 'wattfleet_ingest_rejects_total', { ...mqtt, code: 'WF_BAD_JSON' }, 1) &&
              grew(t, 'wattfleet_heartbeats_applied_total', {}, 1) &&
              sample(t, 'wattfleet_mqtt_messages_in_flight', { channel: 'telemetry' }) === 0 &&
              sample(t, 'wattfleet_nodes', { status: 'online' }) >= 1
              ? t
              : undefined;
          },
          15_000,
          'mqtt counters',
        );
        const delta = (name: string, labels: Record<string, string>) =>
          sample(after, name, labels) - sample(before, name, labels);
        assert.equal(delta('wattfleet_ingest_batches_total', { ...mqtt, result: 'stored' }), 1);
        assert.equal(delta('wattfleet_ingest_samples_total', mqtt), 25);
        assert.equal(delta('wattfleet_ingest_rejects_total', { ...mqtt, code: 'WF_BAD_JSON' }), 1);
        assert.equal(delta('wattfleet_mqtt_messages_total', { channel: 'telemetry', result: 'received' }), 2);
        assert.equal(delta('wattfleet_mqtt_messages_total', { channel: 'telemetry', result: 'handled' }), 1);
        assert.equal(delta('wattfleet_heartbeats_received_total', {}), 1);
        assert.equal(delta('wattfleet_heartbeats_applied_total', {}), 1);
        assert.equal(sample(after, 'wattfleet_nodes', { status: 'online' }), 1);
        assert.equal(sample(after, 'wattfleet_mqtt_messages_in_flight', { channel: 'telemetry' }), 0);
      } finally {
        await client.endAsync();
      }
    });

    it('counts command transitions by type and shows open commands', async () => {
      const before = await scrape();
      const created = await hub.admin('POST', `/api/v1/nodes/${node.nodeId}/commands`, {
        type: 'DIAGNOSTICS',
      });
      assert.equal(created.statusCode, 201, created.body);
      const after = await scrape();
      const labels = { type: 'DIAGNOSTICS', state: 'pending' };
      assert.equal(
        sample(after, 'wattfleet_command_transitions_total', labels) -
          sample(before, 'wattfleet_command_transitions_total', labels),
        1,
      );
      const open =
        sample(after, 'wattfleet_commands_open', { type: 'DIAGNOSTICS', state: 'pending' }) +
        sample(after, 'wattfleet_commands_open', { type: 'DIAGNOSTICS', state: 'delivered' });
      assert.equal(open, 1);
    });

    it('counts job runs and reports partitions ahead', async () => {
      hub.app.scheduler.add({ name: 'test.tick', schedule: '* * * * * *', run: async () => 1 });
      hub.app.scheduler.start();
      try {
        const text = await waitFor(
          async () => {
            const t = await scrape();
            return sample(t, 'wattfleet_job_runs_total', { job: 'test.tick', result: 'ok' }) >= 1
              ? t
              : undefined;
          },
          10_000,
          'a job run',
        );
        assert.ok(sample(text, 'wattfleet_job_last_success_timestamp_seconds', { job: 'test.tick' }) > 0);
        assert.ok(sample(text, 'wattfleet_partitions_ahead_days') >= 1);
        assert.equal(sample(text, 'wattfleet_retention_overdue_partitions'), 0);
      } finally {
        hub.app.scheduler.stop();
      }
    });
  });
}

describe('hub /metrics exposure', () => {
  it('is not routed on the public port without METRICS_TOKEN; METRICS_PORT serves it on its own listener', async () => {
    const hub = await startMqttHub('pglite', {}, { metricsToken: undefined, metricsPort: 0, hubId: 'hub-b' });
    const listener = await startMetricsListener(hub.app);
    try {
      const open = await hub.app.inject({ method: 'GET', url: '/metrics' });
      assert.equal(open.statusCode, 404);
      const withAdmin = await hub.admin('GET', '/metrics');
      assert.equal(withAdmin.statusCode, 404);
      const r = await fetch(listener.url);
      assert.equal(r.status, 200);
      assert.match(r.headers.get('content-type') ?? '', /text\/plain/);
      const text = await r.text();
      assert.equal(sample(text, 'wattfleet_mqtt_connected', { hub: 'hub-b' }), 1);
      assert.equal((await fetch(listener.url.replace('/metrics', '/readyz'))).status, 404);
    } finally {
      await listener.close();
      await hub.close();
    }
  });
});
