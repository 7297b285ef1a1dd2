// Several hubs: two hub instances against one PostgreSQL and one Mosquitto handle each MQTT
// message once (shared subscriptions) and run each periodic job once (advisory locks via
// runExclusive). PostgreSQL only for the two-hub part: PGlite is embedded, one process owns it;
// runExclusive's PGlite path is tested on its own below.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { topics } from '@wattfleet/protocol';
import type { FastifyInstance } from 'fastify';
import { buildHub } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { runExclusive } from '../../src/jobs/lock.ts';
import { isRemote } from '../../src/mqtt/cluster-bridge.ts';
import { startControlPlane } from '../../src/mqtt/control-plane.ts';
import { type Database, openDatabase } from '../../src/storage/database.ts';
import { openTestDatabase, type TestDatabase } from '../helpers/engines.ts';
import { ADMIN_TOKEN, batchId, createSite, type TestHub, TestNode } from '../helpers/hub.ts';
import { HUB_USER, mosquittoFiles, startMosquitto, type TestMosquitto } from './mosquitto.ts';
import { connectNode, status, waitFor } from './mqtt-helpers.ts';

function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { open, opened };
}

describe('two hubs on one PostgreSQL and one Mosquitto', () => {
  let tdb: TestDatabase;
  let second: Database;
  let broker: TestMosquitto;
  const apps: FastifyInstance[] = [];

  before(async () => {
    tdb = await openTestDatabase('postgres');
    second = await openDatabase({ databaseUrl: tdb.url, poolSize: 4 });
    const { dir, files } = mosquittoFiles();
    // Two hubs in one process share a host name: each needs its own broker session ids.
    const config = (mqttUrl: string, sessionId: string) =>
      loadConfig(
        {},
        {
          adminToken: ADMIN_TOKEN,
          logLevel: 'warn',
          mqttUrl,
          controlPlane: {
            sessionId,
            username: HUB_USER.username,
            password: HUB_USER.password,
            mosquitto: files,
            heartbeatFlushMs: 100,
            sweepIntervalMs: 200,
            offlineAfterS: 1,
          },
        },
      );
    const first = await buildHub({
      config: config('mqtt://127.0.0.1:1', 'multi-a'),
      database: tdb.database,
      logger: false,
    });
    await first.ready();
    apps.push(first);
    await first.controlPlane.syncMosquitto();
    broker = await startMosquitto(dir, files);
    first.hub.config.mqttUrl = broker.url;
    const other = await buildHub({ config: config(broker.url, 'multi-b'), database: second, logger: false });
    await other.ready();
    apps.push(other);
    for (const app of apps) await startControlPlane(app);
  });
  after(async () => {
    for (const app of apps) await app.close();
    await second?.close();
    await tdb?.drop();
    await broker?.stop();
  });

  it('handles every telemetry message exactly once across the hubs, and both share the load', async () => {
    const [a, b] = apps as [FastifyInstance, FastifyInstance];
    const admin = (method: string, url: string, body?: unknown) =>
      a.inject({
        method: method as 'GET',
        url,
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
        ...(body !== undefined ? { payload: body as object } : {}),
      });
    const testHub = { app: a, tdb, admin, close: async () => {} } as TestHub;
    const site = await createSite(testHub);
    const node = await TestNode.enroll(testHub, site.siteId);
    assert.equal(await a.controlPlane.syncMosquitto(), true);
    const client = await waitFor(
      () => connectNode(broker.url, node).catch(() => undefined),
      10_000,
      'reload',
    );

    // Handled once (by one hub); relayed to the other for its browsers (marked remote).
    const statusEvents: string[] = [];
    const seenBy: string[][] = [[], []];
    for (const [i, app] of apps.entries())
      app.hub.bus.onEvent('node.status', (e) => {
        seenBy[i]!.push(`${e.status}:${e.reason}`);
        if (!isRemote(e)) statusEvents.push(`${e.status}:${e.reason}`);
      });
    const liveSeen = [0, 0];
    for (const [i, app] of apps.entries()) app.hub.bus.onEvent('node.live', () => liveSeen[i]!++);
    try {
      const N = 40;
      const t0 = Date.now() - 600_000;
      for (let i = 0; i < N; i++) {
        const batch = {
          batchId: batchId('mh'),
          samples: [{ metric: 'solar_w', ts: t0 + i * 1000, value: i }],
        };
        await client.publishAsync(topics.telemetry(node.nodeId), JSON.stringify(batch), { qos: 1 });
      }
      const handled = () => a.controlPlane.stats.telemetry.handled + b.controlPlane.stats.telemetry.handled;
      await waitFor(() => handled() >= N, 15_000, 'all handled');
      assert.equal(a.controlPlane.stats.telemetry.received + b.controlPlane.stats.telemetry.received, N);
      assert.ok(a.controlPlane.stats.telemetry.received > 0, 'first hub got a share');
      assert.ok(b.controlPlane.stats.telemetry.received > 0, 'second hub got a share');
      const { rows } = await tdb.database.pool.query('SELECT count(*)::int AS n FROM samples');
      assert.equal(rows[0].n, N);

      // One heartbeat, then silence: exactly one hub's sweep marks it offline.
      await client.publishAsync(topics.status(node.nodeId), status(), { qos: 1 });
      await waitFor(() => statusEvents.includes('online:heartbeat'));
      await waitFor(() => statusEvents.includes('offline:silence'), 10_000, 'silence');
      assert.deepEqual(statusEvents, ['online:heartbeat', 'offline:silence']);
      // Both hubs' browsers hear of both changes, one hub as its own, the other relayed.
      await waitFor(() => seenBy.every((s) => s.length === 2), 5_000, 'relayed status');
      assert.deepEqual(seenBy, [
        ['online:heartbeat', 'offline:silence'],
        ['online:heartbeat', 'offline:silence'],
      ]);

      // Live snapshots are not shared out: every hub gets each one for its own browsers.
      const live = { ts: Date.now(), values: { solar_w: 1200 } };
      await client.publishAsync(topics.live(node.nodeId), JSON.stringify(live), { qos: 0 });
      await waitFor(() => liveSeen.every((n) => n === 1), 5_000, 'live on both hubs');

      // A command created through one hub shows up, relayed, on the other.
      const updates: string[] = [];
      b.hub.bus.onEvent('command.updated', (e) => updates.push(`${e.state}:${isRemote(e)}`));
      const sent = await admin('POST', `/api/v1/nodes/${node.nodeId}/commands`, {
        type: 'DIAGNOSTICS',
        args: {},
      });
      assert.equal(sent.statusCode, 201, sent.body);
      await waitFor(() => updates.includes('pending:true'), 5_000, 'command relayed');
    } finally {
      await client.endAsync();
    }
  });

  it('runExclusive lets one hub run a job while the other skips it', async () => {
    const g = gate();
    const held = gate();
    // Wait until the first hub is inside its job (it holds the lock) before the second tries: a
    // second attempt racing the first's pg_try_advisory_lock could win it, and the first would
    // then rightly skip, which is not what this test is about.
    const first = runExclusive(tdb.database, 'test.job', async () => {
      held.open();
      await g.opened;
      return 'first';
    });
    await held.opened;
    const skipped = await runExclusive(second.db, 'test.job', async () => 'second');
    assert.deepEqual(skipped, { ran: false });
    // Another job name is independent.
    assert.deepEqual(await runExclusive(second, 'other.job', async () => 1), { ran: true, value: 1 });
    g.open();
    assert.deepEqual(await first, { ran: true, value: 'first' });
    assert.deepEqual(await runExclusive(second.db, 'test.job', async () => 'second'), {
      ran: true,
      value: 'second',
    });
  });
});

describe('runExclusive on PGlite', () => {
  let tdb: TestDatabase;
  before(async () => {
    tdb = await openTestDatabase('pglite');
  });
  after(async () => tdb?.drop());

  it('runs once at a time in the process, and the job can use the single connection', async () => {
    const g = gate();
    const first = runExclusive(tdb.database.db, 'job', async () => {
      await g.opened;
      const r = await tdb.database.pool.query('SELECT 1 AS one');
      return r.rows[0].one as number;
    });
    await waitFor(async () => {
      const r = await runExclusive(tdb.database.db, 'job', async () => 0);
      return !r.ran;
    });
    g.open();
    assert.deepEqual(await first, { ran: true, value: 1 });
    assert.deepEqual(await runExclusive(tdb.database, 'job', async () => 2), { ran: true, value: 2 });
  });
});
