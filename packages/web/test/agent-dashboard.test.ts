// The agent's local dashboard (issue 14.7), in Chromium at 1440×900 light and 390×844 dark, with a
// browser in another zone than the site: the real agent (in this process, enrolled by name against
// a real hub on PGlite, simulator source) serves the page from its own state. Checked: the node's
// name and site zone in the header, live values named and in units from the catalogue, a readable
// 24 h chart that opens on a power series (not a cumulative counter) with time labels on the
// site's clock, a daily table that stays inside its card, no page wider than a phone, and no
// serious or critical axe-core violations.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import type { Browser } from 'playwright-core';
import { enroll } from '../../edge/src/identity/enroll.ts';
import { StandInSupervisor } from '../../edge/src/ops/supervisor.ts';
import { Agent } from '../../edge/src/runtime/agent.ts';
import { createSite, startTestHub, type TestHub } from '../../hub/test/helpers/hub.ts';
import { axeViolations, LAYOUTS, launchBrowser, listen, SCREENSHOTS } from './helpers/portal.ts';

const SITE_TZ = 'Pacific/Auckland';
const BROWSER_TZ = 'America/New_York';
const NAME = 'Barn inverter box';

describe("the agent's local dashboard in a browser", () => {
  let hub: TestHub;
  let browser: Browser;
  let agent: Agent | undefined;
  const dir = mkdtempSync(join(tmpdir(), 'wf-agent-dash-'));

  before(async () => {
    hub = await startTestHub('pglite');
    const base = await listen(hub.app);
    const site = await createSite(hub, { name: 'Barn', timezone: SITE_TZ });
    const code = await hub.admin('POST', `/api/v1/sites/${site.siteId}/enrollment-codes`, {});
    assert.equal(code.statusCode, 201, code.body);
    await enroll({
      hubUrl: base,
      code: code.json().code,
      identityPath: join(dir, 'identity.json'),
      name: NAME,
    });
    const configPath = join(dir, 'agent.yaml');
    writeFileSync(
      configPath,
      `version: 2
hub: { url: "${base}" }
identity: { path: ${join(dir, 'identity.json')} }
site: { lat: -36.85, lon: 174.76, timezone: ${SITE_TZ} }
sources:
  - { type: simulator, key: sim, seed: barn }
poll: { intervalS: 0.2 }
outbox: { path: ${join(dir, 'agent.db')} }
dashboard: { port: 0 }
logging: { level: info, file: ${join(dir, 'agent.log')} }
`,
    );
    agent = await Agent.start({
      configPath,
      supervisor: new StandInSupervisor(),
      logger: pino({ level: 'silent' }),
    });
    assert.equal(agent.mode, 'running', JSON.stringify(agent.problems));
    // Enough readings for a line and a day's counter delta.
    const deadline = Date.now() + 30_000;
    for (;;) {
      const series = (await (await fetch(`${agent.dashboardUrl}/api/series`)).json()) as unknown[];
      const daily = (await (await fetch(`${agent.dashboardUrl}/api/daily`)).json()) as unknown[];
      if (series.length > 0 && daily.length > 0) break;
      if (Date.now() > deadline) throw new Error('the agent recorded no history');
      await new Promise((r) => setTimeout(r, 200));
    }
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await agent?.stop();
    await hub?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  for (const layout of LAYOUTS) {
    it(`${layout.name}: name, units, a readable chart on the site's clock, fits the screen`, async () => {
      const context = await browser.newContext({
        viewport: layout.viewport,
        colorScheme: layout.colorScheme,
        timezoneId: BROWSER_TZ,
      });
      const page = await context.newPage();
      try {
        await page.goto(agent!.dashboardUrl);
        await page.locator('#name', { hasText: NAME }).waitFor();
        const sub = (await page.locator('#node').textContent()) ?? '';
        assert.match(sub, new RegExp(`node ${agent!.identity!.nodeId}`));
        assert.match(sub, /site time Pacific\/Auckland/);

        // Live values: the catalogue's names and units, never the raw metric name alone.
        const solar = page.locator('#live td[data-metric="solar_w"]');
        await solar.waitFor();
        assert.match((await solar.textContent()) ?? '', /^-?[\d,]+(\.\d+)? k?W$/);
        const solarName = await page
          .locator('#live tr:has(td[data-metric="solar_w"]) td')
          .first()
          .textContent();
        assert.equal(solarName, 'PV production');
        const counter = page.locator('#live td[data-metric="grid_import_wh"]');
        assert.match((await counter.textContent()) ?? '', /^[\d,]+\.\d\d M?Wh$|^[\d,]+\.\d\d kWh$/);

        // The chart opens on a power series, draws a line, and its labels are real text of a
        // readable size (an SVG laid out at the element's own width, so nothing scales them down).
        const chart = page.locator('#chart');
        await chart.locator('polyline').waitFor({ state: 'attached' });
        assert.equal(await chart.getAttribute('data-metric'), 'solar_w');
        // A fresh agent has few 5-minute buckets: each is a visible dot on the line.
        const points = (await chart.locator('polyline').getAttribute('points'))!.split(' ');
        assert.ok(points.length >= 1);
        assert.equal(await chart.locator('circle.dot').count(), points.length);
        await chart.locator('circle.dot').last().waitFor();
        const ticks = await chart
          .locator('text.tick')
          .evaluateAll((els) =>
            els.map((e) => ({ text: e.textContent, h: e.getBoundingClientRect().height })),
          );
        assert.ok(ticks.length >= 4, `time labels: ${JSON.stringify(ticks)}`);
        for (const t of ticks) {
          assert.match(t.text ?? '', /^\d\d:00$/);
          assert.ok(t.h >= 11, `a label ${t.h}px high`);
        }
        // Labelled on the site's clock: each label is the Auckland hour of a whole hour in the
        // last day, which the browser's own zone (New York, 17/18 h behind) would not print.
        const siteHours = new Set(
          Array.from({ length: 25 }, (_, i) =>
            new Intl.DateTimeFormat('en-GB', {
              timeZone: SITE_TZ,
              hour: '2-digit',
              minute: '2-digit',
              hourCycle: 'h23',
            }).format(Math.floor(Date.now() / 3_600_000) * 3_600_000 - i * 3_600_000),
          ),
        );
        for (const t of ticks) assert.ok(siteHours.has(t.text!), `${t.text} is a site-time hour`);
        const yLabels = await chart.locator('text:not(.tick)').allTextContents();
        assert.ok(
          yLabels.every((l) => / k?W$/.test(l)),
          `value axis in W/kW: ${yLabels.join(' | ')}`,
        );

        await page.screenshot({
          path: join(SCREENSHOTS, `agent-dashboard-${layout.name}.png`),
          fullPage: true,
        });

        // Choosing a counter says what it is instead of passing it off as power.
        const select = page.locator('#series');
        const counterOption = await select
          .locator('option', { hasText: 'Grid import counter (Wh)' })
          .getAttribute('value');
        assert.ok(counterOption, 'the counter is offered with its name and unit');
        await select.selectOption(counterOption);
        await page.locator('#chart[data-metric="grid_import_wh"]').waitFor();
        assert.match((await page.locator('#chart-note').textContent()) ?? '', /cumulative counter/);
        const counterAxis = await chart.locator('text:not(.tick)').allTextContents();
        assert.ok(
          counterAxis.every((l) => / [kM]?Wh$/.test(l)) && new Set(counterAxis).size === counterAxis.length,
          `distinct energy labels: ${counterAxis.join(' | ')}`,
        );

        // Daily table: named columns in kWh, and it scrolls inside its card instead of overflowing.
        const daily = page.locator('#daily');
        await daily.locator('th', { hasText: 'Solar' }).waitFor();
        const heads = await daily.locator('th').allTextContents();
        for (const h of ['Day', 'Solar', 'Home', 'Import', 'Export'])
          assert.ok(heads.includes(h), heads.join());
        const card = await page.evaluate(() => {
          const section = document.querySelector('#daily')!.closest('section')!;
          return { scroll: section.scrollWidth, client: section.clientWidth };
        });
        assert.ok(card.scroll <= card.client, `daily table inside its card: ${JSON.stringify(card)}`);

        const width = await page.evaluate(() => ({
          scroll: document.documentElement.scrollWidth,
          inner: window.innerWidth,
        }));
        assert.ok(width.scroll <= width.inner, `page fits the viewport: ${JSON.stringify(width)}`);
        assert.deepEqual(await axeViolations(page), []);
      } finally {
        await context.close();
      }
    });
  }
});
