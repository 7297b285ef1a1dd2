// A hub process killed with SIGKILL at random moments while a node keeps resending what was not
// acknowledged: the database must end up with exactly the samples sent, no more, no fewer.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { generateNodeKeyPair, privateKeyFromPem, signRequest } from '@wattfleet/protocol';
import pg from 'pg';
import { createPgDatabase, ENGINES } from '../helpers/engines.ts';
import { ADMIN_TOKEN } from '../helpers/hub.ts';
import { HubProcess } from '../helpers/hub-process.ts';

const engines = ENGINES.includes('postgres') ? ['postgres'] : [];
for (const _engine of engines) {
  describe('ingest survives SIGKILL of the hub (PostgreSQL)', () => {
    let db: { url: string; drop: () => Promise<void> };
    let hub: HubProcess;
    before(async () => {
      db = await createPgDatabase();
      hub = new HubProcess({
        DATABASE_URL: db.url,
        PORT: '0',
        HOST: '127.0.0.1',
        MQTT_PORT: '0',
        WATTFLEET_ADMIN_TOKEN: ADMIN_TOKEN,
        LOG_LEVEL: 'error',
        WATTFLEET_DEMO: '0',
      });
    });
    after(async () => {
      await hub?.kill();
      await db?.drop();
    });

    it('holds exactly the samples sent after ≥ 10 random kills', { timeout: 600_000 }, async () => {
      await hub.start();
      const admin = (path: string, body: unknown) =>
        fetch(`${hub.url}/api/v1${path}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
          body: JSON.stringify(body),
        }).then((r) => r.json() as Promise<Record<string, string>>);
      const org = await admin('/orgs', { name: 'Crash test', kind: 'household' });
      const site = await admin('/sites', { orgId: org.id, name: 'Roof', timezone: 'UTC' });
      const { code } = await admin(`/sites/${site.id}/enrollment-codes`, {});
      const pair = generateNodeKeyPair();
      const enrolled = (await (
        await fetch(`${hub.url}/api/v1/nodes/enroll`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ code, publicKey: pair.publicKey }),
        })
      ).json()) as { nodeId: string };
      const key = privateKeyFromPem(pair.privateKeyPem);

      const BATCHES = 40;
      const PER_BATCH = 250;
      const t0 = Date.now() - 3 * 3_600_000;
      const batches = Array.from({ length: BATCHES }, (_, b) => ({
        batchId: `crash-${b}-${t0}`,
        samples: Array.from({ length: PER_BATCH }, (_, i) => ({
          metric: i % 2 ? 'load_w' : 'solar_w',
          ts: t0 + (b * PER_BATCH + i) * 1000,
          value: b * 1000 + i,
        })),
      }));

      let kills = 0;
      let stop = false;
      const killer = (async () => {
        while (!stop && kills < 10) {
          await new Promise((r) => setTimeout(r, 300 + Math.random() * 1200));
          if (stop) break;
          await hub.kill();
          kills++;
          await hub.start();
        }
      })();

      const url = '/api/v1/ingest/telemetry';
      let acknowledged = 0;
      for (const batch of batches) {
        const body = Buffer.from(JSON.stringify(batch));
        // Like the agent: resend until the hub acknowledges (stored or duplicate).
        for (;;) {
          try {
            const res = await fetch(`${hub.url}${url}`, {
              method: 'POST',
              headers: {
                'content-type': 'application/json',
                ...signRequest(key, enrolled.nodeId, 'POST', url, body),
              },
              body,
              signal: AbortSignal.timeout(10_000),
            });
            if (res.status === 200) {
              acknowledged++;
              break;
            }
            assert.ok(
              res.status >= 500 || res.status === 429,
              `unexpected ${res.status}: ${await res.text()}`,
            );
          } catch {
            // connection refused or reset while the hub is down: retry
          }
          await new Promise((r) => setTimeout(r, 50));
        }
        // Spread the batches over the kills the test requires.
        if (kills < 10) await new Promise((r) => setTimeout(r, 100));
      }
      while (kills < 10) await new Promise((r) => setTimeout(r, 100));
      stop = true;
      await killer;

      const client = new pg.Client({ connectionString: db.url });
      await client.connect();
      try {
        const samples = await client.query(
          'SELECT count(*)::int AS n, count(DISTINCT (series_id, ts))::int AS d FROM samples',
        );
        const ids = await client.query(
          `SELECT count(*)::int AS n FROM ingest_batches WHERE kind = 'telemetry'`,
        );
        const sum = await client.query('SELECT sum(value)::float8 AS s FROM samples');
        const expectedSum = batches.reduce((a, b) => a + b.samples.reduce((x, s) => x + s.value, 0), 0);
        assert.ok(kills >= 10, `only ${kills} kills`);
        assert.equal(acknowledged, BATCHES);
        assert.equal(samples.rows[0].n, BATCHES * PER_BATCH);
        assert.equal(samples.rows[0].d, BATCHES * PER_BATCH);
        assert.equal(ids.rows[0].n, BATCHES);
        assert.equal(sum.rows[0].s, expectedSum);
      } finally {
        await client.end();
      }
    });
  });
}
