// select.live end to end against its stand-in (a real HTTP server on loopback), on both engines:
// login success/failure/expiry mid-session, the maintenance window, 429 and slow answers with
// backoff and the breaker opening and half-opening, kWh-named counters stored as Wh, re-polls
// storing nothing twice, and the sign check catching an inverted battery. The poller is driven
// with pinned times (pollNow), so nothing depends on the time of day.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { evaluateSite } from '../../src/alerts/alert-engine.ts';
import { BREAKER_OPEN_MS, BREAKER_THRESHOLD } from '../../src/vendors/poll-policy.ts';
import { ENGINES } from '../helpers/engines.ts';
import { createSite, type TestHub } from '../helpers/hub.ts';
import { powersAt, SelectLiveStandIn } from '../stand-ins/select-live.ts';
import { atMinute, startVendorHub } from './helpers.ts';

for (const engine of ENGINES) {
  describe(`select.live on ${engine}`, () => {
    const cloud = new SelectLiveStandIn();
    let hub: TestHub;
    let siteId: string;
    let accountId: string;
    let invertedId: string;

    const latest = async (nodeId: string) => {
      const rows = await hub.app.hub.db
        .selectFrom('samples')
        .innerJoin('series', 'series.id', 'samples.series_id')
        .select(['series.metric', 'samples.ts', 'samples.value'])
        .where('series.node_id', '=', nodeId)
        .orderBy('samples.ts', 'desc')
        .execute();
      return rows;
    };
    const account = async (id: string) => (await hub.admin('GET', `/api/v1/vendor-accounts/${id}`)).json();
    const poll = (id: string, now: number) => hub.app.vendors.poller.pollNow(id, now);

    before(async () => {
      cloud.clock = () => atMinute(10);
      await cloud.start();
      cloud.addUser('owner@example.test', 'pw-one');
      cloud.addSystem('1001', 'owner@example.test');
      cloud.addUser('shed@example.test', 'pw-shed');
      cloud.addSystem('1002', 'shed@example.test', { invertBattery: true });
      hub = await startVendorHub(engine, { selectLive: cloud.url });
      siteId = (await createSite(hub)).siteId;
      const created = await hub.admin('POST', `/api/v1/sites/${siteId}/vendor-accounts`, {
        vendor: 'select_live',
        externalId: '1001',
        credentials: { email: 'owner@example.test', password: 'pw-one' },
      });
      assert.equal(created.statusCode, 201, created.body);
      accountId = created.json().id;
      assert.equal(created.json().systemInfo.model, 'Selectronic SP PRO');
      assert.doesNotMatch(created.body, /pw-one/);
      const inv = await hub.admin('POST', `/api/v1/sites/${siteId}/vendor-accounts`, {
        vendor: 'select_live',
        externalId: '1002',
        name: 'Shed',
        credentials: { email: 'shed@example.test', password: 'pw-shed' },
      });
      assert.equal(inv.statusCode, 201, inv.body);
      invertedId = inv.json().id;
    });

    after(async () => {
      cloud.delayMs = 0;
      await hub.close();
      await cloud.stop();
    });

    test('a wrong password fails the connection test and stores nothing', async () => {
      const before = (await hub.admin('GET', `/api/v1/sites/${siteId}/vendor-accounts`)).json().length;
      const r = await hub.admin('POST', `/api/v1/sites/${siteId}/vendor-accounts`, {
        vendor: 'select_live',
        externalId: '1003',
        credentials: { email: 'owner@example.test', password: 'wrong' },
      });
      assert.equal(r.statusCode, 400, r.body);
      assert.match(r.json().message, /rejected the email address or password/);
      const t = await hub.admin('POST', `/api/v1/sites/${siteId}/vendor-accounts/test`, {
        vendor: 'select_live',
        externalId: '1001',
        credentials: { email: 'owner@example.test', password: 'pw-one' },
      });
      assert.equal(t.statusCode, 200, t.body);
      assert.equal(t.json().serial, '1001');
      assert.equal((await hub.admin('GET', `/api/v1/sites/${siteId}/vendor-accounts`)).json().length, before);
    });

    test('a poll stores powers in our signs and the kWh-named counters as Wh; a re-poll stores nothing', async () => {
      const now = atMinute(12);
      cloud.clock = () => now;
      const r = await poll(accountId, now);
      assert.equal(r?.outcome, 'ok');
      assert.equal(r?.stored, 12);
      const minute = Math.floor(now / 60_000);
      const p = powersAt(minute);
      const acc = await account(accountId);
      const rows = await latest(acc.nodeId);
      const v = (m: string) => rows.find((x) => x.metric === m)?.value;
      assert.equal(v('solar_w'), p.solar, 'solar = solarinverter_w + shunt_w');
      assert.equal(v('grid_w'), p.grid, 'grid_w positive while importing');
      assert.equal(v('battery_w'), p.battery, 'battery_w positive while discharging');
      const c = cloud.systems.get('1001')!.counters;
      // The stand-in sends kWh with three decimals: 1 Wh resolution.
      assert.equal(v('grid_import_wh'), Math.round(c.gridIn * 1000));
      assert.equal(v('battery_charge_wh'), Math.round(c.battIn * 1000));
      assert.equal(v('solar_wh'), Math.round(c.solar * 1000));
      assert.ok(v('grid_import_wh')! > 1_000_000, 'Wh, not kWh');
      assert.equal(new Date(rows[0]!.ts).getTime(), minute * 60_000, 'stamped with the reading time');
      const again = await poll(accountId, now + 20_000);
      assert.equal(again?.outcome, 'ok');
      assert.equal(again?.stored, 0, 'same reading, same batch id: nothing stored twice');
      assert.equal((await latest(acc.nodeId)).length, 12);
    });

    test('an expired session logs in again once; rejected credentials stop polling and alert at once', async () => {
      const now = atMinute(13);
      cloud.clock = () => now;
      const logins = cloud.count(/^\/login$/, 'POST');
      cloud.expireSessions();
      const r = await poll(accountId, now);
      assert.equal(r?.outcome, 'ok');
      assert.equal(cloud.count(/^\/login$/, 'POST'), logins + 1);
      // The password changed at select.live: the re-login fails and the account says so.
      cloud.expireSessions();
      cloud.addUser('owner@example.test', 'pw-two');
      const rejected = await poll(accountId, now + 60_000);
      assert.equal(rejected?.outcome, 'credentials');
      const acc = await account(accountId);
      assert.equal(acc.status, 'credentials_rejected');
      assert.equal(acc.health, 'rejected');
      await evaluateSite(hub.app.hub, siteId);
      const alerts = await hub.app.hub.db
        .selectFrom('alerts')
        .select(['rule', 'state', 'message'])
        .where('site_id', '=', siteId)
        .where('rule', '=', 'vendor_credentials_rejected')
        .execute();
      assert.equal(alerts.length, 1);
      assert.equal(alerts[0]!.state, 'open');
      // Not polled any more: this hub gives the account up until the owner fixes it.
      assert.equal(await poll(accountId, now + 120_000), undefined);
      const fixed = await hub.admin('PUT', `/api/v1/vendor-accounts/${accountId}/credentials`, {
        credentials: { email: 'owner@example.test', password: 'pw-two' },
      });
      assert.equal(fixed.statusCode, 200, fixed.body);
      assert.equal(fixed.json().status, 'active');
      assert.doesNotMatch(fixed.body, /pw-two/);
      assert.equal((await poll(accountId, now + 120_000))?.outcome, 'ok');
      await evaluateSite(hub.app.hub, siteId);
      const open = await hub.app.hub.db
        .selectFrom('alerts')
        .select('state')
        .where('rule', '=', 'vendor_credentials_rejected')
        .where('state', '<>', 'resolved')
        .execute();
      assert.equal(open.length, 0);
    });

    test('503 in minutes 48–52 is skipped quietly: no failure, no breaker', async () => {
      const now = atMinute(50);
      cloud.clock = () => now;
      const r = await poll(accountId, now);
      assert.equal(r?.outcome, 'maintenance');
      const acc = await account(accountId);
      assert.equal(acc.consecutiveFailures, 0);
      assert.equal(acc.breaker, 'closed');
      assert.equal(acc.failingSince, null);
      const log = (await hub.admin('GET', `/api/v1/vendor-accounts/${accountId}/log?limit=1`)).json();
      assert.equal(log[0].outcome, 'maintenance');
      assert.equal(log[0].httpStatus, 503);
    });

    test('429 backs off exponentially, opens the breaker, and a half-open probe closes it', async () => {
      let now = atMinute(15);
      cloud.clock = () => now;
      cloud.failWith = 429;
      const waits: number[] = [];
      for (let i = 0; i < BREAKER_THRESHOLD; i++) {
        const r = await poll(accountId, now);
        assert.equal(r?.outcome, 'rate_limited');
        waits.push(r!.nextAt - now);
        now += 1_000;
      }
      assert.ok(waits[1]! > waits[0]! && waits[2]! > waits[1]!, `backoff grows: ${waits}`);
      let acc = await account(accountId);
      assert.equal(acc.breaker, 'open');
      assert.ok(acc.failingSince);
      const seen = cloud.requests.length;
      assert.equal((await poll(accountId, now + 60_000))?.outcome, 'skipped');
      assert.equal(cloud.requests.length, seen, 'an open breaker sends nothing');
      // Half-open probe fails: open again.
      now += BREAKER_OPEN_MS + 1;
      assert.equal((await poll(accountId, now))?.outcome, 'rate_limited');
      assert.equal((await account(accountId)).breaker, 'open');
      // Next probe succeeds: closed.
      cloud.failWith = undefined;
      now += BREAKER_OPEN_MS + 1;
      cloud.clock = () => now;
      assert.equal((await poll(accountId, now))?.outcome, 'ok');
      acc = await account(accountId);
      assert.equal(acc.breaker, 'closed');
      assert.equal(acc.consecutiveFailures, 0);
      assert.equal(acc.failingSince, null);
    });

    test('a slow answer keeps its data but spaces polls out; no answer in time is a failure', async () => {
      const now = atMinute(40);
      cloud.clock = () => now;
      const normal = await poll(accountId, now);
      assert.equal(normal?.outcome, 'ok');
      cloud.delayMs = 4_000;
      cloud.clock = () => now + 60_000;
      const slow = await poll(accountId, now + 60_000);
      assert.equal(slow?.outcome, 'slow');
      assert.ok(slow!.stored > 0);
      assert.ok(slow!.nextAt - (now + 60_000) > normal!.nextAt - now, 'the next poll waits longer');
      cloud.delayMs = 7_500;
      const timeout = await poll(accountId, now + 180_000);
      assert.equal(timeout?.outcome, 'unavailable');
      cloud.delayMs = 0;
      assert.equal((await account(accountId)).consecutiveFailures, 1);
    });

    test('the sign check catches a battery reported with the inverted sign', async () => {
      for (let m = 20; m <= 26; m++) {
        const now = atMinute(m);
        cloud.clock = () => now;
        assert.equal((await poll(invertedId, now))?.outcome, 'ok');
        assert.equal((await poll(accountId, now))?.outcome, 'ok');
      }
      const inv = await account(invertedId);
      assert.deepEqual(
        inv.notices.map((n: { name: string }) => n.name),
        ['battery_sign'],
      );
      assert.match(inv.notices[0].message, /Battery power sign looks inverted/);
      assert.deepEqual((await account(accountId)).notices, [], 'the correctly signed account raises nothing');
      await evaluateSite(hub.app.hub, siteId);
      const alerts = await hub.app.hub.db
        .selectFrom('alerts')
        .select(['node_id', 'state'])
        .where('rule', '=', 'vendor_sign_inverted')
        .execute();
      assert.deepEqual(
        alerts.map((a) => a.node_id),
        [inv.nodeId],
      );
      // The owner flips the setting: readings now agree and the notice clears.
      const fix = await hub.admin('PATCH', `/api/v1/vendor-accounts/${invertedId}`, {
        settings: { batteryChargeSign: 'positive' },
      });
      assert.equal(fix.statusCode, 200, fix.body);
      for (let m = 27; m <= 31; m++) {
        const now = atMinute(m);
        cloud.clock = () => now;
        await poll(invertedId, now);
      }
      assert.deepEqual((await account(invertedId)).notices, []);
    });
  });
}
