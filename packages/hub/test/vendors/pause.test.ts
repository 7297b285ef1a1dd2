// Pausing a vendor account: no hub polls it (the stand-in sees no request) while its credentials,
// node and data stay; resuming polls it again. The account answers when its next poll is due and
// how its last poll ended, so the portal can say both in words. Bad input is refused by name.
// Polls are driven with pinned times (pollNow), so nothing depends on the time of day.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { slotOffset } from '../../src/vendors/poll-policy.ts';
import { ENGINES } from '../helpers/engines.ts';
import { createSite, type TestHub } from '../helpers/hub.ts';
import { SelectLiveStandIn } from '../stand-ins/select-live.ts';
import { atMinute, startVendorHub } from './helpers.ts';

for (const engine of ENGINES) {
  describe(`pause and resume a vendor account on ${engine}`, () => {
    const cloud = new SelectLiveStandIn();
    let hub: TestHub;
    let accountId: string;
    const reads = () => cloud.requests.filter((r) => r.path.startsWith('/dashboard/hfdata/')).length;
    const account = async () => (await hub.admin('GET', `/api/v1/vendor-accounts/${accountId}`)).json();

    before(async () => {
      cloud.maintenance = false;
      cloud.clock = () => atMinute(10);
      await cloud.start();
      cloud.addUser('owner@example.test', 'pw-one');
      cloud.addSystem('1001', 'owner@example.test');
      hub = await startVendorHub(engine, { selectLive: cloud.url });
      const { siteId } = await createSite(hub);
      const created = await hub.admin('POST', `/api/v1/sites/${siteId}/vendor-accounts`, {
        vendor: 'select_live',
        externalId: '1001',
        credentials: { email: 'owner@example.test', password: 'pw-one' },
      });
      assert.equal(created.statusCode, 201, created.body);
      accountId = created.json().id;
      assert.equal(created.json().paused, false);
      assert.equal(created.json().lastOutcome, null, 'no poll yet');
    });

    after(async () => {
      await hub.close();
      await cloud.stop();
    });

    test('a polled account says how its last poll ended and when the next is due', async () => {
      const report = await hub.app.vendors.poller.pollNow(accountId, atMinute(10));
      assert.equal(report?.outcome, 'ok');
      const a = await account();
      assert.equal(a.lastOutcome, 'ok');
      // Exact from this hub's poller: the account's own slot in a later minute.
      assert.equal(new Date(a.nextPollAt).getTime(), report!.nextAt);
      assert.equal(report!.nextAt % 60_000, slotOffset(accountId));
      assert.ok(report!.nextAt > atMinute(10));
    });

    test('paused: refused input names the field; no poll reaches the vendor; resumed: polled again', async () => {
      const bad = await hub.admin('PATCH', `/api/v1/vendor-accounts/${accountId}`, { paused: 'yes' });
      assert.equal(bad.statusCode, 400, bad.body);
      assert.match(bad.body, /paused/);

      const paused = await hub.admin('PATCH', `/api/v1/vendor-accounts/${accountId}`, { paused: true });
      assert.equal(paused.statusCode, 200, paused.body);
      assert.equal(paused.json().paused, true);
      assert.equal(paused.json().nextPollAt, null, 'no next poll while paused');
      const row = await hub.app.hub.db
        .selectFrom('vendor_accounts')
        .select(['lease_owner', 'status'])
        .where('id', '=', accountId)
        .executeTakeFirstOrThrow();
      assert.deepEqual(row, { lease_owner: null, status: 'active' }, 'the lease is handed back at once');

      const before = reads();
      assert.equal(await hub.app.vendors.poller.pollNow(accountId, atMinute(11)), undefined, 'not held');
      await hub.app.vendors.poller.pollAllNow();
      assert.equal(reads(), before, 'nothing polled the vendor while paused');
      assert.equal(hub.app.vendors.poller.accounts, 0);

      const audit = await hub.app.hub.db
        .selectFrom('audit_log')
        .select('action')
        .where('target_id', '=', accountId)
        .execute();
      assert.ok(audit.some((e) => e.action === 'vendor_account.pause'));

      const resumed = await hub.admin('PATCH', `/api/v1/vendor-accounts/${accountId}`, { paused: false });
      assert.equal(resumed.statusCode, 200, resumed.body);
      assert.equal(resumed.json().paused, false);
      assert.notEqual(resumed.json().nextPollAt, null);
      cloud.clock = () => atMinute(12);
      assert.equal((await hub.app.vendors.poller.pollNow(accountId, atMinute(12)))?.outcome, 'ok');
      assert.equal(reads(), before + 1);
      const after = await hub.app.hub.db
        .selectFrom('audit_log')
        .select('action')
        .where('target_id', '=', accountId)
        .execute();
      assert.ok(after.some((e) => e.action === 'vendor_account.resume'));
    });
  });
}
