// Charts and day boundaries in the site's time zone, seen from a browser in another zone: an
// Athens site viewed from a Los Angeles browser (10 h apart), with the page's clock pinned at the
// test's "now" (WATTFLEET_TEST_NOW=00:05 / 23:55 runs it at the site's day edges). Real hub
// (PGlite), real ingest, Chromium at 1440×900 (light) and 390×844 (dark).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { addDays, localDate, localDayBounds } from '@wattfleet/protocol/zoned';
import type { Browser, Locator } from 'playwright-core';
import { batchId, createSite, startTestHub, type TestHub, TestNode } from '../../hub/test/helpers/hub.ts';
import { ensureBuilt, launchBrowser, listen, SCREENSHOTS, signInAs, testNow } from './helpers/portal.ts';

const PASSWORD = 'correct horse battery staple 42';
const SITE_TZ = 'Europe/Athens';
const BROWSER_TZ = 'America/Los_Angeles';
const MIN = 60_000;

/** "HH:MM" in a zone, by Intl directly (not the portal's helper). */
const hhmm = (ms: number, timeZone: string) =>
  new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(
    ms,
  );

/** Polls a locator's text until it passes `ok` (10 s), returning the last text seen. */
async function waitForText(loc: Locator, ok: (text: string) => boolean): Promise<string> {
  const deadline = Date.now() + 10_000;
  let text = '';
  while (Date.now() < deadline) {
    text = ((await loc.textContent()) ?? '').trim();
    if (ok(text)) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return text;
}

/** "Europe/Athens, UTC+2" as Intl names the offset at that instant. */
function expectedZoneLabel(ms: number): string {
  const name = new Intl.DateTimeFormat('en-US', { timeZone: SITE_TZ, timeZoneName: 'shortOffset' })
    .formatToParts(ms)
    .find((p) => p.type === 'timeZoneName')!.value;
  return `${SITE_TZ}, ${name.replace('GMT', 'UTC')}`;
}

describe('site-time charts seen from a browser in another zone', () => {
  let hub: TestHub;
  let browser: Browser;
  let base: string;
  const now = testNow(SITE_TZ);
  const today = localDate(now, SITE_TZ);
  const yesterday = addDays(today, -1);
  const [midnight] = localDayBounds(today, SITE_TZ);
  // Forty one-minute samples before "now" (across midnight when now is 00:05) and a solar noon
  // block yesterday: 3 kW for an hour at the node's 10 s interval, 3 kWh.
  const recent = Array.from({ length: 40 }, (_, i) => now - (40 - i) * MIN);
  const noon = localDayBounds(yesterday, SITE_TZ)[0] + 12 * 60 * MIN;
  const noonBlock = Array.from({ length: 361 }, (_, i) => noon + i * 10_000);

  before(async () => {
    ensureBuilt();
    hub = await startTestHub('pglite');
    const site = await createSite(hub, {
      name: 'Athens Terrace',
      timezone: SITE_TZ,
      latitude: 38,
      longitude: 23.7,
    });
    const node = await TestNode.enroll(hub, site.siteId);
    const samples = [
      ...noonBlock.flatMap((ts) => [
        { metric: 'solar_w', ts, value: 3000 },
        { metric: 'load_w', ts, value: 1000 },
      ]),
      ...recent.flatMap((ts, i) => [
        { metric: 'solar_w', ts, value: 2000 + i },
        { metric: 'load_w', ts, value: 800 },
      ]),
    ];
    const res = await node.send('/api/v1/ingest/telemetry', { batchId: batchId(), samples });
    assert.equal(res.statusCode, 200, res.body);
    const user = await hub.admin('POST', '/api/v1/users', {
      email: 'owner@example.org',
      role: 'owner',
      orgId: site.orgId,
      password: PASSWORD,
      mustChangePassword: false,
    });
    assert.equal(user.statusCode, 201, user.body);
    base = await listen(hub.app);
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await hub?.close();
  });

  const layouts = [
    { name: 'desktop', viewport: { width: 1440, height: 900 }, colorScheme: 'light' as const },
    { name: 'phone', viewport: { width: 390, height: 844 }, colorScheme: 'dark' as const },
  ];

  for (const layout of layouts) {
    it(`${layout.name}: the day chart starts at the site's midnight, in site time, labelled with its zone`, async () => {
      const page = await signInAs(browser, base, 'owner@example.org', PASSWORD, 'Athens Terrace', {
        viewport: layout.viewport,
        colorScheme: layout.colorScheme,
        timezoneId: BROWSER_TZ,
        now,
      });
      assert.equal(
        await page.evaluate(() => Intl.DateTimeFormat().resolvedOptions().timeZone),
        BROWSER_TZ,
        'the browser really is in another zone',
      );
      const chart = page.getByTestId('site-chart');
      await chart.locator('.chart canvas').waitFor();
      assert.equal(await chart.getByTestId('chart-zone').textContent(), `Times in ${expectedZoneLabel(now)}`);
      const plot = chart.locator('.chart');
      assert.equal(await plot.getAttribute('data-from'), new Date(midnight).toISOString(), "site's midnight");
      const sinceMidnight = recent.filter((ts) => ts >= midnight).length;
      assert.equal(
        Number(await plot.getAttribute('data-points')),
        sinceMidnight,
        'only samples since midnight',
      );

      // Hovering just right of the newest sample shows a sample's time on the site's clock. Placed
      // from the axis range, not "the right end" (at 23:55 the newest sample sits a pixel from the
      // end of the day). On a phone a pixel is ~6 minutes, so the one-minute samples share pixels:
      // the legend shows one of the newest few, and it must be one of them in site time.
      const over = chart.locator('.u-over');
      const box = (await over.boundingBox())!;
      const from = Date.parse((await plot.getAttribute('data-from'))!);
      const to = Date.parse((await plot.getAttribute('data-to'))!);
      const newestX = ((recent.at(-1)! - from) / (to - from)) * box.width;
      await over.hover({ position: { x: Math.min(newestX + 1, box.width - 0.5), y: box.height / 2 } });
      const legendTime = chart.locator('.u-legend .u-series').first().locator('.u-value');
      const msPerPx = (to - from) / box.width;
      const near = recent.filter((ts) => ts >= midnight && recent.at(-1)! - ts <= 2 * msPerPx + MIN);
      const siteTimes = near.map((ts) => hhmm(ts, SITE_TZ));
      const shown = await waitForText(legendTime, (t) => siteTimes.includes(t));
      assert.ok(siteTimes.includes(shown), `legend ${shown} is one of ${siteTimes.join(', ')}`);
      assert.ok(
        !near.some((ts) => hhmm(ts, BROWSER_TZ) === shown),
        'the legend is on the site clock, not the browser clock',
      );

      // Axis labels are drawn in the theme's text colour (light on dark, dark on light).
      const lum = await page.evaluate(() => {
        const c = document.querySelector<HTMLCanvasElement>('[data-testid="site-chart"] .chart canvas')!;
        const strip = Math.round(40 * devicePixelRatio);
        const px = c.getContext('2d')!.getImageData(0, c.height - strip, c.width, strip).data;
        let min = 255;
        let max = 0;
        for (let i = 0; i < px.length; i += 4) {
          if (px[i + 3]! < 200) continue;
          const l = 0.2126 * px[i]! + 0.7152 * px[i + 1]! + 0.0722 * px[i + 2]!;
          min = Math.min(min, l);
          max = Math.max(max, l);
        }
        return { min, max };
      });
      if (layout.colorScheme === 'dark')
        assert.ok(lum.max > 180, `light labels on dark: ${JSON.stringify(lum)}`);
      else assert.ok(lum.min < 80, `dark labels on light: ${JSON.stringify(lum)}`);
      assert.ok(
        await page.evaluate(() => document.documentElement.scrollWidth <= innerWidth),
        'no sideways scroll',
      );
      await page.screenshot({ path: join(SCREENSHOTS, `site-time-day-${layout.name}.png`), fullPage: true });

      // Yesterday is one click away and holds exactly yesterday's samples (the site's day).
      await chart.getByRole('button', { name: 'Previous day' }).click();
      await chart.locator(`[data-testid="period-title"][data-from="${yesterday}"]`).waitFor();
      const [yStart, yEnd] = localDayBounds(yesterday, SITE_TZ);
      const inYesterday = [...noonBlock, ...recent].filter((ts) => ts >= yStart && ts < yEnd).length;
      await chart
        .locator(`.chart[data-points="${inYesterday}"][data-from="${new Date(yStart).toISOString()}"]`)
        .waitFor();
      assert.equal(await chart.getByRole('button', { name: 'Next day' }).isDisabled(), false);
      await chart.getByRole('button', { name: 'Next day' }).click();
      await chart.locator(`[data-testid="period-title"][data-from="${today}"]`).waitFor();
      assert.equal(
        await chart.getByRole('button', { name: 'Next day' }).isDisabled(),
        true,
        'no future days',
      );

      // A day before the install, picked in the date picker: "no data", not an empty 0 kW chart.
      const before = addDays(today, -3);
      await chart.getByLabel('Date').fill(before);
      await chart.locator(`[data-testid="period-title"][data-from="${before}"]`).waitFor();
      await chart.getByTestId('chart-empty').waitFor();
      await page.context().close();
    });
  }

  it('week, month and year: grouped kWh bars per site day and month, "no data" before the install, a loading state', async () => {
    const page = await signInAs(browser, base, 'owner@example.org', PASSWORD, 'Athens Terrace', {
      viewport: { width: 1440, height: 900 },
      timezoneId: BROWSER_TZ,
      now,
    });
    const chart = page.getByTestId('site-chart');
    await chart.locator('.chart canvas').waitFor();
    // Hold the week's answer: the day chart's kW must not be redrawn as the week's kWh meanwhile.
    let release!: () => void;
    const held = new Promise<void>((r) => {
      release = r;
    });
    await page.route('**/api/v1/sites/*/daily?*', async (route) => {
      await held;
      await route.continue();
    });
    await chart.getByRole('tab', { name: 'Week' }).click();
    await chart.getByTestId('chart-loading').waitFor();
    assert.equal(await chart.locator('.chart').count(), 0, 'no chart of another period while loading');
    release();
    const rows = chart.locator('[data-testid="chart-table"] tbody tr');
    await rows.first().waitFor({ state: 'attached' });
    assert.equal(await rows.count(), 7, 'one group per day of the week');
    const week = (await chart.getByTestId('period-title').getAttribute('data-from'))!;
    for (let i = 0; i < 7; i++) {
      const day = addDays(week, i);
      const row = rows.nth(i);
      assert.equal(
        await row.getAttribute('data-start'),
        new Date(localDayBounds(day, SITE_TZ)[0]).toISOString(),
      );
      const solar = (await row.locator('[data-flow="solarKwh"]').textContent())!;
      if (day === yesterday) {
        // 3 kWh at noon, plus up to 40 minutes at ~2 kW when "now" is just after midnight.
        assert.ok(Number(solar) >= 2.9 && Number(solar) <= 4.5, `yesterday's solar ${solar}`);
      } else if (day === today) {
        assert.notEqual(solar, 'no data', 'today has samples');
      } else {
        assert.equal(solar, 'no data', `${day} is before the install or in the future`);
      }
    }
    await page.screenshot({ path: join(SCREENSHOTS, 'site-time-week.png'), fullPage: true });

    await chart.getByRole('tab', { name: 'Year' }).click();
    const months = chart.locator('[data-testid="chart-table"] tbody tr');
    await chart.locator('[data-testid="period-title"][data-from$="-01-01"]').waitFor();
    await months.nth(11).waitFor({ state: 'attached' });
    assert.equal(await months.count(), 12, 'twelve months, on a month axis');
    const withData = new Set([today.slice(0, 7), yesterday.slice(0, 7)]);
    const year = today.slice(0, 4);
    for (let m = 1; m <= 12; m++) {
      const month = `${year}-${String(m).padStart(2, '0')}`;
      const solar = (await months
        .nth(m - 1)
        .locator('[data-flow="solarKwh"]')
        .textContent())!;
      if (withData.has(month)) assert.notEqual(solar, 'no data', month);
      else assert.equal(solar, 'no data', `${month} has no measurement: "no data", not 0.0 kWh`);
    }
    await page.screenshot({ path: join(SCREENSHOTS, 'site-time-year.png'), fullPage: true });
    await page.context().close();
  });
});
