// Owner energy app: today tiles, day/week/month/year navigation of the energy-distribution card
// (Sankey, cost, savings and CO₂ avoided with the change from the period before), and the grid
// CO₂ intensity set through the site settings (a refusal shown by field, then saved), seen from a
// browser in another zone than the site's (Athens site, Los Angeles browser). Real hub (PGlite),
// real ingest, state set through the API only; data built from the site's local midnight;
// Chromium at 1440×900 light and 390×844 dark, axe-core.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { addDays, localDate, localDayBounds, localParts } from '@wattfleet/protocol/zoned';
import type { Browser } from 'playwright-core';
import { batchId, createSite, startTestHub, type TestHub, TestNode } from '../../hub/test/helpers/hub.ts';
import {
  apiGet,
  apiLogin,
  axeViolations,
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

/**
 * The day before yesterday: a 1 kW load from the grid all day, solar and battery reading 0 (24 kWh
 * import). The solar and battery series report all day: a series that only starts the next day
 * would leave this day at coverage 0 ("no data") in the hub's day computation.
 */
function gridDay(from: number, to: number): S[] {
  const out: S[] = [];
  for (let t = from; t < to; t += STEP)
    out.push(
      { metric: 'solar_w', ts: t, value: 0 },
      { metric: 'load_w', ts: t, value: 1000 },
      { metric: 'battery_w', ts: t, value: 0 },
      { metric: 'grid_w', ts: t, value: 1000 },
    );
  return out;
}

/** Monday of the ISO week of a calendar day (YYYY-MM-DD), by plain UTC date arithmetic. */
function mondayOf(day: string): string {
  const dow = new Date(`${day}T00:00:00Z`).getUTCDay();
  return addDays(day, -((dow + 6) % 7));
}

const lastOfMonth = (month: string) => {
  const [y, m] = month.split('-').map(Number) as [number, number];
  return new Date(Date.UTC(y, m, 0)).toISOString().slice(0, 10);
};
const prevMonth = (month: string) => {
  const [y, m] = month.split('-').map(Number) as [number, number];
  return new Date(Date.UTC(y, m - 2, 1)).toISOString().slice(0, 7);
};

// CO₂ by hand at 250 g/kWh. Yesterday: solar 32 kWh = 8 to the home + 16 into the battery + 8
// exported, and the battery gives 8 kWh of that solar back to the home: 24 kWh displaced × 250 g
// = 6.0 kg. The day before yesterday (no solar) and today (grid only): 0 kg.
const INTENSITY = 250;
const CO2_YESTERDAY = '6.0 kg';

type Period = {
  from: string;
  to: string;
  daysWithData: number;
  solarKwh: number;
  loadKwh: number;
  cost: number | null;
  savings: number | null;
  currency: string | null;
  co2AvoidedKg: number | null;
};
type Cmp = { current: Period; previous: Period; changePct: Record<string, number | null> };

describe('owner energy app seen from a browser in another zone', () => {
  let hub: TestHub;
  let browser: Browser;
  let base: string;
  let siteId: string;
  const now = testNow(SITE_TZ);
  const today = localDate(now, SITE_TZ);
  const yesterday = addDays(today, -1);
  const dayBefore = addDays(today, -2);
  const [midnight] = localDayBounds(today, SITE_TZ);
  // The node was last heard from twenty minutes ago: the app must say so, not animate.
  const lastSample = now - 20 * MIN;

  before(async () => {
    ensureBuilt();
    hub = await startTestHub('pglite');
    const site = await createSite(hub, { name: 'Athens Battery House', timezone: SITE_TZ });
    siteId = site.siteId;
    // A flat tariff from before the data (so every stored day is priced): 0.30 EUR/kWh in,
    // 0.10 EUR/kWh out.
    const tariff = await hub.admin('POST', `/api/v1/sites/${siteId}/tariffs`, {
      validFrom: addDays(today, -400),
      definition: { currency: 'EUR', importRate: 0.3, periods: [], exportRate: 0.1, dailyCharge: 0 },
    });
    assert.equal(tariff.statusCode, 201, tariff.body);
    const node = await TestNode.enroll(hub, siteId);
    const [yStart, yEnd] = localDayBounds(yesterday, SITE_TZ);
    const [bStart, bEnd] = localDayBounds(dayBefore, SITE_TZ);
    const samples: S[] = [...gridDay(bStart, bEnd), ...batteryDay(yStart, yEnd)];
    // Today: a 0.5 kW load from the grid since midnight, up to the last sample; solar and battery
    // read 0 (every series reports, or the hub's day has coverage 0 and the tiles show no data).
    for (let t = Math.max(midnight, yEnd); t <= lastSample; t += STEP)
      samples.push(
        { metric: 'load_w', ts: t, value: 500 },
        { metric: 'grid_w', ts: t, value: 500 },
        { metric: 'solar_w', ts: t, value: 0 },
        { metric: 'battery_w', ts: t, value: 0 },
      );
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
    it(`${layout.name}: tiles match the API, CO₂ intensity set through the UI, day/week/month/year distribution in the site's calendar, stale node, no overflow`, async () => {
      // Each layout starts without an intensity (cleared through the API, as the owner).
      const owner = await apiLogin(base, 'owner@example.org', PASSWORD);
      const clear = await fetch(`${base}/api/v1/sites/${siteId}`, {
        method: 'PATCH',
        headers: { authorization: `Bearer ${owner}`, 'content-type': 'application/json' },
        body: JSON.stringify({ gridIntensityGPerKwh: null }),
      });
      assert.equal(clear.status, 200, await clear.text());
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
        // No intensity yet: a hint to set it, never 0 kg.
        assert.equal(
          await tiles.locator('[data-tile="co2"] dd').textContent(),
          'set your grid’s CO₂ intensity',
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
      const co2Tile = dist.locator('[data-tile="co2"] dd');
      assert.equal(await co2Tile.textContent(), 'set your grid’s CO₂ intensity');

      // The intensity, set in the site settings: the hub refuses 5000 and the field says why.
      const settings = page.locator('#site-settings');
      const field = settings.getByLabel('Grid CO₂ intensity (g CO₂/kWh)');
      await field.fill('5000');
      await settings.getByRole('button', { name: 'Save' }).click();
      const problem = settings.getByTestId('grid-intensity-problem');
      await problem.waitFor();
      assert.match((await problem.textContent()) ?? '', /2000/);
      assert.equal(await field.getAttribute('aria-invalid'), 'true');
      await settings.getByRole('alert').filter({ hasText: 'Some of the values are not valid' }).waitFor();
      const still = await apiGet<{ grid_intensity_g_per_kwh: number | null }>(
        base,
        `/api/v1/sites/${siteId}`,
        token,
      );
      assert.equal(still.body.grid_intensity_g_per_kwh, null, 'a refused value is not stored');
      await field.fill(String(INTENSITY));
      await settings.getByRole('button', { name: 'Save' }).click();
      await settings.getByRole('status').filter({ hasText: 'Saved.' }).waitFor();
      assert.equal(await problem.count(), 0);
      const saved = await apiGet<{ grid_intensity_g_per_kwh: number | null }>(
        base,
        `/api/v1/sites/${siteId}`,
        token,
      );
      assert.equal(saved.body.grid_intensity_g_per_kwh, INTENSITY);

      // Yesterday's card now carries the hand-computed CO₂ and the change from the day before.
      await dist.locator('[data-tile="co2"] dd', { hasText: CO2_YESTERDAY }).waitFor();
      const yCmp = await apiGet<Cmp>(
        base,
        `/api/v1/sites/${siteId}/comparison?from=${yesterday}&to=${yesterday}&prevFrom=${dayBefore}&prevTo=${dayBefore}`,
        token,
      );
      assert.equal(yCmp.status, 200);
      const yc = yCmp.body;
      assert.ok(yc.previous.daysWithData === 1, `the day before has data: ${JSON.stringify(yc.previous)}`);
      assert.equal(yc.current.co2AvoidedKg, 6);
      assert.equal(yc.previous.co2AvoidedKg, 0);
      assert.equal(await co2Tile.textContent(), `${CO2_YESTERDAY}+6.0 kg vs day before`);
      // Cost and savings: the hub's figures, and their change from the day before (EUR, %).
      const money = (v: number) => `${v.toFixed(2)} EUR`;
      const signed = (v: number, digits: number, unit: string) =>
        `${v >= 0 ? '+' : '−'}${Math.abs(v).toFixed(digits)} ${unit}`;
      const cost = yc.current.cost ?? Number.NaN;
      const costBefore = yc.previous.cost ?? Number.NaN;
      // Day before: 24 kWh imported × 0.30 = 7.20 EUR; yesterday less (8 kWh imported, 8 exported).
      assert.ok(Math.abs(costBefore - 7.2) < 0.005, `cost the day before ${costBefore}`);
      assert.ok(cost < costBefore);
      const costPct = yc.changePct.cost ?? Number.NaN;
      assert.equal(
        await dist.locator('[data-tile="cost"] dd').textContent(),
        `${money(cost)}${signed(cost - costBefore, 2, 'EUR')} (${signed(costPct, 0, '%')}) vs day before`,
      );
      const savings = yc.current.savings ?? Number.NaN;
      const savingsBefore = yc.previous.savings ?? Number.NaN;
      assert.ok(
        ((await dist.locator('[data-tile="savings"] dd').textContent()) ?? '').startsWith(
          `${money(savings)}${signed(savings - savingsBefore, 2, 'EUR')}`,
        ),
      );
      await page.screenshot({ path: join(SCREENSHOTS, `energy-app-${layout.name}.png`), fullPage: true });

      // Nothing before the day before yesterday: the comparison says so rather than showing +24 kWh.
      await dist.getByRole('button', { name: 'Previous day' }).click();
      assert.equal(await dayInput.inputValue(), dayBefore);
      await dist.getByTestId('period-deltas').filter({ hasText: 'no data before' }).waitFor();
      await dist.getByRole('button', { name: 'Next day' }).click();
      assert.equal(await dayInput.inputValue(), yesterday);
      await dist.locator('[data-tile="co2"] dd', { hasText: CO2_YESTERDAY }).waitFor();

      // Week: the site's Monday-first week holding the chosen day, previous and next by 7 days.
      const title = dist.getByTestId('distribution-title');
      const range = async () => [await title.getAttribute('data-from'), await title.getAttribute('data-to')];
      await dist.getByRole('tab', { name: 'Week' }).click();
      const week = mondayOf(yesterday);
      assert.deepEqual(await range(), [week, addDays(week, 6)]);
      const wCmp = await apiGet<Cmp>(
        base,
        `/api/v1/sites/${siteId}/comparison?from=${week}&to=${addDays(week, 6)}&prevFrom=${addDays(week, -7)}&prevTo=${addDays(week, -1)}`,
        token,
      );
      await dist
        .getByTestId('period-deltas')
        .filter({ hasText: `Produced: ${wCmp.body.current.solarKwh.toFixed(1)} kWh` })
        .waitFor();
      assert.equal(wCmp.body.current.co2AvoidedKg, 6, 'only yesterday had solar in its week');
      close(
        Number(await dist.locator('[data-flow="solarToBatteryKwh"]').getAttribute('data-kwh')),
        16,
        'week: solar → battery',
      );
      await dist.locator('[data-tile="co2"] dd', { hasText: CO2_YESTERDAY }).waitFor();
      await dist.getByRole('button', { name: 'Previous week' }).click();
      assert.deepEqual(await range(), [addDays(week, -7), addDays(week, -1)]);
      await dist.getByRole('button', { name: 'Next week' }).click();
      assert.deepEqual(await range(), [week, addDays(week, 6)]);
      // The date picker moves to the week holding the picked day (three weeks back: no data).
      await dayInput.fill(addDays(yesterday, -21));
      assert.deepEqual(await range(), [addDays(week, -21), addDays(week, -15)]);
      await dist.getByTestId('distribution-empty').waitFor();
      await dayInput.fill(yesterday);
      assert.deepEqual(await range(), [week, addDays(week, 6)]);

      // Month: the site's calendar month of the chosen day; previous and next month.
      await dist.getByRole('tab', { name: 'Month' }).click();
      const month = yesterday.slice(0, 7);
      assert.deepEqual(await range(), [`${month}-01`, lastOfMonth(month)]);
      await dist.locator('[data-tile="co2"] dd', { hasText: CO2_YESTERDAY }).waitFor();
      const before = prevMonth(month);
      await dist.getByRole('button', { name: 'Previous month' }).click();
      assert.deepEqual(await range(), [`${before}-01`, lastOfMonth(before)]);
      await dist.getByRole('button', { name: 'Next month' }).click();
      assert.deepEqual(await range(), [`${month}-01`, lastOfMonth(month)]);
      assert.equal(
        await dist.getByRole('button', { name: 'Next month' }).isDisabled(),
        lastOfMonth(month) >= today,
      );
      await dist.locator('[data-tile="co2"] dd', { hasText: CO2_YESTERDAY }).waitFor();

      // Year: the calendar year of the chosen day.
      await dist.getByRole('tab', { name: 'Year' }).click();
      const year = yesterday.slice(0, 4);
      assert.deepEqual(await range(), [`${year}-01-01`, `${year}-12-31`]);
      await dist.locator('[data-tile="co2"] dd', { hasText: CO2_YESTERDAY }).waitFor();
      await dist.getByRole('tab', { name: 'Day' }).click();
      assert.deepEqual(await range(), [yesterday, yesterday]);

      // Today's tiles after the setting: today's solar is 0 kWh, so 0.0 kg, a figure and not a hint.
      if (t && t.coverage > 0) {
        await page
          .getByTestId('today-tiles')
          .locator('[data-tile="co2"] dd', { hasText: '0.0 kg' })
          .waitFor();
        await page
          .getByTestId('today-tiles')
          .locator('[data-tile="cost"] dd', { hasText: 'vs yesterday' })
          .waitFor();
      }

      // Next comes back to today; there is no day after today.
      await dist.getByRole('button', { name: 'Next day' }).click();
      assert.equal(await dayInput.inputValue(), today);
      assert.ok(await dist.getByRole('button', { name: 'Next day' }).isDisabled());

      // The node went quiet twenty minutes ago: stale, and nothing animates as live.
      await page.getByTestId('flow-stale').filter({ hasText: 'Not live' }).waitFor();
      assert.equal(await page.locator('.power-flow [data-animated="true"]').count(), 0);

      assert.deepEqual(await axeViolations(page), []);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 0, `page is ${overflow} px wider than the viewport`);
      await page.context().close();
    });
  }
});
