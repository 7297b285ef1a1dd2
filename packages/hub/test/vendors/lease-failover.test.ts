// Two real hub processes on one PostgreSQL poll the same vendor accounts (select.live stand-in on
// loopback). Exactly one hub holds each account's lease; when that hub is SIGKILLed in the middle
// of a poll (the stand-in holds the request open), the other takes the account over and polls it
// within 2 minutes, and nothing is stored twice: every stored reading is one complete batch.
// PostgreSQL only: an embedded PGlite belongs to one process.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { createPgDatabase } from '../helpers/engines.ts';
import { ADMIN_TOKEN } from '../helpers/hub.ts';
import { HubProcess } from '../helpers/hub-process.ts';
import { SelectLiveStandIn } from '../stand-ins/select-live.ts';
import { SECRETS_KEY } from './helpers.ts';

const ACCOUNTS = 4;
const LEASE_S = 6;

describe('vendor lease failover between two hub processes (postgres)', () => {
  const cloud = new SelectLiveStandIn();
  let db: { url: string; drop: () => Promise<void> };
  let client: pg.Client;
  const hubs = new Map<string, HubProcess>();

  before(async () => {
    // Real time here: the maintenance window must not decide the outcome of this test.
    cloud.maintenance = false;
    await cloud.start();
    db = await createPgDatabase();
    for (const id of ['hub-a', 'hub-b']) {
      const hub = new HubProcess({
        DATABASE_URL: db.url,
        PORT: '0',
        HOST: '127.0.0.1',
        MQTT_PORT: '0',
        WATTFLEET_ADMIN_TOKEN: ADMIN_TOKEN,
        LOG_LEVEL: 'error',
        WATTFLEET_DEMO: '0',
        WATTFLEET_SECRETS_KEY: SECRETS_KEY,
        WATTFLEET_HUB_ID: id,
        VENDOR_LEASE_S: String(LEASE_S),
        VENDOR_POLL_JITTER_MS: '0',
        SELECT_LIVE_URL: cloud.url,
      });
      await hub.start(); // one after the other: the first one migrates
      hubs.set(id, hub);
    }
    client = new pg.Client({ connectionString: db.url });
    await client.connect();
  });

  after(async () => {
    for (const h of hubs.values()) await h.kill();
    await client?.end();
    await db?.drop();
    await cloud.stop();
  });

  const q = async <T>(text: string, params: unknown[] = []) => (await client.query(text, params)).rows as T[];
  const waitFor = async (what: string, fn: () => Promise<boolean>, ms: number) => {
    const until = Date.now() + ms;
    while (Date.now() < until) {
      if (await fn()) return;
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error(`timed out waiting for ${what}`);
  };

  test('the survivor takes over a SIGKILLed hub’s accounts and nothing is doubled', {
    timeout: 200_000,
  }, async () => {
    const a = hubs.get('hub-a')!;
    const api = (method: string, path: string, body?: unknown) =>
      fetch(`${a.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
    const org = (await (await api('POST', '/api/v1/orgs', { name: 'H', kind: 'household' })).json()) as {
      id: string;
    };
    const siteRes = await api('POST', '/api/v1/sites', { orgId: org.id, name: 'S', timezone: 'UTC' });
    const site = (await siteRes.json()) as { id: string };
    for (let i = 1; i <= ACCOUNTS; i++) {
      cloud.addUser(`u${i}@example.test`, `pw${i}`);
      cloud.addSystem(String(i), `u${i}@example.test`);
    }
    for (let i = 1; i <= ACCOUNTS; i++) {
      const r = await api('POST', `/api/v1/sites/${site.id}/vendor-accounts`, {
        vendor: 'select_live',
        externalId: String(i),
        credentials: { email: `u${i}@example.test`, password: `pw${i}` },
      });
      assert.equal(r.status, 201, await r.text());
    }
    // Armed once the accounts exist (the API goes through hub-a, which may be the victim); the
    // next poll of a lease holder is held open by the stand-in and its hub killed meanwhile.
    cloud.delayMs = 1_500;
    let victim: string | undefined;
    let killedAt = 0;
    const killed = new Promise<void>((resolve) => {
      cloud.onHfdata = (system) => {
        if (victim) return;
        victim = 'pending';
        void (async () => {
          const [row] = await q<{ lease_owner: string | null }>(
            'SELECT lease_owner FROM vendor_accounts WHERE external_id = $1',
            [system],
          );
          // The connection test before saving calls hfdata too: only a poll by a lease holder counts.
          if (!row?.lease_owner) {
            victim = undefined;
            return;
          }
          victim = row.lease_owner;
          killedAt = Date.now();
          await hubs.get(victim)!.kill(); // SIGKILL while the stand-in still holds its request
          resolve();
        })();
      };
    });
    await killed;
    cloud.delayMs = 0;
    const survivor = victim === 'hub-a' ? 'hub-b' : 'hub-a';
    assert.ok(hubs.get(victim!)!.child!.signalCode === 'SIGKILL');

    // Every account: leased by the survivor and polled by it, within 2 minutes of the kill.
    await waitFor(
      'the survivor to poll every account',
      async () => {
        const rows = await q<{ n: string }>(
          `SELECT count(DISTINCT a.id) AS n FROM vendor_accounts a JOIN vendor_connection_log l ON l.account_id = a.id
           WHERE a.lease_owner = $1 AND l.hub = $1 AND l.outcome = 'ok' AND l.at > $2`,
          [survivor, new Date(killedAt)],
        );
        return Number(rows[0]!.n) === ACCOUNTS;
      },
      120_000,
    );
    const tookMs = Date.now() - killedAt;
    assert.ok(tookMs < 120_000, `took over in ${tookMs} ms`);

    // Exactly one hub polls an account at a time: no account was ever polled by both hubs in the
    // same minute.
    const both = await q<{ account_id: string }>(
      `SELECT account_id FROM vendor_connection_log WHERE outcome = 'ok'
       GROUP BY account_id, date_trunc('minute', at) HAVING count(DISTINCT hub) > 1`,
    );
    assert.deepEqual(both, []);
    // Nothing doubled, nothing half-stored: each stored reading is one complete 12-sample batch.
    const perReading = await q<{ node_id: string; ts: Date; n: string }>(
      `SELECT s.node_id, x.ts, count(*) AS n FROM samples x JOIN series s ON s.id = x.series_id
       GROUP BY s.node_id, x.ts`,
    );
    assert.ok(perReading.length >= ACCOUNTS);
    for (const r of perReading) assert.equal(Number(r.n), 12, `node ${r.node_id} at ${r.ts.toISOString()}`);
    const batches = await q<{ n: string; distinct_n: string }>(
      `SELECT count(*) AS n, count(DISTINCT (node_id, batch_id)) AS distinct_n FROM ingest_batches`,
    );
    assert.equal(batches[0]!.n, batches[0]!.distinct_n);
  });
});
