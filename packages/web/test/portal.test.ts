// The portal against a real hub (PGlite) served by the hub itself: sign in, see live values
// from ingested samples in the power flow, the fleet table, the admin pages, a phone layout.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { localDayStart } from '@wattfleet/protocol/zoned';
import type { Browser, Page } from 'playwright-core';
import {
  ADMIN_TOKEN,
  batchId,
  createSite,
  startTestHub,
  type TestHub,
  TestNode,
} from '../../hub/test/helpers/hub.ts';
import { ensureBuilt, launchBrowser, pinClock, SCREENSHOTS, testNow } from './helpers/portal.ts';

describe('portal in a browser against a real hub', () => {
  let hub: TestHub;
  let browser: Browser;
  let base: string;
  let siteId: string;
  const SITE_TZ = 'Europe/Berlin';
  // The browser's clock is pinned here (WATTFLEET_TEST_NOW moves it to the site's day edges).
  const now = testNow(SITE_TZ);
  const sampleTimes = Array.from({ length: 30 }, (_, i) => now - (30 - i) * 10_000);

  before(async () => {
    ensureBuilt();
    hub = await startTestHub('pglite');
    const site = await createSite(hub, { name: 'Sunny Roof', timezone: SITE_TZ });
    siteId = site.siteId;
    const node = await TestNode.enroll(hub, siteId);
    // Midday: 3.2 kW solar, home uses 1.2 kW, battery charges 0.5 kW, 1.5 kW exported.
    const samples = [];
    for (const ts of sampleTimes) {
      samples.push(
        { metric: 'solar_w', ts, value: 3200 },
        { metric: 'load_w', ts, value: 1200 },
        { metric: 'grid_w', ts, value: -1500 },
        { metric: 'battery_w', ts, value: -500 },
        { metric: 'battery_soc', ts, value: 64 },
      );
    }
    const res = await node.send('/api/v1/ingest/telemetry', { batchId: batchId(), samples });
    assert.equal(res.statusCode, 200, res.body);
    const night = await createSite(hub, { name: 'Night House' });
    const nightNode = await TestNode.enroll(hub, night.siteId);
    const nres = await nightNode.send('/api/v1/ingest/telemetry', {
      batchId: batchId(),
      samples: [
        { metric: 'solar_w', ts: now - 5000, value: -3 },
        { metric: 'load_w', ts: now - 5000, value: 400 },
        { metric: 'grid_w', ts: now - 5000, value: 400 },
      ],
    });
    assert.equal(nres.statusCode, 200, nres.body);
    await hub.app.listen({ port: 0, host: '127.0.0.1' });
    const addr = hub.app.server.address();
    assert.ok(addr && typeof addr === 'object');
    base = `http://127.0.0.1:${addr.port}`;
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await hub?.close();
  });

  async function signIn(page: Page): Promise<void> {
    await pinClock(page, now);
    await page.goto(`${base}/`);
    await page.getByRole('button', { name: 'Sign in with an admin token' }).click();
    await page.getByLabel('Admin token').fill(ADMIN_TOKEN);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByRole('heading', { name: 'Fleet' }).waitFor();
  }

  it('serves the SPA with a deep-link fallback and keeps /api 404s as JSON', async () => {
    const deep = await fetch(`${base}/sites/${siteId}`);
    assert.equal(deep.status, 200);
    assert.match(await deep.text(), /<div id="root">/);
    const api = await fetch(`${base}/api/v1/nope`);
    assert.equal(api.status, 404);
    assert.equal(((await api.json()) as { code: string }).code, 'WF_NOT_FOUND');
  });

  it('signs in with the admin token and shows the fleet with both sites', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await signIn(page);
    const table = page.getByTestId('fleet-table');
    await table.getByRole('link', { name: 'Sunny Roof' }).waitFor();
    await table.getByRole('link', { name: 'Night House' }).waitFor();
    assert.equal(await table.locator('tbody tr').count(), 2);
    await page.getByLabel('Search sites or nodes').fill('night');
    assert.equal(await table.locator('tbody tr').count(), 1);
    await page.screenshot({ path: join(SCREENSHOTS, 'fleet.png'), fullPage: true });
    await page.close();
  });

  it('shows the live power flow from ingested samples, animated only where energy moves', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await signIn(page);
    // The admin token lives in the tab's memory only (a reload forgets it): navigate in the app.
    await page.evaluate((to) => {
      history.pushState(null, '', to);
      dispatchEvent(new PopStateEvent('popstate'));
    }, `/home/${siteId}`);
    await page.getByTestId('fact-solar').filter({ hasText: 'producing 3.20 kW' }).waitFor();
    assert.match((await page.getByTestId('fact-home').textContent()) ?? '', /using 1\.20 kW/);
    assert.match((await page.getByTestId('fact-battery').textContent()) ?? '', /charging 0\.50 kW \(64 %\)/);
    assert.match((await page.getByTestId('fact-grid').textContent()) ?? '', /exporting 1\.50 kW/);
    assert.equal(await page.getByTestId('flow-grid').getAttribute('data-direction'), 'out');
    // The hub's one health word: its nodes upload but have sent no heartbeat yet.
    assert.equal(await page.getByTestId('status-badge').textContent(), 'Commissioning');
    // The day chart plots exactly the raw samples since the site's midnight (none yet just after
    // midnight: then it says so).
    const sinceMidnight = sampleTimes.filter((ts) => ts >= localDayStart(now, SITE_TZ)).length;
    if (sinceMidnight > 0) await page.locator(`.chart[data-points="${sinceMidnight}"] canvas`).waitFor();
    else await page.getByTestId('chart-empty').waitFor();
    await page.screenshot({ path: join(SCREENSHOTS, 'owner-day.png'), fullPage: true });
    await page.close();
  });

  it('reads correctly at night: solar idle and still, the home fed by the grid', async () => {
    const page = await browser.newPage({ viewport: { width: 390, height: 844 }, isMobile: true });
    await signIn(page);
    await page.getByRole('link', { name: 'Night House' }).click();
    await page.getByTestId('fact-grid').filter({ hasText: 'importing 0.40 kW' }).waitFor();
    assert.match((await page.getByTestId('fact-solar').textContent()) ?? '', /Solar: idle/);
    assert.equal(
      await page.locator('[data-testid="flow-solar"] line').getAttribute('data-animated'),
      'false',
    );
    assert.equal(await page.locator('[data-testid="flow-grid"] line').getAttribute('data-animated'), 'true');
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= 390, `no horizontal scroll on a phone (was ${width}px)`);
    await page.screenshot({ path: join(SCREENSHOTS, 'site-night-phone.png'), fullPage: true });
    await page.close();
  });
});
