// Vendor systems in a real browser against a real hub (embedded MQTT broker, so live values take
// the same broker path as an agent's) and the select.live stand-in, a real HTTP server on
// loopback. The installer adds a system to a site after a failed and a passing connection test
// (model and serial shown before saving; the credentials go to the hub and are never shown
// again), sees last poll / next poll / last error in words, live values and the connection log
// without a reload, the virtual node's readings in the site's ordinary chart, pauses and resumes
// polling, rotates the credentials and removes the system (its data stays). The owner may manage
// their own site's system too (pause and resume here); a viewer sees the state only; an owner of
// another site sees nothing of it; the admin sees every account's health
// fleet-wide. Polls are driven with pinned times (pollNow), so nothing depends on the time of day.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { createSite, type Fixture } from '../../hub/test/helpers/hub.ts';
import { type MqttTestHub, startMqttHub } from '../../hub/test/mqtt/mqtt-helpers.ts';
import { SelectLiveStandIn } from '../../hub/test/stand-ins/select-live.ts';
import { atMinute, vendorTestConfig } from '../../hub/test/vendors/helpers.ts';
import { POWER_METRICS } from '../src/lib/chart-data.ts';
import {
  accessTokenOf,
  apiGet,
  ensureBuilt,
  launchBrowser,
  listen,
  SCREENSHOTS,
  signInAs,
  siteWallTime,
} from './helpers/portal.ts';

const PASSWORD = 'correct horse battery staple 42';
const SITE = 'Gamma Garden';
const VENDOR_PASSWORD = 'Vendor-Pw-7731-first';
const VENDOR_PASSWORD_2 = 'Vendor-Pw-9924-second';

