// Secrets never leak: after a full workflow through the API and the poller (add with test
// connection, a failed connection test, polls, a session expiry and re-login, credential
// rotation, removal) neither the hub's log output (at trace level) nor a dump of the database
// contains a password, an email used as a login, or a vendor session cookie. The same for Enphase
// (OAuth): after authorising, adding, polls with a token refresh (refresh-token rotation), a
// re-authorisation and removal, no access or refresh token the stand-in ever issued, nor the
// application's client secret or API key, is in the log output or the dump.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { buildHub } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { ENGINES, openTestDatabase, type TestDatabase } from '../helpers/engines.ts';
import { ADMIN_TOKEN } from '../helpers/hub.ts';
import { EnphaseStandIn } from '../stand-ins/enphase.ts';
import { SelectLiveStandIn } from '../stand-ins/select-live.ts';
import { atMinute, vendorTestConfig } from './helpers.ts';

const DAY = 86_400_000;

/** The database as a dump: pg_dump for PostgreSQL, the data directory for PGlite. */
async function dumpOf(tdb: TestDatabase): Promise<Buffer> {
  if (tdb.url) return execFileSync('pg_dump', ['--no-owner', tdb.url], { maxBuffer: 1 << 28 });
  return Buffer.from(await (await tdb.database.pglite!.dumpDataDir('none')).arrayBuffer());
}

/** A hub logging at trace level into `sink`. */
async function tracedHub(tdb: TestDatabase, config: ReturnType<typeof loadConfig>, sink: { text: string }) {
  const stream = new Writable({
    write(chunk, _enc, cb) {
      sink.text += chunk.toString();
      cb();
    },
  });
  const app = await buildHub({ config, database: tdb.database, logger: { level: 'trace', stream } });
  const call = (method: string, url: string, body?: unknown) =>
    app.inject({
      method: method as 'GET',
      url,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      ...(body ? { payload: body as object } : {}),
    });
  return { app, call };
}

