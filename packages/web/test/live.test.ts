// The installer's live view in a real browser against a real hub with its embedded MQTT broker:
// the fleet table follows a node going offline and coming back, its last communication and a new
// alert over the realtime WebSocket without a reload; the installer acknowledges the alert on the
// site page. The nodes are MQTT test clients speaking the protocol (status, live snapshots) and
// signed HTTP for events, the same wire an agent uses.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { topics } from '@wattfleet/protocol';
import type { MqttClient } from 'mqtt';
import type { Browser, Page } from 'playwright-core';
import { alertsIdle } from '../../hub/src/alerts/alerts.plugin.ts';
import { batchId, createSite, type Fixture, TestNode } from '../../hub/test/helpers/hub.ts';
import {
  connectNode,
  type MqttTestHub,
  nodeRow,
  startMqttHub,
  status,
  waitFor,
} from '../../hub/test/mqtt/mqtt-helpers.ts';
import { apiLogin, ensureBuilt, launchBrowser, listen, SCREENSHOTS, signInAs } from './helpers/portal.ts';

const PASSWORD = 'correct horse battery staple 42';

describe('live fleet and alerts in a browser against a real hub with MQTT', () => {
  let hub: MqttTestHub;
  let browser: Browser;
  let base: string;
  let echo: Fixture;
  let farm: Fixture;
  let echoNode: TestNode;
  let farmNode: TestNode;
  let client: MqttClient | undefined;
  let installer: Page;
  let installerId: string;

  /** Connects the echo node over MQTT and reports it online (as an agent does on connect). */
  async function bringOnline(): Promise<void> {
    client = await connectNode(hub.url, echoNode);
    await client.publishAsync(topics.status(echoNode.nodeId), status(), { qos: 1 });
    await waitFor(async () => (await nodeRow(hub, echoNode.nodeId)).status === 'online', 10_000, 'online');
  }

  before(async () => {
    ensureBuilt();
    hub = await startMqttHub('pglite');
    echo = await createSite(hub, { name: 'Echo Estate' });
    farm = await createSite(hub, { name: 'Foxtrot Farm' });
    echoNode = await TestNode.enroll(hub, echo.siteId);
    farmNode = await TestNode.enroll(hub, farm.siteId);
    const org = await hub.admin('POST', '/api/v1/orgs', { name: 'Spark Co', kind: 'installer' });
    for (const siteId of [echo.siteId, farm.siteId]) {
      const grant = await hub.admin('POST', `/api/v1/sites/${siteId}/grants`, { orgId: org.json().id });
      assert.equal(grant.statusCode, 201, grant.body);
    }
    const user = await hub.admin('POST', '/api/v1/users', {
      email: 'installer@example.org',
      role: 'installer',
      orgId: org.json().id,
      password: PASSWORD,
      mustChangePassword: false,
    });
    assert.equal(user.statusCode, 201, user.body);
    installerId = user.json().id;
    // The farm has spoken once over signed HTTP (a sample); it has no MQTT link.
    const res = await farmNode.send('/api/v1/ingest/telemetry', {
      batchId: batchId(),
      samples: [{ metric: 'solar_w', ts: Date.now() - 5000, value: 100 }],
    });
    assert.equal(res.statusCode, 200, res.body);
    await bringOnline();
    base = await listen(hub.app);
    browser = await launchBrowser();
    installer = await signInAs(browser, base, 'installer@example.org', PASSWORD, 'Fleet');
  });

  after(async () => {
    await browser?.close();
    await client?.endAsync();
    await hub?.close();
  });

  it('the fleet row follows a node going offline and coming back, and its last communication, without a reload', async () => {
    const row = installer.locator(`[data-testid="fleet-table"] tr[data-site="${echo.siteId}"]`);
    await row.and(installer.locator('[data-state="healthy"]')).waitFor();
    // A marker on the window: still there at the end means the page was never reloaded.
    await installer.evaluate(() => {
      (window as unknown as { __sameDocument: boolean }).__sameDocument = true;
    });

    await client!.endAsync();
    client = undefined;
    // The node's status changes the row, and the hub's node_offline rule opens an alert at once;
    // an alert that only restates the outage keeps the site under "Offline", not "Alerting".
    await row.getByTestId('node-counts').filter({ hasText: '(1 offline)' }).waitFor();
    await row.and(installer.locator('[data-state="offline"]')).waitFor();
    assert.match((await row.getByTestId('open-alerts').textContent()) ?? '', /1/);
    assert.equal((await nodeRow(hub, echoNode.nodeId)).status_reason, 'clean_disconnect');
    await installer.screenshot({ path: join(SCREENSHOTS, 'fleet-live-offline.png'), fullPage: true });

    await bringOnline();
    // Back: the alert clears on return and the row is healthy again.
    await row.and(installer.locator('[data-state="healthy"]')).waitFor();
    assert.doesNotMatch((await row.getByTestId('node-counts').textContent()) ?? '', /offline/);

    // A live snapshot moves "last communication" to its time, in place.
    const ts = Date.now() + 1000;
    await client!.publishAsync(
      topics.live(echoNode.nodeId),
      JSON.stringify({ ts, values: { solar_w: 1500 } }),
      { qos: 0 },
    );
    await row
      .locator(`[data-testid="last-communication"][data-at="${new Date(ts).toISOString()}"]`)
      .waitFor();
    assert.equal(
      await installer.evaluate(() => (window as unknown as { __sameDocument?: boolean }).__sameDocument),
      true,
      'the page was not reloaded',
    );
  });

  it('a new alert turns the fleet row to Alerting live; the installer acknowledges it on the site page', async () => {
    const row = installer.locator(`[data-testid="fleet-table"] tr[data-site="${farm.siteId}"]`);
    await row.and(installer.locator('[data-state="healthy"], [data-state="commissioning"]')).waitFor();
    // More than ten errors within the hour: the error_burst rule opens an alert.
    const now = Date.now();
    const res = await farmNode.send('/api/v1/ingest/events', {
      batchId: batchId('ev'),
      events: Array.from({ length: 11 }, (_, i) => ({
        ts: now - (11 - i) * 1000,
        kind: 'modbus.error',
        severity: 'error',
        message: 'inverter did not answer',
      })),
    });
    assert.equal(res.statusCode, 200, res.body);
    await alertsIdle(hub.app.hub);
    await row.and(installer.locator('[data-state="alerting"]')).waitFor();
    await installer.screenshot({ path: join(SCREENSHOTS, 'fleet-live-alerting.png'), fullPage: true });

    await row.getByRole('link', { name: 'Foxtrot Farm' }).click();
    await installer.getByRole('heading', { name: 'Foxtrot Farm' }).waitFor();
    const alert = installer.locator('[data-testid="alert-list"] li[data-rule="error_burst"]');
    await alert.and(installer.locator('[data-state="open"]')).waitFor();
    await alert.getByRole('button', { name: /^Acknowledge/ }).click();
    await alert.and(installer.locator('[data-state="acknowledged"]')).waitFor();
    assert.equal(await alert.getByRole('button', { name: /^Acknowledge/ }).count(), 0);
    await installer.screenshot({ path: join(SCREENSHOTS, 'alert-acknowledged.png'), fullPage: true });

    const token = await apiLogin(base, 'installer@example.org', PASSWORD);
    const list = await fetch(`${base}/api/v1/alerts?siteId=${farm.siteId}&state=acknowledged`, {
      headers: { authorization: `Bearer ${token}` },
    });
    const rows = (await list.json()) as { rule: string; acknowledged_by: string | null }[];
    const acked = rows.find((r) => r.rule === 'error_burst');
    assert.ok(acked, JSON.stringify(rows));
    assert.ok(acked.acknowledged_by?.includes(installerId), `acknowledged by ${acked.acknowledged_by}`);
  });
});
