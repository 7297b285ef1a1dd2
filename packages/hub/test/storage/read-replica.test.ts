// Issue 16.4: DATABASE_READ_URL sends dashboard, telemetry and fleet-overview reads to a streaming
// replica. Against a real PostgreSQL 15 primary + hot standby (pg_basebackup -R, test/helpers/
// pg-replica.ts), with the real hub (startHub, as the CLI runs it). The proof that a read is served
// by the replica: its replay is paused (pg_wal_replay_pause), the hub writes to the primary, and the
// answer lacks the write until replay resumes. A read right after the request's own write (days
// computed on read) sees that write at once, on the primary. Row-level security applies on the
// replica's connection (SET LOCAL role and settings in a read-only transaction). PGlite: ignored.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { sql } from 'kysely';
import { loadConfig } from '../../src/config.ts';
import { withTenantRead } from '../../src/identity/tenant.ts';
import { type RunningHub, startHub } from '../../src/server.ts';
import { openDatabase } from '../../src/storage/database.ts';
import { ENGINES } from '../helpers/engines.ts';
import { ADMIN_TOKEN, batchId, type TestHub, TestNode } from '../helpers/hub.ts';
import { type ReplicaPair, startReplicaPair } from '../helpers/pg-replica.ts';
import { freePort } from '../mqtt/mosquitto.ts';

const METRICS_TOKEN = 'metrics-token-0123456789';
const DAY_MS = 86_400_000;

