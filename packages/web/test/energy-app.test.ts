// Owner energy app: today tiles, day navigation and the energy-distribution Sankey, seen from a
// browser in another zone than the site's (Athens site, Los Angeles browser). Real hub (PGlite),
// real ingest; data built from the site's local midnight; Chromium at 1440×900 and 390×844.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { addDays, localDate, localDayBounds, localParts } from '@wattfleet/protocol/zoned';
import type { Browser } from 'playwright-core';
import { batchId, createSite, startTestHub, type TestHub, TestNode } from '../../hub/test/helpers/hub.ts';
import {
  apiGet,
  apiLogin,
  ensureBuilt,
  LAYOUTS,
  launchBrowser,
  listen,
  SCREENSHOTS,
  signInAs,
  testNow,
} from './helpers/portal.ts';

const PASSWORD = 'correct horse battery staple 42';
const SITE_TZ = 'Europe/Athens';
const BROWSER_TZ = 'America/Los_Angeles';
const MIN = 60_000;
const STEP = 5 * MIN;

type S = { metric: string; ts: number; value: number };

/** Yesterday: solar 4 kW 08–16 charging the battery 2 kW, battery gives 1 kW 16–24, load 1 kW. */
function batteryDay(from: number, to: number): S[] {
  const out: S[] = [];
  for (let t = from; t < to; t += STEP) {
    const p = localParts(t, SITE_TZ);
    const h = p.hour + p.minute / 60;
    const solar = h >= 8 && h < 16 ? 4000 : 0;
    const battery = h >= 8 && h < 16 ? -2000 : h >= 16 ? 1000 : 0;
    out.push(
      { metric: 'solar_w', ts: t, value: solar },
      { metric: 'load_w', ts: t, value: 1000 },
      { metric: 'battery_w', ts: t, value: battery },
      { metric: 'grid_w', ts: t, value: 1000 - solar - battery },
    );
  }
  return out;
}

describe('owner energy app seen from a browser in another zone', () => {
  let hub: TestHub;
  let browser: Browser;
  let base: string;
  let siteId: string;
  const now = testNow(SITE_TZ);
  const today = localDate(now, SITE_TZ);
  const yesterday = addDays(today, -1);
  const [midnight] = localDayBounds(today, SITE_TZ);
  // The node was last heard from twenty minutes ago: the app must say so, not animate.
  const lastSample = now - 20 * MIN;

  before(async () => {
    ensureBuilt();
    hub = await startTestHub('pglite');
    const site = await createSite(hub, { name: 'Athens Battery House', timezone: SITE_TZ });
    siteId = site.siteId;
    const node = await TestNode.enroll(hub, siteId);
    const [yStart, yEnd] = localDayBounds(yesterday, SITE_TZ);
    const samples: S[] = batteryDay(yStart, yEnd);
    // Today: a 0.5 kW load from the grid since midnight, up to the last sample.
    for (let t = Math.max(midnight, yEnd); t <= lastSample; t += STEP)
      samples.push({ metric: 'load_w', ts: t, value: 500 }, { metric: 'grid_w', ts: t, value: 500 });
    samples.push(
      { metric: 'load_w', ts: lastSample, value: 500 },
      { metric: 'grid_w', ts: lastSample, value: 500 },
      { metric: 'solar_w', ts: lastSample, value: 0 },
    );
    for (let i = 0; i < samples.length; i += 2000) {
      const res = await node.send('/api/v1/ingest/telemetry', {
        batchId: batchId('e'),
        samples: samples.slice(i, i + 2000),
      });
      assert.equal(res.statusCode, 200, res.body);
    }
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

  for (const layout of LAYOUTS) {
    it(`${layout.name}: tiles match the API, previous day shows yesterday's Sankey, stale node, no overflow`, async () => {
      const page = await signInAs(browser, base, 'owner@example.org', PASSWORD, 'Athens Battery House', {
        viewport: layout.viewport,
        colorScheme: layout.colorScheme,
        timezoneId: BROWSER_TZ,
        now,
      });
      const token = await apiLogin(base, 'owner@example.org', PASSWORD);

      // Today tiles are the hub's figures for the site's today.
      const day = await apiGet<{ coverage: number; loadKwh: number; importKwh: number }[]>(
        base,
        `/api/v1/sites/${siteId}/daily?from=${today}&to=${today}`,
        token,
      );
      assert.equal(day.status, 200);
      const [t] = day.body;
      if (t && t.coverage > 0) {
        const tiles = page.getByTestId('today-tiles');
        await tiles.waitFor();
        assert.equal(
          await tiles.locator('[data-tile="used"] dd').textContent(),
          `${t.loadKwh.toFixed(1)} kWh`,
        );
        assert.equal(
          await tiles.locator('[data-tile="imported"] dd').textContent(),
          `${t.importKwh.toFixed(1)} kWh`,
        );
      } else await page.getByTestId('today-empty').waitFor();

      // The distribution opens on the site's today; previous goes to the site's yesterday.
      const dist = page.getByTestId('energy-distribution');
      const dayInput = dist.getByLabel('Day', { exact: true });
      assert.equal(await dayInput.inputValue(), today, "the site's today, not the browser's");
      await dist.getByRole('button', { name: 'Previous day' }).click();
      assert.equal(await dayInput.inputValue(), yesterday);
      const legend = dist.locator('.sankey-legend li');
      await dist.locator('[data-flow="solarToBatteryKwh"]').waitFor();
      const flows = Object.fromEntries(
        await Promise.all(
          (await legend.all()).map(
            async (li) =>
              [await li.getAttribute('data-flow'), Number(await li.getAttribute('data-kwh'))] as const,
          ),
        ),
      ) as Record<string, number>;
      const cmp = await apiGet<{ current: { solarKwh: number; loadKwh: number } }>(
        base,
        `/api/v1/sites/${siteId}/comparison?from=${yesterday}&to=${yesterday}`,
        token,
      );
      const f = (k: string) => flows[k] ?? 0;
      const close = (a: number, b: number, what: string) =>
        assert.ok(Math.abs(a - b) < 0.002, `${what}: ${a} ≠ ${b}`);
      close(
        f('solarToHomeKwh') + f('solarToBatteryKwh') + f('solarToGridKwh'),
        cmp.body.current.solarKwh,
        'solar out',
      );
      close(
        f('solarToHomeKwh') + f('gridToHomeKwh') + f('batteryToHomeKwh'),
        cmp.body.current.loadKwh,
        'home in',
      );
      close(f('solarToBatteryKwh'), 16, 'solar → battery');
      close(f('batteryToHomeKwh'), 8, 'battery → home');
      // Nothing before yesterday: the comparison says so rather than showing +32 kWh.
      await dist.getByTestId('period-deltas').filter({ hasText: 'no data before' }).waitFor();
      await page.screenshot({ path: join(SCREENSHOTS, `energy-app-${layout.name}.png`), fullPage: true });

      // Next comes back to today; there is no day after today.
      await dist.getByRole('button', { name: 'Next day' }).click();
      assert.equal(await dayInput.inputValue(), today);
      assert.ok(await dist.getByRole('button', { name: 'Next day' }).isDisabled());

      // The node went quiet twenty minutes ago: stale, and nothing animates as live.
      await page.getByTestId('flow-stale').filter({ hasText: 'Not live' }).waitFor();
      assert.equal(await page.locator('.power-flow [data-animated="true"]').count(), 0);

      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 0, `page is ${overflow} px wider than the viewport`);
      await page.context().close();
    });
  }
});
