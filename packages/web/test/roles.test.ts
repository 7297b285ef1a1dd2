// Each role's main flow in a real browser against a real hub (PGlite, embedded MQTT broker):
// password login per role, a live value pushed over MQTT changing on screen, a command answered
// by an MQTT test node and seen succeeding, fleet filters, a CSV download checked row by row,
// an invalid config refused with its problems, and an owner kept out of another site.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type CommandEnvelope, topics } from '@wattfleet/protocol';
import { localDayStart } from '@wattfleet/protocol/zoned';
import type { MqttClient } from 'mqtt';
import type { Browser, Page } from 'playwright-core';
import { drainRollups } from '../../hub/src/rollups/rollup.job.ts';
import { batchId, createSite, type Fixture, TestNode } from '../../hub/test/helpers/hub.ts';
import { connectNode, type MqttTestHub, startMqttHub, status } from '../../hub/test/mqtt/mqtt-helpers.ts';
import {
  accessTokenOf,
  ensureBuilt,
  launchBrowser,
  SCREENSHOTS,
  signInAs,
  siteWallTime,
  testNow,
} from './helpers/portal.ts';

const PASSWORD = 'correct horse battery staple 42';
const SITE_TZ = 'Europe/Berlin';

describe('each role in a browser against a real hub with MQTT', () => {
  let hub: MqttTestHub;
  let browser: Browser;
  let base: string;
  let mine: Fixture;
  let other: Fixture;
  let node: TestNode;
  let otherNode: TestNode;
  let client: MqttClient;
  const envelopes: CommandEnvelope[] = [];
  const now = testNow(SITE_TZ);
  const sampleTimes = Array.from({ length: 40 }, (_, i) => now - (40 - i) * 60_000);

  before(async () => {
    ensureBuilt();
    hub = await startMqttHub('pglite');
    mine = await createSite(hub, { name: 'Alpha Roof', timezone: SITE_TZ });
    other = await createSite(hub, { name: 'Beta Barn' });
    node = await TestNode.enroll(hub, mine.siteId);
    otherNode = await TestNode.enroll(hub, other.siteId);
    const installerOrg = await hub.admin('POST', '/api/v1/orgs', {
      name: 'Sparky Installers',
      kind: 'installer',
    });
    const grant = await hub.admin('POST', `/api/v1/sites/${mine.siteId}/grants`, {
      orgId: installerOrg.json().id,
    });
    assert.equal(grant.statusCode, 201, grant.body);
    const operator = await hub.admin('POST', '/api/v1/orgs', { name: 'Operator', kind: 'operator' });
    for (const [email, role, orgId] of [
      ['admin@example.org', 'admin', operator.json().id],
      ['installer@example.org', 'installer', installerOrg.json().id],
      ['owner@example.org', 'owner', mine.orgId],
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
    // Forty minutes of samples before "now", across the site's midnight when now is 00:05; the
    // browser's clock is pinned at now, so "today" is the site's day of now at any real hour.
    const samples = [];
    for (let i = 0; i < 40; i++) {
      const ts = sampleTimes[i]!;
      samples.push({ metric: 'solar_w', ts, value: 2000 + i }, { metric: 'load_w', ts, value: 800 });
    }
    const res = await node.send('/api/v1/ingest/telemetry', { batchId: batchId(), samples });
    assert.equal(res.statusCode, 200, res.body);
    await drainRollups(hub.app.hub);
    // The node is online over MQTT and answers every command it gets.
    client = await connectNode(hub.url, node);
    client.on('message', (topic, payload) => {
      if (topic !== topics.commands(node.nodeId)) return;
      const env = JSON.parse(payload.toString()) as CommandEnvelope;
      envelopes.push(env);
      const data = env.type === 'DIAGNOSTICS' ? { data: { diskFreeBytes: 123456789, ok: true } } : {};
      void client.publishAsync(
        topics.responses(node.nodeId),
        JSON.stringify({ id: env.id, state: 'succeeded', ts: Date.now(), ...data }),
        { qos: 1 },
      );
    });
    await client.subscribeAsync(topics.commands(node.nodeId), { qos: 1 });
    await client.publishAsync(topics.status(node.nodeId), status(), { qos: 1 });
    void otherNode;
    await hub.app.listen({ port: 0, host: '127.0.0.1' });
    const addr = hub.app.server.address();
    assert.ok(addr && typeof addr === 'object');
    base = `http://127.0.0.1:${addr.port}`;
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await client?.endAsync();
    await hub?.close();
  });

  const signIn = (email: string, landing: string): Promise<Page> =>
    signInAs(browser, base, email, PASSWORD, landing, { now });

  it('admin: fleet filters, invalid config refused with every problem, users and rollout pages', async () => {
    const page = await signIn('admin@example.org', 'Fleet');
    const table = page.getByTestId('fleet-table');
    await table.getByRole('link', { name: 'Alpha Roof' }).waitFor();
    assert.equal(await table.locator('tbody tr').count(), 2);
    await page.getByRole('button', { name: /^Commissioning/ }).click();
    await table.getByRole('link', { name: 'Beta Barn' }).waitFor();
    assert.equal(await table.locator('tbody tr').count(), 1, 'the silent site is still commissioning');
    await page.getByRole('button', { name: /^Healthy/ }).click();
    await table.getByRole('link', { name: 'Alpha Roof' }).waitFor();
    assert.equal(await table.locator('tbody tr').count(), 1);
    assert.equal(await table.getByRole('link', { name: 'Beta Barn' }).count(), 0);
    await page.screenshot({ path: join(SCREENSHOTS, 'fleet-admin.png'), fullPage: true });

    await page.goto(`${base}/nodes/${node.nodeId}/config`);
    const text = page.getByTestId('config-text');
    await text.fill('version: 2\nhub:\n  url: ftp://nope\nsite:\n  lat: 123\n  lon: 0\n  timezone: UTC\n');
    await page.getByRole('button', { name: 'Validate' }).click();
    const problems = page.getByTestId('config-problems');
    await problems.waitFor();
    const listed = await problems.locator('li').allTextContents();
    assert.ok(
      listed.some((l) => l.includes('line 3') && l.includes('/hub/url')),
      listed.join('\n'),
    );
    assert.ok(
      listed.some((l) => l.includes('line 5') && l.includes('/site/lat')),
      listed.join('\n'),
    );
    assert.equal(await page.getByRole('button', { name: 'Push to node' }).isDisabled(), true);
    await page.getByTestId('config-diff').waitFor();
    await page.screenshot({ path: join(SCREENSHOTS, 'config-invalid.png'), fullPage: true });

    await page.getByRole('link', { name: 'Users' }).click();
    await page.getByTestId('users-table').locator('tr[data-email="owner@example.org"]').waitFor();
    await page.screenshot({ path: join(SCREENSHOTS, 'users.png'), fullPage: true });
    await page.getByRole('link', { name: 'Rollout' }).click();
    await page.getByTestId('rollout-table').locator(`tr[data-node="${node.nodeId}"]`).waitFor();
    await page.screenshot({ path: join(SCREENSHOTS, 'rollout.png'), fullPage: true });
    await page.getByRole('link', { name: 'Audit' }).click();
    await page.getByTestId('audit-table').locator('tbody tr').first().waitFor();
    await page.screenshot({ path: join(SCREENSHOTS, 'audit.png'), fullPage: true });
    await page.close();
  });

  it('installer: sees only the granted site, runs diagnostics answered by the node, downloads CSV', async () => {
    const page = await signIn('installer@example.org', 'Fleet');
    const table = page.getByTestId('fleet-table');
    await table.getByRole('link', { name: 'Alpha Roof' }).click();
    await page.getByRole('heading', { name: 'Alpha Roof' }).waitFor();
    await page.getByRole('button', { name: 'Run diagnostics' }).click();
    await page.locator('[data-testid="diagnostics"] [data-state="succeeded"]').waitFor();
    assert.match((await page.getByTestId('diagnostics-result').textContent()) ?? '', /123456789/);
    assert.ok(
      envelopes.some((e) => e.type === 'DIAGNOSTICS'),
      'the node received the command over MQTT',
    );

    // The last hour, on the site's clock: short enough for raw samples (24 h would come back hourly).
    await page.getByLabel('From').fill(siteWallTime(now - 3_600_000, SITE_TZ));
    const downloading = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Download CSV' }).click();
    const download = await downloading;
    const csv = await readFile((await download.path())!, 'utf8');
    const lines = csv.trim().split('\n');
    assert.match((await page.getByTestId('csv-note').textContent()) ?? '', /raw resolution/);
    assert.match(lines[0]!, /^timestamp,/);
    assert.ok(lines[0]!.includes('solar_w') && lines[0]!.includes('load_w'), lines[0]);
    assert.ok(lines.length >= 41, `40 minutes of samples, got ${lines.length - 1} rows`);
    const solarCol = lines[0]!.split(',').indexOf('solar_w');
    const values = lines.slice(1).map((l) => Number(l.split(',')[solarCol]));
    assert.ok(values.includes(2000) && values.includes(2039), 'first and last samples are in the file');
    await page.screenshot({ path: join(SCREENSHOTS, 'site-installer.png'), fullPage: true });
    await page.close();
  });

  it('owner: live value changes on screen, chart has points, another site stays hidden', async () => {
    const page = await signIn('owner@example.org', 'Alpha Roof');
    await page.getByTestId('fact-solar').waitFor();
    await client.publishAsync(
      topics.live(node.nodeId),
      JSON.stringify({ ts: Date.now(), values: { solar_w: 4321, load_w: 1000, grid_w: -3321 } }),
      { qos: 0 },
    );
    await page.getByTestId('fact-solar').filter({ hasText: 'producing 4.32 kW' }).waitFor();
    await client.publishAsync(
      topics.live(node.nodeId),
      JSON.stringify({ ts: Date.now(), values: { solar_w: 1234, load_w: 1000, grid_w: -234 } }),
      { qos: 0 },
    );
    await page.getByTestId('fact-solar').filter({ hasText: 'producing 1.23 kW' }).waitFor();
    const chart = page.locator('.chart');
    await chart.locator('canvas').waitFor();
    const sinceMidnight = sampleTimes.filter((ts) => ts >= localDayStart(now, SITE_TZ)).length;
    assert.equal(
      Number(await chart.getAttribute('data-points')),
      sinceMidnight,
      "the site's today: raw samples",
    );
    await page.getByTestId('energy-daily').waitFor();
    await page.screenshot({ path: join(SCREENSHOTS, 'owner-home.png'), fullPage: true });

    await page.goto(`${base}/sites/${other.siteId}`);
    await page.getByRole('heading', { name: 'Not available' }).waitFor();
    assert.equal(await page.getByText('Beta Barn').count(), 0, "the other site's name never shows");
    // The access token lives in the page's memory only: nothing in storage, the refresh cookie
    // out of reach of scripts.
    const stored = await page.evaluate(() => ({
      local: JSON.stringify({ ...localStorage }),
      session: JSON.stringify({ ...sessionStorage }),
      cookies: document.cookie,
    }));
    const token = accessTokenOf(page);
    for (const [where, text] of Object.entries(stored)) {
      assert.equal(text.includes(token), false, `the access token is in ${where}`);
      assert.equal(/wf_refresh|refreshToken|accessToken/.test(text), false, `a token is in ${where}`);
    }
    for (const url of [
      `/api/v1/sites/${other.siteId}`,
      `/api/v1/sites/${other.siteId}/telemetry?from=2020-01-01T00:00:00Z&to=2030-01-01T00:00:00Z`,
    ]) {
      const res = await fetch(`${base}${url}`, { headers: { authorization: `Bearer ${token}` } });
      assert.ok(res.status === 404 || res.status === 403, `${url} answered ${res.status}`);
      assert.ok(!(await res.text()).includes('Beta Barn'));
    }
    await page.screenshot({ path: join(SCREENSHOTS, 'owner-foreign-site.png'), fullPage: true });
    await page.close();
  });
});
