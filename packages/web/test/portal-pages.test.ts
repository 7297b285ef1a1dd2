// Every page of the portal in Chromium against a real hub (PGlite), at 1440×900 (light) and
// 390×844 (dark): no page wider than the viewport, tables turned into cards on a phone, and no
// serious or critical axe-core violation (axe-core injected into the page, all its rules).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { batchId, createSite, startTestHub, type TestHub, TestNode } from '../../hub/test/helpers/hub.ts';
import {
  axeViolations,
  ensureBuilt,
  launchBrowser,
  LAYOUTS as layouts,
  listen,
  SCREENSHOTS,
  signInAs,
  testNow,
} from './helpers/portal.ts';

const PASSWORD = 'correct horse battery staple 42';
const SITE_TZ = 'Europe/Athens';

describe('every page: fits a phone, cards, accessibility', () => {
  let hub: TestHub;
  let browser: Browser;
  let base: string;
  let live: { siteId: string };
  let node: TestNode;
  const now = testNow(SITE_TZ);

  before(async () => {
    ensureBuilt();
    hub = await startTestHub('pglite');
    const operator = await hub.admin('POST', '/api/v1/orgs', { name: 'Operator', kind: 'operator' });
    live = await createSite(hub, { name: 'Live Loft', timezone: SITE_TZ });
    await createSite(hub, { name: 'Quiet Quay', timezone: SITE_TZ });
    node = await TestNode.enroll(hub, live.siteId);
    const samples = Array.from({ length: 30 }, (_, i) => now - (30 - i) * 10_000).flatMap((ts) => [
      { metric: 'solar_w', ts, value: 3200 },
      { metric: 'load_w', ts, value: 1200 },
      { metric: 'grid_w', ts, value: -2000 },
    ]);
    assert.equal(
      (await node.send('/api/v1/ingest/telemetry', { batchId: batchId(), samples })).statusCode,
      200,
    );
    const res = await hub.admin('POST', '/api/v1/users', {
      email: 'admin@example.org',
      role: 'admin',
      orgId: operator.json().id,
      password: PASSWORD,
      mustChangePassword: false,
    });
    assert.equal(res.statusCode, 201, res.body);
    base = await listen(hub.app);
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await hub?.close();
  });

  for (const layout of layouts) {
    it(`${layout.name}: every page fits the viewport, tables are cards on a phone, 0 serious/critical axe violations`, async () => {
      const setup = {
        viewport: layout.viewport,
        colorScheme: layout.colorScheme,
        timezoneId: 'Asia/Tokyo',
        now,
      };
      const admin = await signInAs(browser, base, 'admin@example.org', PASSWORD, 'Fleet', setup);
      const pages = [
        ['/fleet', 'Fleet'],
        [`/sites/${live.siteId}`, 'Live Loft'],
        [`/home/${live.siteId}`, 'Live Loft'],
        ['/commands', 'Command centre'],
        ['/enrollment', 'Enrollment codes'],
        ['/grants', 'Site access'],
        ['/users', 'Users'],
        ['/rollout', 'Agent rollout'],
        ['/audit', 'Audit log'],
        ['/admin', 'Administration'],
        [`/nodes/${node.nodeId}/config`, 'Config of'],
        ['/account', 'Account'],
      ] as const;
      const problems: string[] = [];
      for (const [path, heading] of pages) {
        await admin.goto(`${base}${path}`);
        await admin.getByRole('heading', { name: heading }).first().waitFor();
        await admin.waitForLoadState('networkidle');
        const fits = await admin.evaluate(() => document.documentElement.scrollWidth <= innerWidth);
        if (!fits) problems.push(`${path}: wider than the viewport`);
        if (layout.viewport.width < 600) {
          const row = admin.locator('.table-wrap tbody tr').first();
          if ((await row.count()) > 0 && (await row.evaluate((r) => getComputedStyle(r).display)) !== 'block')
            problems.push(`${path}: table rows are not cards`);
        }
        for (const v of await axeViolations(admin)) problems.push(`${path}: ${v}`);
        await admin.screenshot({
          path: join(SCREENSHOTS, `page-${layout.name}${path.replace(/[/:]+/g, '-')}.png`),
          fullPage: true,
        });
      }
      assert.deepEqual(problems, []);
      await admin.context().close();
    });
  }
});
