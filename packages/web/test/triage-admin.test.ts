// Issue 14 items 2–3 in a real browser against a real hub (PGlite): the installer's fleet-wide alert
// inbox (filters kept in the URL, search, acknowledge, resolve, mute, since-when on the site's
// clock, a hub refusal as a sentence), the admin's role change and password reset (the user's
// sessions end, the temporary password works once), and editing a site (time zone from the
// browser's list, coordinates, kWp, installer org; the hub's refusal beside the field). Each page
// in both layouts: no wider than the viewport, no serious axe-core violation, a screenshot.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { localDate } from '@wattfleet/protocol/zoned';
import type { Browser, Page } from 'playwright-core';
import { notifyBudgets } from '../../hub/src/budgets/budgets.service.ts';
import { startTestHub, type TestHub } from '../../hub/test/helpers/hub.ts';
import {
  accessTokenOf,
  apiGet,
  apiLogin,
  axeViolations,
  ensureBuilt,
  LAYOUTS,
  launchBrowser,
  listen,
  refreshCookieOf,
  SCREENSHOTS,
  signInAs,
} from './helpers/portal.ts';

const PASSWORD = 'correct horse battery staple 42';
// Far from both sites' zones: every absolute time shown must be the site's, not the browser's.
const BROWSER_TZ = 'America/Los_Angeles';
const HOUR = 3_600_000;