describe('vendor systems in the portal', () => {
  const cloud = new SelectLiveStandIn();
  let hub: MqttTestHub;
  let browser: Browser;
  let base: string;
  let mine: Fixture;
  let other: Fixture;
  let installer: Page;
  let accountId: string;
  let nodeId: string;
  let foreignId: string;

  const card = () => installer.getByTestId('vendor-account');
  /** One poll at minute `minute` of a pinned hour, for the hub and the stand-in alike. */
  const poll = async (minute: number) => {
    cloud.clock = () => atMinute(minute);
    const report = await hub.app.vendors.poller.pollNow(accountId, atMinute(minute));
    return report?.outcome;
  };
  const openSite = async (page: Page) => {
    await page.getByTestId('fleet-table').getByRole('link', { name: SITE }).click();
    await page.getByRole('heading', { name: SITE }).waitFor();
  };

  before(async () => {
    ensureBuilt();
    // The stand-in answers for whatever minute the test polls at; no maintenance window.
    cloud.maintenance = false;
    await cloud.start();
    cloud.addUser('home@example.test', VENDOR_PASSWORD);
    cloud.addSystem('1001', 'home@example.test');
    cloud.addUser('dock@example.test', 'pw-dock');
    cloud.addSystem('2002', 'dock@example.test');
    hub = await startMqttHub('pglite', {}, vendorTestConfig({ selectLive: cloud.url }));
    mine = await createSite(hub, { name: SITE });
    other = await createSite(hub, { name: 'Delta Dock' });
    const installerOrg = await hub.admin('POST', '/api/v1/orgs', {
      name: 'Sparky Installers',
      kind: 'installer',
    });
    const grant = await hub.admin('POST', `/api/v1/sites/${mine.siteId}/grants`, {
      orgId: installerOrg.json().id,
    });
    assert.equal(grant.statusCode, 201, grant.body);
    const operator = await hub.admin('POST', '/api/v1/orgs', { name: 'Operator', kind: 'operator' });
    for (const [email, role, orgId] of [
      ['installer@example.org', 'installer', installerOrg.json().id],
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
    installer = await signInAs(browser, base, 'installer@example.org', PASSWORD, 'Fleet');
    await openSite(installer);
  });

  after(async () => {
    await browser?.close();
    await hub?.close();
    await cloud.stop();
  });

  it('installer: a failed connection test saves nothing; a passing one shows the system, then it is saved and the credentials are gone from the page', async () => {
    const form = installer.getByTestId('vendor-add');
    await form.getByLabel('Vendor').selectOption('select_live');
    await form.getByLabel('System number').fill('1001');
    await form.getByLabel('select.live email').fill('home@example.test');
    await form.getByLabel('select.live password').fill('wrong');
    await form.getByRole('button', { name: 'Test connection' }).click();
    await form.getByRole('alert').filter({ hasText: 'rejected the email address or password' }).waitFor();
    assert.equal(await form.getByRole('button', { name: 'Save system' }).isDisabled(), true);

    await form.getByLabel('select.live password').fill(VENDOR_PASSWORD);
    await form.getByRole('button', { name: 'Test connection' }).click();
    const result = form.getByTestId('vendor-test-result');
    await result.waitFor();
    assert.equal(await result.getByTestId('vendor-model').textContent(), 'Selectronic SP PRO');
    assert.equal(await result.getByTestId('vendor-serial').textContent(), '1001');
    // Nothing is stored by a test.
    const token = accessTokenOf(installer);
    const none = await apiGet<unknown[]>(base, `/api/v1/sites/${mine.siteId}/vendor-accounts`, token);
    assert.deepEqual(none.body, []);
    await installer.screenshot({ path: join(SCREENSHOTS, 'vendor-test-connection.png'), fullPage: true });

    await form.getByRole('button', { name: 'Save system' }).click();
    await card().waitFor();
    assert.equal(await card().getByTestId('vendor-health').getAttribute('data-state'), 'new');
    assert.equal(await card().getByTestId('vendor-last-poll').textContent(), 'not polled yet');
    accountId = (await card().getAttribute('data-vendor-account'))!;
    const listed = await apiGet<{ id: string; nodeId: string }[]>(
      base,
      `/api/v1/sites/${mine.siteId}/vendor-accounts`,
      token,
    );
    assert.equal(listed.body[0]?.id, accountId);
    nodeId = listed.body[0]!.nodeId;
    assert.doesNotMatch(JSON.stringify(listed.body), new RegExp(VENDOR_PASSWORD));
    // Saved and gone: the form is empty again and the password is nowhere on the page.
    assert.equal(await form.getByLabel('select.live password').inputValue(), '');
    assert.equal(await form.getByLabel('select.live email').inputValue(), '');
    const html = await installer.content();
    assert.ok(!html.includes(VENDOR_PASSWORD), 'the vendor password is not on the page');
  });

  it('installer: live values, last and next poll, the connection log and a failure, in words, without a reload', async () => {
    await installer.evaluate(() => {
      (window as unknown as { __sameDocument: boolean }).__sameDocument = true;
    });
    // Minute 10 of the hour: the stand-in exports (5 kW solar, 1 kW load); minute 20 imports.
    assert.equal(await poll(10), 'ok');
    await card().locator('[data-metric="solar_w"]').filter({ hasText: '5.00 kW' }).waitFor();
    await card().locator('[data-metric="load_w"]').filter({ hasText: '1.00 kW' }).waitFor();
    await card().locator('[data-testid="vendor-health"][data-state="ok"]').waitFor();
    await card()
      .getByTestId('vendor-last-poll')
      .filter({ hasText: /ago: read successfully$/ })
      .waitFor();
    // The next poll was due a minute after the pinned poll, which lies in the past.
    assert.equal(await card().getByTestId('vendor-next-poll').textContent(), 'any moment now');
    await card().getByRole('button', { name: 'Connection log' }).click();
    const log = card().getByTestId('vendor-log');
    await log.locator('tr[data-outcome="ok"]').first().waitFor();
    assert.match(
      (await log.locator('tr[data-outcome="ok"]').first().textContent()) ?? '',
      /Read successfully/,
    );

    assert.equal(await poll(20), 'ok');
    await card().locator('[data-metric="load_w"]').filter({ hasText: '2.00 kW' }).waitFor();
    await card().locator('[data-metric="solar_w"]').filter({ hasText: '0.00 kW' }).waitFor();
    await installer.waitForFunction(
      () => document.querySelectorAll('[data-testid="vendor-log"] tr[data-outcome="ok"]').length === 2,
    );

    cloud.failWith = 500;
    cloud.failCount = 1;
    assert.equal(await poll(21), 'unavailable');
    await card().locator('[data-testid="vendor-health"][data-state="failing"]').waitFor();
    const failedRow = log.locator('tr[data-outcome="unavailable"]');
    await failedRow.waitFor();
    const rowText = (await failedRow.textContent()) ?? '';
    assert.match(rowText, /did not answer properly/);
    assert.match(rowText, /server error \(500\)/);
    // The error in words; the vendor's technical text only as a tooltip.
    const error = card().getByTestId('vendor-error');
    await error.waitFor();
    assert.match((await error.textContent()) ?? '', /^The vendor's service did not answer properly/);
    assert.match((await error.getAttribute('title')) ?? '', /HTTP 500/);
    await installer.screenshot({ path: join(SCREENSHOTS, 'vendor-failing.png'), fullPage: true });
    cloud.failWith = undefined;
    assert.equal(await poll(22), 'ok');
    await card().locator('[data-testid="vendor-health"][data-state="ok"]').waitFor();
    await card().getByTestId('vendor-error').waitFor({ state: 'detached' });
    await card().getByTestId('vendor-uptime').filter({ hasText: '75 % (24 h)' }).waitFor();
    assert.equal(
      await installer.evaluate(() => (window as unknown as { __sameDocument?: boolean }).__sameDocument),
      true,
    );
    await installer.screenshot({ path: join(SCREENSHOTS, 'vendor-live-log.png'), fullPage: true });
  });

  it("installer: the virtual node's readings are in the site's ordinary day chart", async () => {
    const rows = await hub.app.hub.db
      .selectFrom('samples')
      .innerJoin('series', 'series.id', 'samples.series_id')
      .select('samples.ts')
      .distinct()
      .where('series.node_id', '=', nodeId)
      .where('series.metric', 'in', [...POWER_METRICS])
      .execute();
    assert.ok(rows.length >= 3, `the polls stored power readings (${rows.length})`);
    const chart = installer.getByTestId('site-chart');
    // The day of the pinned polls on the site's clock (yesterday when the test runs just after
    // the site's midnight).
    const day = siteWallTime(atMinute(10), mine.timezone).slice(0, 10);
    // The chart loaded with the page, before the polls: move off the day and back to load it anew.
    const shown = await chart.getByTestId('period-title').getAttribute('data-from');
    await chart.getByRole('button', { name: 'Previous day' }).click();
    await chart.locator(`[data-testid="period-title"]:not([data-from="${shown}"])`).waitFor();
    await chart.getByLabel('Date').fill(day);
    await chart.locator(`[data-testid="period-title"][data-from="${day}"]`).waitFor();
    await chart.locator(`.chart[data-points="${rows.length}"] canvas`).waitFor();
  });

  it('installer: pause stops polling (said in words) and resume starts it again', async () => {
    await card().getByRole('button', { name: 'Pause polling' }).click();
    await card().getByTestId('vendor-paused').waitFor();
    await card()
      .getByTestId('vendor-next-poll')
      .filter({ hasText: 'paused: no polls until resumed' })
      .waitFor();
    const before = cloud.requests.length;
    assert.equal(await poll(23), undefined, 'a paused account is polled by nobody');
    assert.equal(cloud.requests.length, before);
    await installer.screenshot({ path: join(SCREENSHOTS, 'vendor-paused.png'), fullPage: true });
    await card().getByRole('button', { name: 'Resume polling' }).click();
    await card().getByTestId('vendor-paused').waitFor({ state: 'detached' });
    await card().getByRole('button', { name: 'Pause polling' }).waitFor();
    assert.equal(await poll(24), 'ok');
  });

  it('owner: manages their own system (pause and resume reach the hub); a viewer sees the state only', async () => {
    const owner = await signInAs(browser, base, 'owner@example.org', PASSWORD, SITE);
    const mineCard = owner.getByTestId('vendor-account');
    await mineCard.waitFor();
    await mineCard.locator('[data-metric="load_w"]').waitFor();
    await mineCard.locator('[data-testid="vendor-health"][data-state="ok"]').waitFor();
    await owner.getByTestId('vendor-add').waitFor();
    for (const name of ['Rotate credentials', 'Remove'])
      assert.equal(await mineCard.getByRole('button', { name }).count(), 1, name);
    await mineCard.getByRole('button', { name: 'Pause polling' }).click();
    await mineCard.getByRole('button', { name: 'Resume polling' }).waitFor();
    const id = await mineCard.getAttribute('data-vendor-account');
    const paused = await hub.admin('GET', `/api/v1/vendor-accounts/${id}`);
    assert.equal(paused.json().paused, true, paused.body);
    await mineCard.getByRole('button', { name: 'Resume polling' }).click();
    await mineCard.getByRole('button', { name: 'Pause polling' }).waitFor();
    assert.equal((await hub.admin('GET', `/api/v1/vendor-accounts/${id}`)).json().paused, false);
    await owner.screenshot({ path: join(SCREENSHOTS, 'vendor-owner.png'), fullPage: true });
    await owner.context().close();

    const viewer = await signInAs(browser, base, 'viewer@example.org', PASSWORD, SITE);
    const seen = viewer.getByTestId('vendor-account');
    await seen.locator('[data-testid="vendor-health"][data-state="ok"]').waitFor();
    await seen
      .getByTestId('vendor-last-poll')
      .filter({ hasText: /read successfully/ })
      .waitFor();
    assert.equal(await viewer.getByTestId('vendor-add').count(), 0);
    for (const name of ['Pause polling', 'Resume polling', 'Rotate credentials', 'Remove'])
      assert.equal(await seen.getByRole('button', { name }).count(), 0, name);
    await seen.getByRole('button', { name: 'Connection log' }).click();
    await seen.getByTestId('vendor-log').waitFor();
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

  it('installer: rotates credentials (tested first) and removes the system; its data stays', async () => {
    cloud.users.set('home@example.test', VENDOR_PASSWORD_2);
    await card().getByRole('button', { name: 'Rotate credentials' }).click();
    const rotate = card().getByRole('form', { name: /New credentials/ });
    await rotate.getByLabel('select.live email').fill('home@example.test');
    await rotate.getByLabel('select.live password').fill(VENDOR_PASSWORD);
    await rotate.getByRole('button', { name: 'Test and save new credentials' }).click();
    await rotate.getByRole('alert').filter({ hasText: 'rejected the email address or password' }).waitFor();
    await rotate.getByLabel('select.live password').fill(VENDOR_PASSWORD_2);
    await rotate.getByRole('button', { name: 'Test and save new credentials' }).click();
    await rotate.waitFor({ state: 'detached' });
    assert.ok(
      !(await installer.content()).includes(VENDOR_PASSWORD_2),
      'the new password is not on the page',
    );
    cloud.expireSessions();
    assert.equal(await poll(25), 'ok');

    await card().getByRole('button', { name: 'Remove' }).click();
    await card().getByRole('button', { name: 'Confirm removal' }).click();
    await installer.getByText('No vendor system connected.').waitFor();
    const latest = await hub.admin('GET', `/api/v1/nodes/${nodeId}/latest`);
    assert.equal(latest.statusCode, 200, latest.body);
    const values = latest.json().values as { metric: string; value: number }[];
    // Minute 25 imports: 2 kW of load, the last reading before the removal.
    assert.equal(values.find((v) => v.metric === 'load_w')?.value, 2000);
  });
});
