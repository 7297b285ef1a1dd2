// The tariff editor (issue 14.2), in Chromium against a real hub (PGlite): an installer-side
// admin sets a site's first tariff with a weekday peak period, sees the hub refuse a bad currency
// by field, previews a weekday and a Saturday (rates and an example day's cost computed by hand
// below), saves, and the hub holds exactly that definition; then the page is viewed on a phone in
// dark mode (fits, no serious axe-core violations).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { createSite, type Fixture, startTestHub, type TestHub } from '../../hub/test/helpers/hub.ts';
import {
  axeViolations,
  ensureBuilt,
  launchBrowser,
  listen,
  SCREENSHOTS,
  signInAs,
} from './helpers/portal.ts';

const PASSWORD = 'correct horse battery staple 42';

describe('tariff editor in a browser', () => {
  let hub: TestHub;
  let browser: Browser;
  let base: string;
  let site: Fixture;

  before(async () => {
    ensureBuilt();
    hub = await startTestHub('pglite');
    const operator = await hub.admin('POST', '/api/v1/orgs', { name: 'Operator', kind: 'operator' });
    const user = await hub.admin('POST', '/api/v1/users', {
      email: 'admin@example.org',
      role: 'admin',
      orgId: operator.json().id,
      password: PASSWORD,
      mustChangePassword: false,
    });
    assert.equal(user.statusCode, 201, user.body);
    site = await createSite(hub, { name: 'Tariff Terrace', timezone: 'Europe/Madrid' });
    base = await listen(hub.app);
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await hub?.close();
  });

  it('sets a time-of-use tariff with a preview, refusals shown by field, saved as typed', async () => {
    const page = await signInAs(browser, base, 'admin@example.org', PASSWORD, 'Fleet');
    await page.goto(`${base}/sites/${site.siteId}`);
    const card = page.getByTestId('tariffs');
    await card.getByText('No tariff yet').waitFor();
    await card.getByRole('button', { name: 'Set a tariff' }).click();

    const form = card.getByRole('form', { name: 'New tariff version' });
    await form.getByLabel('Currency').fill('EU');
    await form.getByLabel('Import per kWh (standard)').fill('0.30');
    await form.getByLabel('Export per kWh').fill('0.08');
    await form.getByLabel('Daily charge').fill('0.5');
    await form.getByRole('button', { name: 'Add a period' }).click();
    const period = card.getByTestId('tariff-period');
    await period.getByLabel('Name').fill('Peak');
    await period.getByLabel('From').fill('17:00');
    await period.getByLabel('To').fill('21:00');
    await period.getByLabel('Rate per kWh').fill('0.45');
    for (const d of ['Mon', 'Tue', 'Wed', 'Thu', 'Fri']) await period.getByLabel(d, { exact: true }).check();

    // The hub refuses the currency and says which field.
    await form.getByRole('button', { name: 'Save version' }).click();
    const problems = card.getByTestId('error-problems');
    await problems.waitFor();
    assert.match((await problems.textContent()) ?? '', /\/body\/definition\/currency/);

    // Preview a Wednesday and a Saturday (2026-06-03 and 2026-06-06).
    await form.getByLabel('Currency').fill('EUR');
    const preview = card.getByTestId('tariff-preview');
    await preview.getByLabel('Preview day').fill('2026-06-03');
    const segments = async () =>
      (await preview.locator('ul.segments li').allTextContents()).map((t) => t.replace(/\s+/g, ' ').trim());
    assert.deepEqual(await segments(), [
      '00:00–17:00 €0.30/kWh standard',
      '17:00–21:00 €0.45/kWh Peak',
      '21:00–24:00 €0.30/kWh standard',
    ]);
    // 20 h × 1 kWh × 0.30 + 4 h × 1 kWh × 0.45 − 5 kWh × 0.08 + 0.50 = 7.90
    assert.match((await preview.getByTestId('tariff-example').textContent()) ?? '', /costs €7\.90/);
    await preview.getByLabel('Preview day').fill('2026-06-06');
    assert.deepEqual(await segments(), ['00:00–24:00 €0.30/kWh standard']);

    await form.getByRole('button', { name: 'Save version' }).click();
    await card.getByTestId('tariff-saved').waitFor();
    // The list reloads after the save message: wait for the row, do not count too early.
    const row = card.getByTestId('tariff-versions').locator('tbody tr');
    await row.first().waitFor();
    assert.equal(await row.count(), 1);
    assert.match((await row.textContent()) ?? '', /\(in force\).*€0\.30\/kWh.*€0\.08\/kWh/);

    const stored = await hub.admin('GET', `/api/v1/sites/${site.siteId}/tariffs`);
    assert.equal(stored.statusCode, 200, stored.body);
    const [version] = stored.json();
    assert.deepEqual(version.definition, {
      currency: 'EUR',
      importRate: 0.3,
      exportRate: 0.08,
      dailyCharge: 0.5,
      periods: [{ name: 'Peak', from: '17:00', to: '21:00', rate: 0.45, weekdays: [1, 2, 3, 4, 5] }],
    });
    await page.screenshot({ path: join(SCREENSHOTS, 'tariff-editor-desktop-light.png'), fullPage: true });
    await page.context().close();
  });

  it('on a phone in dark mode: the versions and a new version form fit, no serious axe violations', async () => {
    const page = await signInAs(browser, base, 'admin@example.org', PASSWORD, 'Fleet', {
      viewport: { width: 390, height: 844 },
      colorScheme: 'dark',
    });
    await page.goto(`${base}/sites/${site.siteId}`);
    const card = page.getByTestId('tariffs');
    await card.getByTestId('tariff-versions').waitFor();
    await card.getByRole('button', { name: 'New version from the current tariff' }).click();
    // The form starts from the tariff in force.
    assert.equal(await card.getByLabel('Import per kWh (standard)').inputValue(), '0.3');
    assert.equal(await card.getByTestId('tariff-period').count(), 1);
    const width = await page.evaluate(() => ({
      scroll: document.documentElement.scrollWidth,
      inner: window.innerWidth,
    }));
    assert.ok(width.scroll <= width.inner, `fits the phone: ${JSON.stringify(width)}`);
    assert.deepEqual(await axeViolations(page), []);
    await page.screenshot({ path: join(SCREENSHOTS, 'tariff-editor-phone-dark.png'), fullPage: true });
    await page.context().close();
  });
});