if (ENGINES.includes('postgres')) {
  describe('read replica (DATABASE_READ_URL) on PostgreSQL primary + streaming standby', () => {
    let pair: ReplicaPair;
    let hub: RunningHub;
    let admin: TestHub['admin'];
    let node: TestNode;
    let siteId: string;
    let orgId: string;
    // Two days ago (UTC), noon: a whole past day, whatever the time of day now.
    const day = new Date(Math.floor(Date.now() / DAY_MS) * DAY_MS - 2 * DAY_MS).toISOString().slice(0, 10);
    const noon = Date.parse(`${day}T12:00:00Z`);
    const range = `from=${new Date(noon - 3_600_000).toISOString()}&to=${new Date(noon + 3_600_000).toISOString()}`;

    before(async () => {
      pair = await startReplicaPair();
      const config = loadConfig(
        {
          DATABASE_URL: pair.primaryUrl,
          DATABASE_READ_URL: pair.replicaUrl,
          PORT: '0',
          MQTT_PORT: String(await freePort()),
          METRICS_TOKEN,
        },
        { adminToken: ADMIN_TOKEN, logLevel: 'warn', dataDir: '/nonexistent' },
      );
      hub = await startHub(config);
      const app = hub.app;
      admin = (method, url, body) =>
        app.inject({
          method: method as 'GET',
          url,
          headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
          ...(body !== undefined ? { payload: body as object } : {}),
        });
      const org = await admin('POST', '/api/v1/orgs', { name: 'Replica', kind: 'household' });
      orgId = org.json().id;
      const site = await admin('POST', '/api/v1/sites', { orgId, name: 'Roof R', timezone: 'UTC' });
      assert.equal(site.statusCode, 201, site.body);
      siteId = site.json().id;
      node = await TestNode.enroll({ app, admin } as TestHub, siteId);
      const samples = [];
      for (let m = 0; m < 24 * 60; m += 5)
        samples.push({ metric: 'solar_w', ts: Date.parse(`${day}T00:00:00Z`) + m * 60_000, value: 1000 });
      const res = await node.send('/api/v1/ingest/telemetry', { batchId: batchId(), samples });
      assert.equal(res.statusCode, 200, res.body);
      await pair.caughtUp();
    });
    after(async () => {
      await hub?.stop();
      await pair?.stop();
    });

    const points = async (res: LightMyRequestResponse) => {
      assert.equal(res.statusCode, 200, res.body);
      const series = res.json().series as { metric: string; points: [number, number][] }[];
      return series.find((s) => s.metric === 'solar_w')?.points ?? [];
    };

    it('says a replica is configured and exposes its lag', async () => {
      const health = await admin('GET', '/healthz');
      assert.equal(health.json().readReplica, true);
      const metrics = await hub.app.inject({
        method: 'GET',
        url: '/metrics',
        headers: { authorization: `Bearer ${METRICS_TOKEN}` },
      });
      assert.match(metrics.body, /^wattfleet_db_replica_lag_seconds(\{[^}]*\})? \d/m);
    });

    it('serves telemetry and the fleet overview from the replica; writes reach it by replication', async () => {
      const url = `/api/v1/sites/${siteId}/telemetry?${range}&metrics=solar_w&step=raw`;
      const before = await points(await admin('GET', url));
      assert.equal(before.length, 24); // 12:00 ± 1 h, every 5 minutes, `to` excluded
      await pair.pauseReplay();
      try {
        // Written on the primary while the standby replays nothing.
        const late = await node.send('/api/v1/ingest/telemetry', {
          batchId: batchId(),
          samples: [{ metric: 'solar_w', ts: noon + 30_000, value: 4242 }],
        });
        assert.equal(late.statusCode, 200, late.body);
        const other = await admin('POST', '/api/v1/sites', { orgId, name: 'Roof Later', timezone: 'UTC' });
        assert.equal(other.statusCode, 201, other.body);
        const [written] = await pair.query<{ n: number }>(
          'primary',
          'SELECT count(*)::int AS n FROM samples WHERE value = 4242',
        );
        assert.equal(written?.n, 1, 'the write went to the primary');

        // Read from the replica: neither the sample nor the site is there yet.
        const paused = await points(await admin('GET', url));
        assert.deepEqual(paused, before);
        const fleet = await admin('GET', '/api/v1/fleet/sites');
        assert.deepEqual(
          (fleet.json() as { name: string }[]).map((s) => s.name),
          ['Roof R'],
        );
        // Configuration reads stay on the primary: the new site is listed there at once.
        const sites = await admin('GET', '/api/v1/sites');
        assert.deepEqual((sites.json() as { name: string }[]).map((s) => s.name).sort(), [
          'Roof Later',
          'Roof R',
        ]);
      } finally {
        await pair.resumeReplay();
      }
      await pair.caughtUp();
      const resumed = await points(await admin('GET', url));
      assert.equal(resumed.length, 25);
      assert.ok(resumed.some(([, v]) => v === 4242));
      const fleet = await admin('GET', '/api/v1/fleet/sites');
      assert.equal(fleet.json().length, 2);
    });

    it('a day computed on read is read back from the primary, not the lagging replica', async () => {
      await pair.caughtUp();
      await pair.pauseReplay();
      try {
        const res = await admin('GET', `/api/v1/sites/${siteId}/daily?from=${day}&to=${day}`);
        assert.equal(res.statusCode, 200, res.body);
        const [d] = res.json() as { day: string; solarKwh: number; coverage: number }[];
        assert.equal(d?.day, day);
        assert.ok(d.solarKwh > 20 && d.coverage > 0.9, res.body);
        // The request wrote the day on the primary; the paused replica does not have it.
        const onReplica = await pair.query<{ n: number }>(
          'replica',
          `SELECT count(*)::int AS n FROM site_daily WHERE site_id = '${siteId}' AND day = '${day}'`,
        );
        assert.equal(onReplica[0]?.n, 0);
      } finally {
        await pair.resumeReplay();
      }
      await pair.caughtUp();
      const replicated = await pair.query<{ n: number }>(
        'replica',
        `SELECT count(*)::int AS n FROM site_daily WHERE site_id = '${siteId}' AND day = '${day}'`,
      );
      assert.equal(replicated[0]?.n, 1, 'the computed day reached the replica');
      // Now stored and replicated: the same answer served from the replica.
      const again = await admin(
        'GET',
        `/api/v1/sites/${siteId}/monthly?from=${day.slice(0, 7)}&to=${day.slice(0, 7)}`,
      );
      assert.equal(again.statusCode, 200, again.body);
      assert.ok(again.json()[0].solarKwh > 20);
    });

    it('applies row-level security on the replica connection, read-only', async () => {
      const other = (await admin('GET', '/api/v1/sites'))
        .json()
        .find((s: { name: string }) => s.name === 'Roof Later');
      const look = (asSite: string) =>
        withTenantRead(hub.app.hub, { kind: 'node', nodeId: node.nodeId, siteId: asSite }, async (trx) => {
          const r = await sql<{ standby: boolean; who: string; ro: string }>`
            SELECT pg_is_in_recovery() AS standby, current_user AS who,
                   current_setting('transaction_read_only') AS ro`.execute(trx);
          const series = await trx.selectFrom('series').select('id').execute();
          return { ...r.rows[0]!, series: series.length };
        });
      const own = await look(siteId);
      assert.deepEqual(own, { standby: true, who: 'wattfleet_app', ro: 'on', series: 1 });
      // The same query as a tenant of the other site: the policies hide site R's series.
      assert.equal((await look(other.id)).series, 0);
      // A write slipped into a replica read fails loudly (read-only transaction), never half-done.
      await assert.rejects(
        withTenantRead(hub.app.hub, { kind: 'token' }, (trx) =>
          trx
            .insertInto('orgs')
            .values({ name: 'x', kind: 'household' } as never)
            .execute(),
        ),
        /read-only transaction/,
      );
      // `fresh` reads go to the primary.
      const fresh = await withTenantRead(
        hub.app.hub,
        { kind: 'token' },
        async (trx) => (await sql<{ s: boolean }>`SELECT pg_is_in_recovery() AS s`.execute(trx)).rows[0]?.s,
        { fresh: true },
      );
      assert.equal(fresh, false);
    });
  });
}

describe('without a replica', () => {
  it('DATABASE_READ_URL needs DATABASE_URL: PGlite (embedded) ignores it', async () => {
    const config = loadConfig({ DATABASE_READ_URL: 'postgres://127.0.0.1:1/none' });
    assert.equal(config.databaseReadUrl, undefined);
    const database = await openDatabase({ dataDir: 'memory://', readUrl: 'postgres://127.0.0.1:1/none' });
    try {
      assert.equal(database.readDb, database.db);
      assert.equal(database.readPool, undefined);
    } finally {
      await database.close();
    }
  });

  it('PostgreSQL without DATABASE_READ_URL reads from the primary as before', async () => {
    if (!ENGINES.includes('postgres')) return;
    const config = loadConfig({ DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/test' });
    assert.equal(config.databaseReadUrl, undefined);
    const database = await openDatabase({ databaseUrl: config.databaseUrl, readUrl: config.databaseReadUrl });
    try {
      assert.equal(database.readDb, database.db);
      assert.equal(database.readPool, undefined);
    } finally {
      await database.close();
    }
  });
});
