// Vendor systems in a real browser against a real hub (embedded MQTT broker, so live values take
// the same broker path as an agent's) and the select.live stand-in, a real HTTP server on
// loopback: the owner adds a system after a failed and a passing connection test (model and
// serial shown before saving), sees its live values change and its connection log without a
// reload, its health turn to failing, rotates its credentials and removes it (its data stays).
// A viewer of the site sees the system but cannot add or change one; an owner of another site
// sees nothing of it; the admin sees every account's health fleet-wide. Polls are driven with
// pinned times (pollNow), so nothing depends on the time of day.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { createSite, type Fixture } from '../../hub/test/helpers/hub.ts';
import { type MqttTestHub, startMqttHub } from '../../hub/test/mqtt/mqtt-helpers.ts';
import { SelectLiveStandIn } from '../../hub/test/stand-ins/select-live.ts';
import { atMinute, vendorTestConfig } from '../../hub/test/vendors/helpers.ts';
import {
  accessTokenOf,
  apiGet,
  ensureBuilt,
  launchBrowser,
  listen,
  SCREENSHOTS,
  signInAs,
} from './helpers/portal.ts';

const PASSWORD = 'correct horse battery staple 42';

describe('vendor systems in the portal', () => {
  const cloud = new SelectLiveStandIn();
  let hub: MqttTestHub;
  let browser: Browser;
  let base: string;
  let mine: Fixture;
  let other: Fixture;
  let owner: Page;
  let accountId: string;
  let nodeId: string;
  let foreignId: string;

  const card = () => owner.getByTestId('vendor-account');
  /** One poll at minute `minute` of a pinned hour, for the hub and the stand-in alike. */
  const poll = async (minute: number) => {
    cloud.clock = () => atMinute(minute);
    const report = await hub.app.vendors.poller.pollNow(accountId, atMinute(minute));
    return report?.outcome;
  };

  before(async () => {
    ensureBuilt();
    // The stand-in answers for whatever minute the test polls at; no maintenance window.
    cloud.maintenance = false;
    await cloud.start();
    cloud.addUser('home@example.test', 'pw-one');
    cloud.addSystem('1001', 'home@example.test');
    cloud.addUser('dock@example.test', 'pw-dock');
    cloud.addSystem('2002', 'dock@example.test');
    hub = await startMqttHub('pglite', {}, vendorTestConfig({ selectLive: cloud.url }));
    mine = await createSite(hub, { name: 'Gamma Garden' });
    other = await createSite(hub, { name: 'Delta Dock' });
    const operator = await hub.admin('POST', '/api/v1/orgs', { name: 'Operator', kind: 'operator' });
    for (const [email, role, orgId] of [
      ['owner@example.org', 'owner', mine.orgId],
      ['viewer@example.org', 'viewer', mine.orgId],
      ['dock@example.org', 'owner', other.orgId],
      ['admin@example.org', 'admin', operator.json().id],
    ] as const) {
      const res = await hub.admin('POST', '/api/v1/users', {
        email,
        role,
        orgId,
        password: PASSWORD,
        mustChangePassword: false,
      });
      assert.equal(res.statusCode, 201, res.body);
    }
    const foreign = await hub.admin('POST', `/api/v1/sites/${other.siteId}/vendor-accounts`, {
      vendor: 'select_live',
      externalId: '2002',
      name: 'Dock battery',
      credentials: { email: 'dock@example.test', password: 'pw-dock' },
    });
    assert.equal(foreign.statusCode, 201, foreign.body);
    foreignId = foreign.json().id;
    base = await listen(hub.app);
    browser = await launchBrowser();
    owner = await signInAs(browser, base, 'owner@example.org', PASSWORD, 'Gamma Garden');
  });

  after(async () => {
    await browser?.close();
    await hub?.close();
    await cloud.stop();
  });

  it('owner: a failed connection test saves nothing; a passing one shows the system, then it is saved', async () => {
    const form = owner.getByTestId('vendor-add');
    await form.getByLabel('Vendor').selectOption('select_live');
    await form.getByLabel('System number').fill('1001');
    await form.getByLabel('select.live email').fill('home@example.test');
    await form.getByLabel('select.live password').fill('wrong');
    await form.getByRole('button', { name: 'Test connection' }).click();
    await form.getByRole('alert').filter({ hasText: 'rejected the email address or password' }).waitFor();
    assert.equal(await form.getByRole('button', { name: 'Save system' }).isDisabled(), true);

    await form.getByLabel('select.live password').fill('pw-one');
    await form.getByRole('button', { name: 'Test connection' }).click();
    const result = form.getByTestId('vendor-test-result');
    await result.waitFor();
    assert.equal(await result.getByTestId('vendor-model').textContent(), 'Selectronic SP PRO');
    assert.equal(await result.getByTestId('vendor-serial').textContent(), '1001');
    // Nothing is stored by a test.
    const none = await apiGet<unknown[]>(
      base,
      `/api/v1/sites/${mine.siteId}/vendor-accounts`,
      accessTokenOf(owner),
    );
    assert.deepEqual(none.body, []);
    await owner.screenshot({ path: join(SCREENSHOTS, 'vendor-test-connection.png'), fullPage: true });

    await form.getByRole('button', { name: 'Save system' }).click();
    await card().waitFor();
    assert.equal(await card().getByTestId('vendor-health').getAttribute('data-state'), 'new');
    accountId = (await card().getAttribute('data-vendor-account'))!;
    const listed = await apiGet<{ id: string; nodeId: string }[]>(
      base,
      `/api/v1/sites/${mine.siteId}/vendor-accounts`,
      accessTokenOf(owner),
    );
    assert.equal(listed.body[0]?.id, accountId);
    nodeId = listed.body[0]!.nodeId;
  });

  it('owner: live values change and the connection log grows without a reload; a failure shows', async () => {
    await owner.evaluate(() => {
      (window as unknown as { __sameDocument: boolean }).__sameDocument = true;
    });
    // Minute 10 of the hour: the stand-in exports (5 kW solar, 1 kW load); minute 20 imports.
    assert.equal(await poll(10), 'ok');
    await card().locator('[data-metric="solar_w"]').filter({ hasText: '5.00 kW' }).waitFor();
    await card().locator('[data-metric="load_w"]').filter({ hasText: '1.00 kW' }).waitFor();
    await card().locator('[data-testid="vendor-health"][data-state="ok"]').waitFor();
    await card().getByRole('button', { name: 'Connection log' }).click();
    await card().locator('[data-testid="vendor-log"] tr[data-outcome="ok"]').first().waitFor();

    assert.equal(await poll(20), 'ok');
    await card().locator('[data-metric="load_w"]').filter({ hasText: '2.00 kW' }).waitFor();
    await card().locator('[data-metric="solar_w"]').filter({ hasText: '0.00 kW' }).waitFor();
    await owner.waitForFunction(
      () => document.querySelectorAll('[data-testid="vendor-log"] tr[data-outcome="ok"]').length === 2,
    );

    cloud.failWith = 500;
    cloud.failCount = 1;
    assert.equal(await poll(21), 'unavailable');
    await card().locator('[data-testid="vendor-health"][data-state="failing"]').waitFor();
    await card().locator('[data-testid="vendor-log"] tr[data-outcome="unavailable"]').waitFor();
    await card().getByTestId('vendor-error').waitFor();
    cloud.failWith = undefined;
    assert.equal(await poll(22), 'ok');
    await card().locator('[data-testid="vendor-health"][data-state="ok"]').waitFor();
    await card().getByTestId('vendor-uptime').filter({ hasText: '75 % (24 h)' }).waitFor();
    assert.equal(
      await owner.evaluate(() => (window as unknown as { __sameDocument?: boolean }).__sameDocument),
      true,
    );
    await owner.screenshot({ path: join(SCREENSHOTS, 'vendor-live-log.png'), fullPage: true });
  });

  it('viewer: sees the system and its log, cannot add, rotate or remove one (the hub refuses too)', async () => {
    const viewer = await signInAs(browser, base, 'viewer@example.org', PASSWORD, 'Gamma Garden');
    const mineCard = viewer.getByTestId('vendor-account');
    await mineCard.waitFor();
    await mineCard.locator('[data-metric="load_w"]').waitFor();
    assert.equal(await viewer.getByTestId('vendor-add').count(), 0);
    assert.equal(await mineCard.getByRole('button', { name: 'Rotate credentials' }).count(), 0);
    assert.equal(await mineCard.getByRole('button', { name: 'Remove' }).count(), 0);
    await mineCard.getByRole('button', { name: 'Connection log' }).click();
    await mineCard.getByTestId('vendor-log').waitFor();
    const res = await fetch(`${base}/api/v1/sites/${mine.siteId}/vendor-accounts`, {
      method: 'POST',
      headers: { authorization: `Bearer ${accessTokenOf(viewer)}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        vendor: 'select_live',
        externalId: '2002',
        credentials: { email: 'dock@example.test', password: 'pw-dock' },
      }),
    });
    assert.equal(res.status, 404, await res.text());
    await viewer.context().close();
  });

  it("an owner of another site sees nothing of this site's system", async () => {
    const dock = await signInAs(browser, base, 'dock@example.org', PASSWORD, 'Delta Dock');
    await dock.getByTestId('vendor-account').filter({ hasText: 'Dock battery' }).waitFor();
    assert.equal(await dock.getByTestId('vendor-account').count(), 1);
    const token = accessTokenOf(dock);
    assert.equal((await apiGet(base, `/api/v1/vendor-accounts/${accountId}`, token)).status, 404);
    assert.equal((await apiGet(base, `/api/v1/vendor-accounts/${accountId}/log`, token)).status, 404);
    const all = await apiGet<{ id: string }[]>(base, '/api/v1/vendor-accounts', token);
    assert.deepEqual(
      all.body.map((a) => a.id),
      [foreignId],
    );
    await dock.context().close();
  });

  it("admin: every account's health fleet-wide", async () => {
    const admin = await signInAs(browser, base, 'admin@example.org', PASSWORD, 'Fleet');
    await admin.getByRole('link', { name: 'Vendor systems' }).click();
    const table = admin.getByTestId('vendor-fleet');
    await table.locator(`tr[data-vendor-account="${accountId}"] [data-state="ok"]`).waitFor();
    await table.locator(`tr[data-vendor-account="${foreignId}"] [data-state="new"]`).waitFor();
    await admin.getByTestId('vendor-summary').filter({ hasText: '2 accounts · 1 connected' }).waitFor();
    await admin.screenshot({ path: join(SCREENSHOTS, 'vendor-fleet.png'), fullPage: true });
    await admin.context().close();
  });

  it('owner: rotates credentials (tested first) and removes the system; its data stays', async () => {
    cloud.users.set('home@example.test', 'pw-two');
    await card().getByRole('button', { name: 'Rotate credentials' }).click();
    const rotate = card().getByRole('form', { name: /New credentials/ });
    await rotate.getByLabel('select.live email').fill('home@example.test');
    await rotate.getByLabel('select.live password').fill('pw-one');
    await rotate.getByRole('button', { name: 'Test and save new credentials' }).click();
    await rotate.getByRole('alert').filter({ hasText: 'rejected the email address or password' }).waitFor();
    await rotate.getByLabel('select.live password').fill('pw-two');
    await rotate.getByRole('button', { name: 'Test and save new credentials' }).click();
    await rotate.waitFor({ state: 'detached' });
    cloud.expireSessions();
    assert.equal(await poll(23), 'ok');

    await card().getByRole('button', { name: 'Remove' }).click();
    await card().getByRole('button', { name: 'Confirm removal' }).click();
    await owner.getByText('No vendor system connected.').waitFor();
    const latest = await hub.admin('GET', `/api/v1/nodes/${nodeId}/latest`);
    assert.equal(latest.statusCode, 200, latest.body);
    const values = latest.json().values as { metric: string; value: number }[];
    // Minute 23 imports: 2 kW of load, the last reading before the removal.
    assert.equal(values.find((v) => v.metric === 'load_w')?.value, 2000);
  });
});