for (const engine of ENGINES) {
  describe(`no plaintext secrets on ${engine}`, () => {
    const cloud = new SelectLiveStandIn();
    let tdb: TestDatabase;
    let logs = '';
    const secrets = ['Pw-Firstpass-91', 'Pw-Second-47', 'Wrong-Guess-33', 'login.person@select.example'];
    before(async () => {
      cloud.clock = () => atMinute(5);
      await cloud.start();
      cloud.addUser(secrets[3]!, secrets[0]!);
      cloud.addSystem('777', secrets[3]!);
      tdb = await openTestDatabase(engine);
    });
    after(async () => {
      await tdb.drop();
      await cloud.stop();
    });

    test('log output and database dump hold no credential after a full workflow', async () => {
      const stream = new Writable({
        write(chunk, _enc, cb) {
          logs += chunk.toString();
          cb();
        },
      });
      const config = loadConfig(
        {},
        { adminToken: ADMIN_TOKEN, ...vendorTestConfig({ selectLive: cloud.url }) },
      );
      const app = await buildHub({ config, database: tdb.database, logger: { level: 'trace', stream } });
      const call = (method: string, url: string, body?: unknown) =>
        app.inject({
          method: method as 'GET',
          url,
          headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
          ...(body ? { payload: body as object } : {}),
        });
      try {
        const org = (await call('POST', '/api/v1/orgs', { name: 'H', kind: 'household' })).json();
        const site = (
          await call('POST', '/api/v1/sites', { orgId: org.id, name: 'S', timezone: 'UTC' })
        ).json();
        const bad = await call('POST', `/api/v1/sites/${site.id}/vendor-accounts/test`, {
          vendor: 'select_live',
          externalId: '777',
          credentials: { email: secrets[3], password: secrets[2] },
        });
        assert.equal(bad.statusCode, 400);
        const created = await call('POST', `/api/v1/sites/${site.id}/vendor-accounts`, {
          vendor: 'select_live',
          externalId: '777',
          credentials: { email: secrets[3], password: secrets[0] },
        });
        assert.equal(created.statusCode, 201, created.body);
        const id = created.json().id;
        for (let m = 6; m <= 8; m++) {
          cloud.clock = () => atMinute(m);
          if (m === 7) cloud.expireSessions();
          // 'slow' (an answer over the policy's 5 s on a loaded machine) keeps its data too.
          assert.match(String((await app.vendors.poller.pollNow(id, atMinute(m)))?.outcome), /^(ok|slow)$/);
        }
        cloud.addUser(secrets[3]!, secrets[1]!);
        assert.equal(
          (
            await call('PUT', `/api/v1/vendor-accounts/${id}/credentials`, {
              credentials: { email: secrets[3], password: secrets[1] },
            })
          ).statusCode,
          200,
        );
        assert.equal((await call('GET', `/api/v1/vendor-accounts/${id}/log`)).statusCode, 200);
        assert.equal((await call('DELETE', `/api/v1/vendor-accounts/${id}`)).statusCode, 204);
      } finally {
        await app.close();
      }
      assert.ok(logs.length > 1000, 'the hub did log (at trace level)');
      const sessionIds = [...logs.matchAll(/mojolicious=([\w-]+)/g)].map((m) => m[1]);
      assert.deepEqual(sessionIds, [], 'no session cookie in the logs');
      const dump = await dumpOf(tdb);
      assert.ok(dump.length > 10_000);
      assert.ok(dump.includes('vendor_accounts'), 'the dump holds the vendor tables');
      for (const s of secrets) {
        assert.ok(!logs.includes(s), `log output contains ${s}`);
        assert.ok(!dump.includes(s), `database dump contains ${s}`);
      }
    });
  });

  describe(`no plaintext Enphase secrets on ${engine}`, () => {
    const cloud = new EnphaseStandIn();
    // 10:00 UTC two days ago: every reading lies in the past, whatever the time of day.
    const T0 = Math.floor(Date.now() / DAY) * DAY - 2 * DAY + 10 * 3_600_000;
    let now = T0;
    cloud.clock = () => now;
    // Distinctive application secrets, so a scan cannot miss them or match them by chance.
    cloud.clientSecret = 'Enphase-Client-Secret-5521-Qx';
    cloud.apiKey = 'Enphase-Api-Key-8843-Zw';
    const redirect = 'https://portal.example.test/vendors/enphase/callback';
    let tdb: TestDatabase;
    const logs = { text: '' };
    before(async () => {
      await cloud.start();
      cloud.addUser('owner');
      cloud.addSystem('700100', 'owner');
      tdb = await openTestDatabase(engine);
    });
    after(async () => {
      await tdb.drop();
      await cloud.stop();
    });

    test('log output and database dump hold no Enphase token, client secret or API key', async () => {
      const config = loadConfig({}, { adminToken: ADMIN_TOKEN, ...vendorTestConfig({ enphase: cloud.url }) });
      config.vendors.enphase = {
        ...config.vendors.enphase,
        clientSecret: cloud.clientSecret,
        apiKey: cloud.apiKey,
        redirectUri: redirect,
      };
      const { app, call } = await tracedHub(tdb, config, logs);
      try {
        const org = (await call('POST', '/api/v1/orgs', { name: 'H', kind: 'household' })).json();
        const site = (
          await call('POST', '/api/v1/sites', { orgId: org.id, name: 'S', timezone: 'UTC' })
        ).json();
        const grantFor = async () => {
          const r = await call('POST', `/api/v1/sites/${site.id}/vendor-accounts/enphase/authorize`, {
            code: cloud.issueCode('owner', redirect),
          });
          assert.equal(r.statusCode, 200, r.body);
          return r.json().grant as string;
        };
        const created = await call('POST', `/api/v1/sites/${site.id}/vendor-accounts`, {
          vendor: 'enphase',
          externalId: '700100',
          credentials: { grant: await grantFor() },
        });
        assert.equal(created.statusCode, 201, created.body);
        const id = created.json().id;
        assert.equal((await app.vendors.poller.pollNow(id, T0))?.outcome, 'ok');
        // 25 h later the access token (1 day) has expired at Enphase: refused once, refreshed
        // (the refresh token rotates), and the call repeated with the new one.
        const refreshes = cloud.requests.filter((r) => r.grant === 'refresh_token').length;
        now = T0 + 25 * 3_600_000;
        assert.equal((await app.vendors.poller.pollNow(id, now))?.outcome, 'ok');
        assert.equal(cloud.requests.filter((r) => r.grant === 'refresh_token').length, refreshes + 1);
        // Re-authorised (new tokens over the old ones), polled once more, then removed.
        const rotated = await call('PUT', `/api/v1/vendor-accounts/${id}/credentials`, {
          credentials: { grant: await grantFor() },
        });
        assert.equal(rotated.statusCode, 200, rotated.body);
        now += 15 * 60_000;
        assert.equal((await app.vendors.poller.pollNow(id, now))?.outcome, 'ok');
        assert.equal((await call('GET', `/api/v1/vendor-accounts/${id}/log`)).statusCode, 200);
        assert.equal((await call('DELETE', `/api/v1/vendor-accounts/${id}`)).statusCode, 204);
      } finally {
        await app.close();
      }
      assert.ok(logs.text.length > 1000, 'the hub did log (at trace level)');
      assert.ok(cloud.issued.length >= 6, 'tokens were issued: two grants and a refresh');
      const dump = await dumpOf(tdb);
      assert.ok(dump.includes('vendor_accounts'), 'the dump holds the vendor tables');
      for (const s of [...cloud.issued, cloud.clientSecret, cloud.apiKey]) {
        assert.ok(!logs.text.includes(s), `log output contains ${s}`);
        assert.ok(!dump.includes(s), `database dump contains ${s}`);
      }
    });
  });
}