describe('alert inbox, user management and site editing in a browser against a real hub', () => {
  let hub: TestHub;
  let browser: Browser;
  let base: string;
  let installer: Page;
  let admin: Page;
  const orgs: Record<string, string> = {};
  const sites: Record<string, string> = {};
  const users: Record<string, string> = {};
  const alerts: Record<string, string> = {};
  const opened = new Date(Date.now() - 3 * HOUR - 60_000);

  const api = async (method: string, url: string, body?: unknown) => {
    const res = await hub.admin(method, url, body);
    assert.ok(res.statusCode < 300, `${method} ${url}: ${res.statusCode} ${res.body}`);
    return res.json();
  };
  const overflow = (page: Page) =>
    page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  const alertState = async (id: string) =>
    (await hub.app.hub.db.selectFrom('alerts').select('state').where('id', '=', id).executeTakeFirstOrThrow())
      .state;

  before(async () => {
    ensureBuilt();
    hub = await startTestHub('pglite');
    for (const [name, kind] of [
      ['Operator', 'operator'],
      ['Volt Crew', 'installer'],
      ['Amp Team', 'installer'],
      ['Household', 'household'],
    ] as const) {
      orgs[name] = (await api('POST', '/api/v1/orgs', { name, kind })).id;
    }
    for (const [name, timezone, installerOrgId] of [
      ['Athens Roof', 'Europe/Athens', orgs['Volt Crew']],
      ['Tokyo Barn', 'Asia/Tokyo', orgs['Volt Crew']],
      ['Hidden Shed', 'Europe/Berlin', null],
    ] as const) {
      const site = await api('POST', '/api/v1/sites', {
        orgId: orgs.Household,
        installerOrgId,
        name,
        timezone,
        latitude: 40,
        longitude: 20,
        systemKw: 5,
      });
      sites[name] = site.id;
    }
    for (const [email, role, orgId] of [
      ['admin@example.org', 'admin', orgs.Operator!],
      ['installer@example.org', 'installer', orgs['Volt Crew']!],
      ['victim@example.org', 'installer', orgs['Amp Team']!],
    ] as const) {
      users[email] = (
        await api('POST', '/api/v1/users', {
          email,
          role,
          orgId,
          password: PASSWORD,
          mustChangePassword: false,
        })
      ).id;
    }
    // Alerts as the rules raise them (rows in the alerts table): two sites of the installer, one not.
    for (const [key, site, rule, severity, state, message] of [
      ['offline', 'Athens Roof', 'node_offline', 'critical', 'open', 'Inverter node offline'],
      ['disk', 'Athens Roof', 'disk_low', 'warning', 'acknowledged', 'Disk 92 % full'],
      ['clock', 'Tokyo Barn', 'clock_drift', 'info', 'open', 'Clock off by 95 s'],
      ['flat', 'Tokyo Barn', 'pv_flat_daylight', 'warning', 'resolved', 'PV flat in daylight'],
      ['volts', 'Hidden Shed', 'voltage_out_of_range', 'critical', 'open', 'Voltage high on L1'],
    ] as const) {
      const row = await hub.app.hub.db
        .insertInto('alerts')
        .values({
          rule,
          target_type: 'site',
          target_id: sites[site]!,
          org_id: orgs.Household!,
          site_id: sites[site]!,
          node_id: null,
          severity,
          state,
          message,
          value: null,
          opened_at: opened,
          ...(state === 'resolved' ? { resolved_at: new Date(), resolved_by: 'system' } : {}),
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      alerts[key] = row.id;
    }
    base = await listen(hub.app);
    browser = await launchBrowser();
    installer = await signInAs(browser, base, 'installer@example.org', PASSWORD, 'Fleet', {
      viewport: { width: 1440, height: 900 },
      timezoneId: BROWSER_TZ,
    });
    admin = await signInAs(browser, base, 'admin@example.org', PASSWORD, 'Fleet', {
      viewport: { width: 1440, height: 900 },
      timezoneId: BROWSER_TZ,
    });
  });

  after(async () => {
    await browser?.close();
    await hub?.close();
  });

  it('installer inbox: active alerts of their sites only, filters in the URL survive a reload, search, since when on the site clock', async () => {
    await installer.getByRole('link', { name: 'Alerts' }).click();
    const inbox = installer.getByTestId('alert-inbox');
    await inbox.locator(`tr[data-id="${alerts.offline}"]`).waitFor();
    const ids = async () =>
      (
        await inbox
          .locator('tbody tr[data-id]')
          .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-id')))
      )
        .filter(Boolean)
        .sort();
    assert.deepEqual(await ids(), [alerts.offline, alerts.disk, alerts.clock].sort(), 'active, visible only');

    const row = inbox.locator(`tr[data-id="${alerts.offline}"]`);
    assert.match((await row.textContent()) ?? '', /Inverter node offline/);
    assert.equal(await row.getByTestId('alert-since').textContent(), '3 h ago');
    const athens = await installer.evaluate(
      (iso) => new Date(iso).toLocaleString(undefined, { timeZone: 'Europe/Athens' }),
      opened.toISOString(),
    );
    assert.equal(await row.getByTestId('alert-opened').textContent(), `${athens} (Europe/Athens)`);

    await installer.getByLabel('Severity').selectOption('critical');
    await installer.waitForURL(/[?&]severity=critical/);
    await inbox.locator(`tr[data-id="${alerts.disk}"]`).waitFor({ state: 'detached' });
    assert.deepEqual(await ids(), [alerts.offline]);
    await installer.reload();
    await inbox.locator(`tr[data-id="${alerts.offline}"]`).waitFor();
    assert.equal(await installer.getByLabel('Severity').inputValue(), 'critical');
    assert.deepEqual(await ids(), [alerts.offline], 'the filter came back from the URL');

    await installer.getByLabel('Severity').selectOption('');
    await installer.getByLabel('State').selectOption('');
    await installer.waitForURL(/[?&]state=all/);
    await inbox.locator(`tr[data-id="${alerts.flat}"]`).waitFor();
    assert.equal((await ids()).length, 4, 'any state: the resolved one too, never the hidden site');
    await installer.getByLabel('Site').selectOption(sites['Tokyo Barn']!);
    await inbox.locator(`tr[data-id="${alerts.offline}"]`).waitFor({ state: 'detached' });
    assert.deepEqual(await ids(), [alerts.clock, alerts.flat].sort());
    await installer.getByLabel('Search').fill('clock');
    await installer.waitForURL(/[?&]q=clock/);
    assert.deepEqual(await ids(), [alerts.clock]);
    assert.match(installer.url(), new RegExp(`site=${sites['Tokyo Barn']}`));
    await installer.screenshot({ path: join(SCREENSHOTS, 'alert-inbox-filtered.png'), fullPage: true });
  });

  it('installer acknowledges, resolves and mutes from the inbox; a change meanwhile is a sentence, not a code', async () => {
    await installer.goto(`${base}/alerts`);
    const inbox = installer.getByTestId('alert-inbox');
    await inbox.locator(`tr[data-id="${alerts.offline}"][data-state="open"]`).waitFor();
    await inbox.getByRole('button', { name: 'Acknowledge Inverter node offline' }).click();
    await inbox.locator(`tr[data-id="${alerts.offline}"][data-state="acknowledged"]`).waitFor();
    assert.equal(await alertState(alerts.offline!), 'acknowledged');
    assert.equal(await inbox.getByRole('button', { name: 'Acknowledge Inverter node offline' }).count(), 0);

    await inbox.getByRole('button', { name: 'Resolve Clock off by 95 s' }).click();
    await inbox.locator(`tr[data-id="${alerts.clock}"]`).waitFor({ state: 'detached' });
    assert.equal(await alertState(alerts.clock!), 'resolved');

    const before = Date.now();
    await installer.getByLabel('Mute for').selectOption('24');
    await inbox.getByRole('button', { name: 'Mute disk_low on Athens Roof' }).click();
    await installer.getByTestId('alert-note').filter({ hasText: 'Muted disk_low on Athens Roof' }).waitFor();
    const mute = await hub.app.hub.db
      .selectFrom('alert_mutes')
      .selectAll()
      .where('site_id', '=', sites['Athens Roof']!)
      .where('rule', '=', 'disk_low')
      .executeTakeFirstOrThrow();
    const until = new Date(mute.until).getTime();
    assert.ok(until >= before + 24 * HOUR - 60_000 && until <= Date.now() + 24 * HOUR, 'muted for 24 h');
    const audit = await apiGet<{ items: { action: string; actorId: string | null }[] }>(
      base,
      '/api/v1/audit?action=alert.*',
      await apiLogin(base, 'admin@example.org', PASSWORD),
    );
    const actions = audit.body.items
      .filter((a) => a.actorId === users['installer@example.org'])
      .map((a) => a.action);
    for (const a of ['alert.acknowledge', 'alert.resolve', 'alert.mute']) assert.ok(actions.includes(a), a);

    // Someone else resolves the disk alert while it is on screen: the click is refused (409).
    await api('POST', `/api/v1/alerts/${alerts.disk}/resolve`, {});
    await inbox.getByRole('button', { name: 'Resolve Disk 92 % full' }).click();
    const refused = installer.locator('[role="alert"][data-code="WF_CONFLICT"]');
    await refused.filter({ hasText: 'Someone changed this meanwhile' }).waitFor();
    assert.doesNotMatch((await refused.textContent()) ?? '', /WF_/);
    await inbox.locator(`tr[data-id="${alerts.disk}"]`).waitFor({ state: 'detached' });
  });

  it("admin resets a user's password (their sessions end, the temporary one must be replaced) and changes a role", async () => {
    const victim = await signInAs(browser, base, 'victim@example.org', PASSWORD, 'Fleet');
    const accessToken = accessTokenOf(victim);
    const refreshCookie = await refreshCookieOf(victim);
    await admin.getByRole('link', { name: 'Users' }).click();
    const table = admin.getByTestId('users-table');
    await table.locator('tr[data-email="victim@example.org"]').waitFor();
    admin.once('dialog', (d) => void d.accept());
    await table.getByRole('button', { name: 'Reset password of victim@example.org' }).click();
    const outcome = admin.getByTestId('user-outcome');
    await outcome.filter({ hasText: 'temporary password' }).waitFor();
    const temporary = /temporary password (\S+)/.exec((await outcome.textContent()) ?? '')?.[1];
    assert.ok(temporary, 'the temporary password is shown once');

    await victim.getByTestId('session-ended').waitFor();
    assert.equal((await apiGet(base, '/api/v1/auth/me', accessToken)).status, 401);
    const refresh = await fetch(`${base}/api/v1/auth/refresh`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie: `wf_refresh=${refreshCookie}` },
      body: '{}',
    });
    assert.ok(refresh.status === 401 || refresh.status === 403, `refresh answered ${refresh.status}`);
    await assert.rejects(apiLogin(base, 'victim@example.org', PASSWORD), /401/);
    const me = await apiGet<{ mustChangePassword: boolean }>(
      base,
      '/api/v1/auth/me',
      await apiLogin(base, 'victim@example.org', temporary),
    );
    assert.equal(me.body.mustChangePassword, true);
    await victim.context().close();

    await table.getByLabel('Role of victim@example.org').selectOption('viewer');
    await outcome.filter({ hasText: 'victim@example.org is now viewer' }).waitFor();
    const stored = await api('GET', `/api/v1/users/${users['victim@example.org']}`);
    assert.equal(stored.role, 'viewer');
    // An admin cannot demote themselves: the hub refuses, the page says why and keeps the role.
    await table.getByLabel('Role of admin@example.org').selectOption('viewer');
    await admin.locator('[role="alert"][data-code="WF_CONFLICT"]').waitFor();
    await admin.waitForFunction(
      () =>
        (document.querySelector('[aria-label="Role of admin@example.org"]') as HTMLSelectElement | null)
          ?.value === 'admin',
    );
    const audit = await apiGet<{ items: { action: string; targetId: string | null }[] }>(
      base,
      `/api/v1/audit?targetType=user`,
      accessTokenOf(admin),
    );
    const mine = audit.body.items
      .filter((a) => a.targetId === users['victim@example.org'])
      .map((a) => a.action);
    assert.ok(mine.includes('user.reset_password') && mine.includes('user.update'), mine.join());
    await admin.screenshot({ path: join(SCREENSHOTS, 'users-reset-role.png'), fullPage: true });
  });

  it('admin edits a site: zone from the list, coordinates, kWp, installer; the hub refuses a bad latitude beside the field', async () => {
    await admin.goto(`${base}/sites/${sites['Tokyo Barn']}`);
    const form = admin.getByTestId('site-edit');
    await form.waitFor();
    const zones = await form.getByLabel('Time zone').locator('option').count();
    assert.equal(zones, await admin.evaluate(() => Intl.supportedValuesOf('timeZone').length));
    await form.getByLabel('Time zone').selectOption('Asia/Seoul');
    await form.getByLabel(/Latitude/).fill('37.57');
    await form.getByLabel(/Longitude/).fill('126.98');
    await form.getByLabel('System size (kWp)').fill('7.2');
    await form.getByLabel('Installer').selectOption(orgs['Amp Team']!);
    await form.getByRole('button', { name: 'Save site' }).click();
    await form.getByRole('status').filter({ hasText: 'Site saved.' }).waitFor();
    const stored = await api('GET', `/api/v1/sites/${sites['Tokyo Barn']}`);
    assert.equal(stored.timezone, 'Asia/Seoul');
    assert.equal(stored.latitude, 37.57);
    assert.equal(stored.longitude, 126.98);
    assert.equal(stored.system_kw, 7.2);
    assert.equal(stored.installer_org_id, orgs['Amp Team']);
    await admin.getByText('Asia/Seoul ·').first().waitFor();

    await form.getByLabel(/Latitude/).fill('123');
    await form.getByRole('button', { name: 'Save site' }).click();
    await form.getByTestId('site-latitude-problem').waitFor();
    await form.locator('[role="alert"][data-code="WF_VALIDATION"]').waitFor();
    assert.equal(await form.getByLabel(/Latitude/).getAttribute('aria-invalid'), 'true');
    assert.equal((await api('GET', `/api/v1/sites/${sites['Tokyo Barn']}`)).latitude, 37.57, 'nothing saved');
    await form.getByLabel(/Latitude/).fill('north');
    await form.getByRole('button', { name: 'Save site' }).click();
    await form.getByTestId('site-latitude-problem').filter({ hasText: 'Enter a number' }).waitFor();
    await admin.screenshot({ path: join(SCREENSHOTS, 'site-edit-refused.png'), fullPage: true });
  });

  it('an installer edits kWp of a site they install but is not offered the installer choice', async () => {
    await installer.goto(`${base}/sites/${sites['Athens Roof']}`);
    const form = installer.getByTestId('site-edit');
    await form.waitFor();
    assert.equal(await form.getByLabel('Installer').count(), 0);
    await form.getByTestId('site-installer').filter({ hasText: "the site's owner decides" }).waitFor();
    await form.getByLabel('System size (kWp)').fill('9.9');
    await form.getByRole('button', { name: 'Save site' }).click();
    await form.getByRole('status').filter({ hasText: 'Site saved.' }).waitFor();
    assert.equal((await api('GET', `/api/v1/sites/${sites['Athens Roof']}`)).system_kw, 9.9);
  });

  it('an installer sets a monthly budget: spent and forecast from the hub, the 80 % notice listed once sent, a bad amount refused beside the field', async () => {
    // A priced day of this month at the site: a stand-in for the analytics job's output.
    await hub.app.hub.db
      .insertInto('site_daily')
      .values({
        site_id: sites['Athens Roof']!,
        day: localDate(Date.now(), 'Europe/Athens'),
        solar_wh: 0,
        load_wh: 0,
        import_wh: 0,
        export_wh: 0,
        charge_wh: 0,
        discharge_wh: 0,
        solar_to_load_wh: 0,
        battery_solar_to_load_wh: 0,
        solar_export_wh: 0,
        coverage: 1,
        counter_resets: 0,
        battery_solar_wh: 0,
        battery_grid_wh: 0,
        currency: 'EUR',
        cost: 85,
      })
      .execute();
    await api('POST', `/api/v1/orgs/${orgs.Household}/notification-channels`, {
      kind: 'email',
      target: 'household@example.test',
    });
    await installer.goto(`${base}/sites/${sites['Athens Roof']}`);
    const card = installer.getByTestId('budget');
    await card.getByTestId('budget-spent').filter({ hasText: '85.00 EUR' }).waitFor();
    await card.getByLabel(/Budget per month/).fill('-3');
    await card.getByRole('button', { name: 'Save budget' }).click();
    await card.getByTestId('budget-problem').waitFor();
    await card.locator('[role="alert"][data-code="WF_VALIDATION"]').waitFor();
    await card.getByLabel(/Budget per month/).fill('100');
    await card.getByRole('button', { name: 'Save budget' }).click();
    await card.getByRole('status').filter({ hasText: 'Budget saved.' }).waitFor();
    await card.getByTestId('budget-spent').filter({ hasText: '85.00 EUR (85 %)' }).waitFor();
    const status = await api('GET', `/api/v1/sites/${sites['Athens Roof']}/budget`);
    assert.equal(status.monthlyAmount, 100);
    // The forecast moves with the clock (elapsed share of the month): the page's and a later API
    // answer agree to well within a per mille, and both extrapolate what was spent.
    const shown = Number(
      /^([\d.]+) EUR/.exec((await card.getByTestId('budget-forecast').textContent()) ?? '')?.[1],
    );
    assert.ok(shown >= 85, `forecast ${shown}`);
    assert.ok(Math.abs(shown - status.forecast) <= status.forecast * 1e-3, `${shown} vs ${status.forecast}`);
    assert.equal(
      await card.getByTestId('budget-month').textContent(),
      localDate(Date.now(), 'Europe/Athens').slice(0, 7),
    );
    assert.equal(await card.getByTestId('budget-notified').textContent(), 'nothing yet');
    assert.equal(await notifyBudgets(hub.app.hub), 1);
    assert.equal(await notifyBudgets(hub.app.hub), 0, 'once per month');
    await installer.reload();
    await installer.getByTestId('budget-notified').filter({ hasText: '80 %' }).waitFor();
    await installer.screenshot({ path: join(SCREENSHOTS, 'site-budget.png'), fullPage: true });
  });

  for (const layout of LAYOUTS) {
    it(`${layout.name}: inbox, users and site edit fit the screen, no serious axe-core violation`, async () => {
      const check = async (page: Page, what: string) => {
        assert.ok((await overflow(page)) <= 0, `${layout.name} ${what}: wider than the viewport`);
        assert.deepEqual(await axeViolations(page), [], `${layout.name} ${what}`);
        await page.screenshot({ path: join(SCREENSHOTS, `${what}-${layout.name}.png`), fullPage: true });
      };
      const setup = { viewport: layout.viewport, colorScheme: layout.colorScheme, timezoneId: BROWSER_TZ };
      const inst = await signInAs(browser, base, 'installer@example.org', PASSWORD, 'Fleet', setup);
      await inst.goto(`${base}/alerts?state=all`);
      await inst.getByTestId('alert-inbox').locator(`tr[data-id="${alerts.offline}"]`).waitFor();
      await check(inst, 'alert-inbox');
      await inst.context().close();
      const adm = await signInAs(browser, base, 'admin@example.org', PASSWORD, 'Fleet', setup);
      await adm.goto(`${base}/users`);
      await adm.getByTestId('users-table').locator('tr[data-email="victim@example.org"]').waitFor();
      await check(adm, 'users');
      await adm.goto(`${base}/sites/${sites['Athens Roof']}`);
      await adm.getByTestId('site-edit').waitFor();
      await adm.locator('#site-settings').scrollIntoViewIfNeeded();
      await check(adm, 'site-edit');
      await adm.context().close();
    });
  }
});
