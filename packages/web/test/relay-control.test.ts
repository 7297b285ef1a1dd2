// Manual relay control in a real browser against a real hub (embedded MQTT broker) and the real
// edge agent in this process, whose sources are the simulator's relay and an eight-coil Modbus
// board served by the stand-in. The owner's toggles show the state the agent read back from the
// device; a bulk action asks for confirmation first (cancel switches nothing); a viewer of the
// same household sees the states and no switch at all. An administrator sets a channel's safety
// limits in the same table; the owner then sees them, cannot edit them, and a switch that would
// break them is refused with a sentence saying so, the device left as it was.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import type { Browser, Page } from 'playwright-core';
import { enroll } from '../../edge/src/identity/enroll.ts';
import { StandInSupervisor } from '../../edge/src/ops/supervisor.ts';
import { Agent } from '../../edge/src/runtime/agent.ts';
import { BUILTIN_TEMPLATES_DIR } from '../../edge/src/sources/modbus/source.ts';
import { type StandIn, startStandIn } from '../../edge/src/sources/modbus/standin.ts';
import { loadTemplate } from '../../edge/src/sources/modbus/template.ts';
import { createSite, type Fixture } from '../../hub/test/helpers/hub.ts';
import { type MqttTestHub, startMqttHub, waitFor } from '../../hub/test/mqtt/mqtt-helpers.ts';
import { ensureBuilt, launchBrowser, listen, SCREENSHOTS, signInAs } from './helpers/portal.ts';

const PASSWORD = 'correct horse battery staple 42';

