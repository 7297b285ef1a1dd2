// The site's equipment page (issue 17 items 4 and 6) in Chromium against a real hub (PGlite).
// The node side is the real signed ingest path, as the agent sends it: an `equipment.inventory`
// event listing an inverter and a meter, then telemetry of both (the meter's last reading ten
// minutes old, so the hub calls it silent) and one inverter reading that breaks the inverter's
// data contract. An installer reads model, serial, firmware and last readings, makes an area and
// a line, moves the inverter onto the line and sees the commissioning check fail on the meter with
// the hub's reason; a viewer on a phone sees the same list and findings without a single control.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { EVENT_KINDS, type InventoryEquipment } from '@wattfleet/protocol';
import type { Browser, Page } from 'playwright-core';
import {
  batchId,
  createSite,
  type Fixture,
  startTestHub,
  type TestHub,
  TestNode,
} from '../../hub/test/helpers/hub.ts';
import {
  axeViolations,
  ensureBuilt,
  LAYOUTS,
  launchBrowser,
  listen,
  SCREENSHOTS,
  signInAs,
} from './helpers/portal.ts';

const PASSWORD = 'correct horse battery staple 42';
const MIN = 60_000;
const [DESKTOP, PHONE] = LAYOUTS as [(typeof LAYOUTS)[number], (typeof LAYOUTS)[number]];

const inverter: InventoryEquipment = {
  key: 'inv1',
  kind: 'inverter',
  source: 'modbus-tcp',
  vendor: 'SunSpec',
  model: 'SE5000H',
  serial: '7E1234AB',
  firmware: '4.18.32',
  metrics: ['solar_w', 'solar_wh'],
  channels: [],
};
const meter: InventoryEquipment = {
  key: 'meter1',
  kind: 'meter',
  source: 'opcua',
  label: 'Main meter',
  metrics: ['grid_w'],
  channels: [],
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Elements reaching past the viewport's right edge (none: no horizontal scrolling). */
const wider = (page: Page) =>
  page.evaluate(() =>
    [...document.querySelectorAll('main *')]
      .filter((el) => !el.closest('thead') && el.getBoundingClientRect().right > window.innerWidth + 0.5)
      .map((el) => `${el.tagName.toLowerCase()}.${el.className}: ${el.textContent?.slice(0, 40)}`)
      .slice(0, 5),
  );
const overflow = (page: Page) =>
  page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);

