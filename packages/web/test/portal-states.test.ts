// The portal's human states against a real hub (PGlite) in Chromium, at 1440×900 (light) and
// 390×844 (dark), from a browser whose zone is not the sites': one health word on the fleet, site
// and owner pages (the hub's rule); an offline site's power flow shown as not live; a sentence
// instead of an error code; metric names and units from the catalogue; the config editor refusing
// to start from a placeholder and asking before a push that would cut the node off; the site-access
// page naming the site's own installer; the owner's today tiles from the hub's figures.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { batchId, createSite, startTestHub, type TestHub, TestNode } from '../../hub/test/helpers/hub.ts';
import {
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
const MIN = 60_000;

describe('human states, one status vocabulary, phone and accessibility', () => {
  let hub: TestHub;
  let browser: Browser;
  let base: string;
  let live: { siteId: string; orgId: string };
  let silent: { siteId: string };
  let node: TestNode;
  let installerOrg: { id: string; name: string };
  const now = testNow(SITE_TZ);

  before(async () => {
    ensureBuilt();
    hub = await startTestHub('pglite');
    const operator = await hub.admin('POST', '/api/v1/orgs', { name: 'Operator', kind: 'operator' });
    const inst = await hub.admin('POST', '/api/v1/orgs', { name: 'Sunwise Installers', kind: 'installer' });
    installerOrg = { id: inst.json().id, name: 'Sunwise Installers' };
    live = await createSite(hub, { name: 'Live Loft', timezone: SITE_TZ });
    // The site's own installer org, set by the admin (not a grant).
    const patched = await hub.admin('PATCH', `/api/v1/sites/${live.siteId}`, {
      installerOrgId: installerOrg.id,
      status: 'active',
    });
    assert.equal(patched.statusCode, 200, patched.body);
    silent = await createSite(hub, { name: 'Quiet Quay', timezone: SITE_TZ });
    node = await TestNode.enroll(hub, live.siteId);
    const quietNode = await TestNode.enroll(hub, silent.siteId);
    // Live Loft: the last five minutes at 10 s, and an import counter. Quiet Quay: last heard
    // from twenty minutes ago.
    const samples = [];
    for (let i = 0; i < 30; i++) {
      const ts = now - (30 - i) * 10_000;
      samples.push(
        { metric: 'solar_w', ts, value: 3200 },
        { metric: 'load_w', ts, value: 1200 },
        { metric: 'grid_w', ts, value: -2000 },
        { metric: 'grid_import_wh', ts, value: 645613.77 },
      );
    }
    assert.equal(
      (await node.send('/api/v1/ingest/telemetry', { batchId: batchId(), samples })).statusCode,
      200,
    );
    const old = now - 20 * MIN;
    const quiet = await quietNode.send('/api/v1/ingest/telemetry', {
      batchId: batchId(),
      samples: [
        { metric: 'solar_w', ts: old, value: 2500 },
        { metric: 'load_w', ts: old, value: 900 },
        { metric: 'grid_w', ts: old, value: -1600 },
      ],
    });
    assert.equal(quiet.statusCode, 200, quiet.body);
    for (const [email, role, orgId] of [
      ['admin@example.org', 'admin', operator.json().id],
      ['owner@example.org', 'owner', live.orgId],
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
    base = await listen(hub.app);
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await hub?.close();
  });

  for (const layout of layouts) {
    it(`${layout.name}: one health word everywhere, stale flow, sentences, catalogue names, config guard, installer statement`, async () => {
      const setup = {
        viewport: layout.viewport,
        colorScheme: layout.colorScheme,
        timezoneId: 'Asia/Tokyo',
        now,
      };
      const admin = await signInAs(browser, base, 'admin@example.org', PASSWORD, 'Fleet', setup);
      const fleetRow = admin.locator(`[data-testid="fleet-table"] tr[data-site="${live.siteId}"]`);
      await fleetRow.waitFor();
      const word = (await fleetRow.getAttribute('data-state'))!;
      assert.equal(word, 'healthy', 'an active site with a recent node is healthy');

      // The site page shows the fleet table's word, not a word of its own.
      await admin.goto(`${base}/sites/${live.siteId}`);
      await admin.locator(`[data-testid="status-badge"][data-state="${word}"]`).waitFor();
      // Metric names and units from the catalogue, never raw names.
      const values = admin.getByTestId('node').first().locator('table.values');
      await values.locator('td[data-metric="grid_import_wh"]').filter({ hasText: '645.6 kWh' }).waitFor();
      assert.match((await values.locator('td[data-metric="solar_w"]').textContent()) ?? '', /^3\.20 kW$/);
      const names = await values.locator('th').allTextContents();
      assert.ok(names.includes('Grid import counter') && names.includes('PV production'), names.join('|'));
      assert.ok(!names.some((n) => /_w$|_wh$/.test(n)), names.join('|'));
      assert.equal(await admin.getByTestId('flow-stale').count(), 0, 'recent data is live');

      // A site silent for twenty minutes: its flow is still and says how old it is.
      await admin.goto(`${base}/sites/${silent.siteId}`);
      await admin.getByTestId('flow-stale').filter({ hasText: 'Not live: last data 20 min ago' }).waitFor();
      assert.equal(await admin.locator('.power-flow [data-animated="true"]').count(), 0, 'nothing animates');
      assert.match((await admin.getByTestId('fact-solar').textContent()) ?? '', /was producing 2\.50 kW/);

      // A page that does not exist: a sentence, no code.
      await admin.goto(`${base}/sites/00000000-0000-4000-8000-000000000000`);
      const alert = admin
        .getByRole('alert')
        .filter({ hasText: 'This does not exist or you do not have access' });
      await alert.waitFor();
      assert.doesNotMatch((await admin.locator('main, body').first().textContent()) ?? '', /WF_/);

      // The config editor has nothing to start from: no pushable placeholder.
      await admin.goto(`${base}/nodes/${node.nodeId}/config`);
      await admin.getByTestId('config-unknown').waitFor();
      assert.equal(await admin.getByTestId('config-text').inputValue(), '');
      await admin
        .getByTestId('config-text')
        .fill(
          'version: 2\nhub:\n  url: https://elsewhere.example\nsite:\n  lat: 38\n  lon: 23.7\n  timezone: Europe/Athens\nsources: []\n',
        );
      await admin.getByRole('button', { name: 'Validate' }).click();
      await admin.getByTestId('config-valid').waitFor();
      const risks = await admin.getByTestId('config-risks').textContent();
      assert.match(risks ?? '', /removes every source/);
      assert.match(risks ?? '', /points the node at https:\/\/elsewhere\.example/);
      const pushButton = admin.getByRole('button', { name: 'Push to node' });
      assert.equal(await pushButton.isDisabled(), true, 'not without an explicit confirmation');
      await admin.getByLabel('I understand, push it anyway').check();
      assert.equal(await pushButton.isDisabled(), false);
      await admin.screenshot({ path: join(SCREENSHOTS, `states-config-${layout.name}.png`), fullPage: true });

      // Site access names the installer that installs the site, even without any grant.
      await admin.goto(`${base}/grants?site=${live.siteId}`);
      await admin
        .getByTestId('site-installer')
        .filter({ hasText: `${installerOrg.name} installs this site` })
        .waitFor();
      assert.doesNotMatch(
        (await admin.getByTestId('grants-table').textContent()) ?? '',
        /No installer has access/,
      );
      await admin.context().close();

      // The owner's home: the same word, and today's tiles from the hub's figures.
      const owner = await signInAs(browser, base, 'owner@example.org', PASSWORD, 'Live Loft', setup);
      await owner.locator(`[data-testid="status-badge"][data-state="${word}"]`).waitFor();
      const tiles = owner.getByTestId('today-tiles');
      await tiles.waitFor();
      for (const key of [
        'produced',
        'used',
        'self-consumption',
        'self-sufficiency',
        'imported',
        'exported',
        'peak-demand',
      ])
        await tiles.locator(`[data-tile="${key}"] dd`).waitFor();
      assert.match((await tiles.locator('[data-tile="self-sufficiency"] dd').textContent()) ?? '', /^\d+ %$/);
      assert.equal(await owner.getByText('Solar offset').count(), 0, "no UI-computed 'solar offset'");
      await owner.screenshot({ path: join(SCREENSHOTS, `states-owner-${layout.name}.png`), fullPage: true });
      await owner.context().close();
    });
  }
});