describe('relay toggles in the portal, confirmed by the real agent', () => {
  let hub: MqttTestHub;
  let browser: Browser;
  let base: string;
  let home: Fixture;
  let agent: Agent | undefined;
  let board: StandIn;
  let owner: Page;
  const dir = mkdtempSync(join(tmpdir(), 'wf-web-relay-'));

  before(async () => {
    ensureBuilt();
    hub = await startMqttHub('pglite');
    home = await createSite(hub, { name: 'Relay Home' });
    for (const [email, role] of [
      ['owner@example.org', 'owner'],
      ['viewer@example.org', 'viewer'],
    ] as const) {
      const res = await hub.admin('POST', '/api/v1/users', {
        email,
        role,
        orgId: home.orgId,
        password: PASSWORD,
        mustChangePassword: false,
      });
      assert.equal(res.statusCode, 201, res.body);
    }
    const operator = await hub.admin('POST', '/api/v1/orgs', { name: 'Operator', kind: 'operator' });
    const admin = await hub.admin('POST', '/api/v1/users', {
      email: 'admin@example.org',
      role: 'admin',
      orgId: operator.json().id,
      password: PASSWORD,
      mustChangePassword: false,
    });
    assert.equal(admin.statusCode, 201, admin.body);
    base = await listen(hub.app);
    board = await startStandIn({
      templates: [await loadTemplate(BUILTIN_TEMPLATES_DIR, 'modbus-relay-board-8')],
      values: () => ({}),
    });
    const code = await hub.admin('POST', `/api/v1/sites/${home.siteId}/enrollment-codes`, {});
    await enroll({
      hubUrl: base,
      code: code.json().code,
      identityPath: join(dir, 'identity.json'),
      name: 'Home agent',
    });
    const configPath = join(dir, 'agent.yaml');
    writeFileSync(
      configPath,
      `version: 2
hub: { url: "${base}", mqttUrl: "${hub.url}" }
identity: { path: ${join(dir, 'identity.json')} }
site: { lat: 52.5, lon: 13.4, timezone: Europe/Berlin }
sources:
  - { type: simulator, key: heater, seed: relay-home, relay: { loadW: 2000 } }
  - { type: modbus-tcp, key: board, host: 127.0.0.1, port: ${board.port}, templates: [modbus-relay-board-8], timeoutMs: 2000 }
poll: { intervalS: 1 }
outbox: { path: ${join(dir, 'agent.db')} }
dashboard: { port: 0, host: 127.0.0.1 }
logging: { level: info, file: ${join(dir, 'agent.log')} }
`,
    );
    agent = await Agent.start({
      configPath,
      supervisor: new StandInSupervisor(),
      logger: pino({ level: 'silent' }),
      heartbeatMs: 500,
    });
    assert.equal(agent.mode, 'running', JSON.stringify(agent.problems));
    await waitFor(() => agent!.control?.connected, 20_000, 'agent control channel');
    await waitFor(
      async () =>
        (await hub.admin('GET', `/api/v1/sites/${home.siteId}/channels`)).json().items?.length === 9,
      30_000,
      'channels registered by the agent',
    );
    browser = await launchBrowser();
    owner = await signInAs(browser, base, 'owner@example.org', PASSWORD, 'Relay Home');
  });

  after(async () => {
    await browser?.close();
    await agent?.stop();
    await board?.close();
    await hub?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a toggle switches the heater and shows the state the agent confirmed', async () => {
    const section = owner.getByRole('region', { name: 'Switchable equipment' });
    const toggle = section.getByRole('switch', { name: 'Switch heater' });
    await toggle.waitFor();
    assert.equal(await toggle.getAttribute('aria-checked'), 'false');
    await toggle.click();
    const row = section.locator('tr[data-channel="heater/"]');
    await row.locator('[data-status="confirmed"]').waitFor({ timeout: 30_000 });
    await section.getByRole('switch', { name: 'Switch heater', checked: true }).waitFor();
    assert.match((await row.getByTestId('channel-status').textContent()) ?? '', /Confirmed on/);
    // The hub has it too, and the audit trail names the switch.
    const list = (await hub.admin('GET', `/api/v1/sites/${home.siteId}/channels`)).json();
    const heater = list.items.find((c: { equipment: string }) => c.equipment === 'heater');
    assert.equal(heater.reportedState, 'on');
    const audit = await hub.app.hub.db
      .selectFrom('audit_log')
      .select('action')
      .where('action', '=', 'equipment.switch')
      .where('target_id', '=', heater.id)
      .execute();
    assert.equal(audit.length, 1);
  });

  it('a bulk action asks first; cancel switches nothing, confirm switches every selected channel', async () => {
    const section = owner.getByRole('region', { name: 'Switchable equipment' });
    await section.getByRole('checkbox', { name: 'Select Relay 1' }).check();
    await section.getByRole('checkbox', { name: 'Select Relay 2' }).check();
    await section.getByRole('button', { name: 'Switch selected on' }).click();
    const dialog = owner.getByRole('dialog', { name: 'Switch 2 channels on?' });
    await dialog.waitFor();
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'detached' });
    assert.equal(board.relayState('ch1'), 'off');

    await section.getByRole('button', { name: 'Switch selected on' }).click();
    await dialog.waitFor();
    await owner.screenshot({ path: join(SCREENSHOTS, 'relay-bulk-confirm.png'), fullPage: true });
    await dialog.getByRole('button', { name: 'Confirm' }).click();
    for (const ch of ['ch1', 'ch2'])
      await section
        .locator(`tr[data-channel="board/${ch}"] [data-status="confirmed"]`)
        .waitFor({ timeout: 30_000 });
    await section.getByRole('switch', { name: 'Switch Relay 1', checked: true }).waitFor();
    await section.getByRole('switch', { name: 'Switch Relay 2', checked: true }).waitFor();
    await section.getByRole('switch', { name: 'Switch Relay 3', checked: false }).waitFor();
    assert.equal(board.relayState('ch1'), 'on');
    assert.equal(board.relayState('ch2'), 'on');
    assert.equal(board.relayState('ch3'), 'off');
  });

  it('a viewer sees the confirmed states and no switch', async () => {
    const viewer = await signInAs(browser, base, 'viewer@example.org', PASSWORD, 'Relay Home');
    const section = viewer.getByRole('region', { name: 'Switchable equipment' });
    await section.getByTestId('control-note').filter({ hasText: 'Viewers see the state only' }).waitFor();
    assert.equal(await section.getByRole('switch').count(), 0);
    assert.equal(await section.getByRole('checkbox').count(), 0);
    assert.equal(
      await section.locator('tr[data-channel="heater/"]').getByTestId('channel-state').textContent(),
      'on',
    );
    await viewer.context().close();
  });

  it('an admin sets safety limits; the owner sees them, cannot edit them, and they hold', async () => {
    const admin = await signInAs(browser, base, 'admin@example.org', PASSWORD, 'Fleet');
    await admin.goto(`${base}/sites/${home.siteId}`);
    const section = admin.getByRole('region', { name: 'Switchable equipment' });
    await section.getByRole('button', { name: 'Edit limits of heater' }).click();
    const form = admin.getByRole('form', { name: 'Safety limits of heater' });
    await form.getByLabel('Minimum off time (seconds, 0 = none)').fill('3600');
    await form.getByLabel('Most switches in any hour (empty = no limit)').fill('0');
    await form.getByRole('button', { name: 'Save limits' }).click();
    // 0 switches an hour is no limit the hub accepts: the field says so and nothing is saved.
    await form.getByRole('alert').waitFor();
    assert.match((await form.getByTestId('error-problems').textContent()) ?? '', /maxSwitchesPerHour/);
    await form.getByLabel('Most switches in any hour (empty = no limit)').fill('');
    await form.getByRole('button', { name: 'Save limits' }).click();
    await form.waitFor({ state: 'detached' });
    const row = section.locator('tr[data-channel="heater/"]');
    assert.equal(await row.getByTestId('channel-limits').textContent(), 'off at least 1 h');
    await admin.screenshot({ path: join(SCREENSHOTS, 'relay-limits.png'), fullPage: true });
    await admin.context().close();
    const heater = (await hub.admin('GET', `/api/v1/sites/${home.siteId}/channels`))
      .json()
      .items.find((c: { equipment: string }) => c.equipment === 'heater');
    assert.deepEqual(heater.limits, { minOnS: 0, minOffS: 3600, maxSwitchesPerHour: null });
    const audit = await hub.app.hub.db
      .selectFrom('audit_log')
      .select('action')
      .where('action', '=', 'equipment.limits')
      .where('target_id', '=', heater.id)
      .execute();
    assert.equal(audit.length, 1);

    // The owner: the limits are shown, there is nothing to edit them with.
    await owner.reload();
    const ownerSection = owner.getByRole('region', { name: 'Switchable equipment' });
    const ownerRow = ownerSection.locator('tr[data-channel="heater/"]');
    await ownerRow.getByTestId('channel-limits').filter({ hasText: 'off at least 1 h' }).waitFor();
    assert.equal(await ownerSection.getByRole('button', { name: /Edit limits/ }).count(), 0);
    // Off is allowed; on again within the hour is not. (Switched on first if it is off now.)
    const heaterSwitch = ownerSection.getByRole('switch', { name: 'Switch heater' });
    if ((await heaterSwitch.getAttribute('aria-checked')) !== 'true') {
      await heaterSwitch.click();
      await ownerRow.locator('[data-status="confirmed"]').filter({ hasText: 'Confirmed on' }).waitFor({
        timeout: 30_000,
      });
    }
    await ownerSection.getByRole('switch', { name: 'Switch heater', checked: true }).click();
    await ownerRow.locator('[data-status="confirmed"]').filter({ hasText: 'Confirmed off' }).waitFor({
      timeout: 30_000,
    });
    await ownerSection.getByRole('switch', { name: 'Switch heater', checked: false }).click();
    const refused = ownerSection.getByRole('alert');
    await refused.filter({ hasText: "This channel's safety limits hold the switch back for now." }).waitFor();
    assert.match((await refused.textContent()) ?? '', /stay off for at least/);
    const after = (await hub.admin('GET', `/api/v1/channels/${heater.id}`)).json();
    assert.equal(after.reportedState, 'off');
    assert.equal(after.desiredState, 'off');
  });
});