describe('equipment page: registry, areas and lines, commissioning, data quality', () => {
  let hub: TestHub;
  let browser: Browser;
  let base: string;
  let site: Fixture;
  let empty: Fixture;
  let node: TestNode;

  const registry = async (siteId: string) => {
    const res = await hub.admin('GET', `/api/v1/sites/${siteId}/equipment`);
    assert.equal(res.statusCode, 200, res.body);
    return res.json() as {
      equipment: { key: string; id: string; areaId: string | null; lineId: string | null; state: string }[];
    };
  };

  /**
   * The inverter's current reading, sent when a test starts: "answering" means a reading within
   * the hub's freshness window (two minutes here), however long the set-up took.
   */
  const freshInverterReading = async () => {
    const ts = Date.now() - 1_000;
    const res = await node.send('/api/v1/ingest/telemetry', {
      batchId: batchId(),
      samples: [
        { metric: 'solar_w', equipment: 'inv1', ts, value: 3200 },
        { metric: 'solar_wh', equipment: 'inv1', ts, value: 12_000 },
      ],
    });
    assert.equal(res.statusCode, 200, res.body);
  };

  before(async () => {
    ensureBuilt();
    hub = await startTestHub('pglite');
    site = await createSite(hub, { name: 'Press Shop', timezone: 'Europe/Vienna' });
    empty = await createSite(hub, { name: 'Empty Shed', timezone: 'Europe/Vienna' });
    const installerOrg = await hub.admin('POST', '/api/v1/orgs', {
      name: 'Sparky Installers',
      kind: 'installer',
    });
    for (const s of [site, empty]) {
      const grant = await hub.admin('POST', `/api/v1/sites/${s.siteId}/grants`, {
        orgId: installerOrg.json().id,
      });
      assert.equal(grant.statusCode, 201, grant.body);
    }
    for (const [email, role, orgId] of [
      ['installer@example.org', 'installer', installerOrg.json().id],
      ['viewer@example.org', 'viewer', site.orgId],
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
    node = await TestNode.enroll(hub, site.siteId);
    const now = Date.now();
    // The inventory first, so the inverter's data contract applies to the telemetry after it.
    const inv = await node.send('/api/v1/ingest/events', {
      batchId: batchId(),
      events: [
        {
          ts: now - 15 * MIN,
          kind: EVENT_KINDS.equipmentInventory,
          severity: 'info',
          message: 'equipment inventory',
          data: { equipment: [inverter, meter] },
        },
      ],
    });
    assert.equal(inv.statusCode, 200, inv.body);
    for (let i = 0; (await registry(site.siteId)).equipment.length < 2; i++) {
      assert.ok(i < 100, 'the registry never showed the inventory');
      await sleep(50);
    }
    const t = await node.send('/api/v1/ingest/telemetry', {
      batchId: batchId(),
      samples: [
        // −50 kW from an inverter: outside inverter_v1's range (at least −500 W), stored anyway.
        { metric: 'solar_w', equipment: 'inv1', ts: now - 20_000, value: -50_000 },
        // Ten minutes old: beyond the hub's freshness (3 poll intervals, at least 2 min): silent.
        { metric: 'grid_w', equipment: 'meter1', ts: now - 10 * MIN, value: -500 },
      ],
    });
    assert.equal(t.statusCode, 200, t.body);
    base = await listen(hub.app);
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await hub?.close();
  });

  it('installer: equipment with model, serial, firmware and last reading; an area and a line; a move; commissioning fails on the silent meter', async () => {
    await freshInverterReading();
    const page = await signInAs(browser, base, 'installer@example.org', PASSWORD, 'Fleet', {
      viewport: DESKTOP.viewport,
      colorScheme: DESKTOP.colorScheme,
    });
    await page.goto(`${base}/sites/${site.siteId}`);
    // The site page shows the node's data-quality finding too.
    const siteFinding = page.getByTestId('dq-finding').filter({ hasText: 'PV production' });
    await siteFinding.waitFor();
    assert.match(
      (await siteFinding.textContent()) ?? '',
      /^inv1 · PV production: Outside the plausible range: should be between -0\.50 kW and 10000\.0 kW; latest -50\.0 kW\. 1 reading, last seen \d+ ?(s|min) ago \(contract inverter_v1\)$/,
    );
    await page.screenshot({ path: join(SCREENSHOTS, 'equipment-site-page.png'), fullPage: true });
    assert.deepEqual(await axeViolations(page), [], 'the site page with its findings');
    await page.getByRole('link', { name: 'Equipment and commissioning' }).click();
    await page.getByRole('heading', { name: 'Equipment of Press Shop' }).waitFor();

    const main = page.locator('main');
    const inv = main.locator('tr[data-testid="equipment-row"][data-equipment="inv1"]');
    await inv.waitFor();
    const invText = (await inv.textContent()) ?? '';
    for (const want of ['SunSpec SE5000H', '7E1234AB', '4.18.32', 'modbus-tcp', 'inverter', 'on test agent'])
      assert.ok(invText.includes(want), `${want} in: ${invText}`);
    assert.equal(await inv.getByTestId('equipment-state').textContent(), 'answering');
    assert.equal(await inv.locator('[data-metric="solar_w"]').textContent(), 'PV production: 3.20 kW');
    assert.equal(
      await inv.locator('[data-metric="solar_wh"]').textContent(),
      'PV production counter: 12.0 kWh',
    );
    assert.match((await inv.getByTestId('reading-age').textContent()) ?? '', /^\d+s ago$/);
    const m = main.locator('tr[data-testid="equipment-row"][data-equipment="meter1"]');
    assert.match((await m.locator('th').textContent()) ?? '', /^Main meter/);
    assert.equal(await m.getByTestId('equipment-state').textContent(), 'silent');
    assert.match((await m.getByTestId('equipment-reason').textContent()) ?? '', /No reading for 1\d min/);
    assert.match((await m.getByTestId('reading-age').textContent()) ?? '', /^1\d min ago$/);
    assert.equal(await m.locator('[data-metric="grid_w"]').textContent(), 'Grid exchange: -0.50 kW');
    // Everything is unassigned before any area exists.
    assert.deepEqual(
      await main
        .getByTestId('equipment-group')
        .evaluateAll((g) => g.map((x) => x.getAttribute('data-group'))),
      ['Unassigned'],
    );

    // Commissioning: not ready, the meter named with the hub's reason.
    const verdict = page.getByTestId('commissioning-verdict');
    await verdict.waitFor();
    assert.equal(await verdict.getAttribute('data-ok'), 'false');
    assert.match((await verdict.textContent()) ?? '', /^Not ready 1 of 2 expected equipment answers\./);
    const problems = page.getByTestId('commissioning-problem');
    assert.equal(await problems.count(), 1);
    assert.equal(await problems.first().getAttribute('data-equipment'), 'meter1');
    assert.match(
      (await problems.first().textContent()) ?? '',
      /^Main meter \(meter1 on test agent\): silent — No reading for 1\d min \(expected every 10 s\)$/,
    );
    await page.getByRole('button', { name: 'Check again' }).click();
    await page.getByRole('button', { name: 'Check again' }).and(page.locator(':enabled')).waitFor();
    assert.equal(await verdict.getAttribute('data-ok'), 'false');

    // An area, a line in it, and the inverter moved onto the line.
    await page.getByLabel('New area').fill('Hall 2 — Presses');
    await page.getByRole('button', { name: 'Add area' }).click();
    await page.getByTestId('area').filter({ hasText: 'Hall 2 — Presses' }).waitFor();
    await page.getByLabel('New line in Hall 2 — Presses').fill('Line A');
    await page.getByRole('button', { name: 'Add line to Hall 2 — Presses' }).click();
    await page.getByTestId('line').filter({ hasText: 'Line A' }).waitFor();
    await page.getByLabel('Place inv1', { exact: true }).selectOption({ label: 'Hall 2 — Presses › Line A' });
    await page.getByRole('button', { name: 'Move inv1' }).click();
    const lineGroup = main.locator('[data-testid="equipment-group"][data-group="Hall 2 — Presses › Line A"]');
    await lineGroup.locator('tr[data-testid="equipment-row"][data-equipment="inv1"]').waitFor();
    const unassigned = main.locator('[data-testid="equipment-group"][data-group="Unassigned"]');
    assert.deepEqual(
      await unassigned.locator('tbody tr').evaluateAll((r) => r.map((x) => x.getAttribute('data-equipment'))),
      ['meter1'],
    );
    const placed = (await registry(site.siteId)).equipment.find((e) => e.key === 'inv1')!;
    assert.ok(placed.areaId && placed.lineId, 'the hub has the inverter on the line (and its area)');

    // Data quality: the −50 kW reading, in words, with its contract and count.
    const finding = main.getByTestId('dq-finding').filter({ hasText: 'PV production' });
    await finding.waitFor();
    const words = (await finding.textContent()) ?? '';
    assert.equal(await finding.getAttribute('data-rule'), 'out_of_range');
    for (const want of ['inv1', 'Outside the plausible range', 'latest -50.0 kW', 'inverter_v1', '1 reading'])
      assert.ok(words.includes(want), `${want} in: ${words}`);
    assert.equal(await main.getByTestId('dq-none').count(), 0, 'nothing says OK while there are findings');
    await page.screenshot({ path: join(SCREENSHOTS, 'equipment-installer.png'), fullPage: true });
    assert.deepEqual(await axeViolations(page), []);

    // The same page, controls and all, fits a phone.
    await page.setViewportSize(PHONE.viewport);
    await page.waitForTimeout(100);
    await page.screenshot({ path: join(SCREENSHOTS, 'equipment-installer-phone.png'), fullPage: true });
    assert.deepEqual(await wider(page), [], 'the installer page fits 390 px');

    // A site whose node never reported: the empty state says why.
    await page.goto(`${base}/sites/${empty.siteId}/equipment`);
    await page.getByRole('heading', { name: 'Equipment of Empty Shed' }).waitFor();
    assert.match(
      (await page.getByTestId('equipment-empty').textContent()) ?? '',
      /No equipment reported yet: the agent sends its inventory when it starts/,
    );
    assert.match(
      (await page.getByTestId('commissioning-verdict').textContent()) ?? '',
      /^Not ready No equipment is expected yet/,
    );
    await page.context().close();
  });

  it('viewer on a phone: the same list and findings, no control at all, no refused call', async () => {
    await freshInverterReading();
    const viewer = await signInAs(browser, base, 'viewer@example.org', PASSWORD, 'Press Shop', {
      viewport: PHONE.viewport,
      colorScheme: PHONE.colorScheme,
    });
    const writes: string[] = [];
    const refused: string[] = [];
    viewer.on('request', (r) => {
      if (r.url().includes('/api/v1/') && r.method() !== 'GET' && !r.url().includes('/api/v1/auth/'))
        writes.push(`${r.method()} ${r.url()}`);
    });
    viewer.on('response', (r) => {
      if (r.status() === 403) refused.push(`${r.request().method()} ${r.url()}`);
    });
    await viewer.getByRole('link', { name: 'Equipment', exact: true }).click();
    await viewer.getByRole('heading', { name: 'Equipment of Press Shop' }).waitFor();
    const main = viewer.locator('main');
    const inv = main.locator('tr[data-testid="equipment-row"][data-equipment="inv1"]');
    await inv.waitFor();
    assert.ok(((await inv.textContent()) ?? '').includes('7E1234AB'));
    assert.equal(await inv.getByTestId('equipment-state').textContent(), 'answering');
    // The installer's placement shows; an empty area would show too.
    await main
      .locator(
        '[data-group="Hall 2 — Presses › Line A"] tr[data-testid="equipment-row"][data-equipment="inv1"]',
      )
      .waitFor();
    await main.getByTestId('dq-finding').filter({ hasText: 'PV production' }).waitFor();
    await viewer.waitForLoadState('networkidle');
    assert.equal(await main.locator('form, input, select, textarea').count(), 0, 'no inputs');
    assert.deepEqual(await main.getByRole('button').allTextContents(), ['Refresh'], 'only Refresh');
    assert.equal(
      await main.getByTestId('commissioning').count(),
      0,
      'the commissioning check is the installer’s',
    );
    assert.equal(await main.getByTestId('hierarchy').count(), 0);
    await main.getByRole('button', { name: 'Refresh' }).click();
    await viewer.waitForLoadState('networkidle');
    assert.ok((await overflow(viewer)) <= 0, 'the page fits 390 px');
    // On a phone the tables are cards.
    assert.equal(await inv.evaluate((r) => getComputedStyle(r).display), 'block');
    await viewer.screenshot({ path: join(SCREENSHOTS, 'equipment-viewer-phone.png'), fullPage: true });
    assert.deepEqual(await axeViolations(viewer), []);
    assert.deepEqual(writes, [], 'the viewer page sends no change');
    assert.deepEqual(refused, [], 'and is never refused');
    await viewer.context().close();
  });
});
