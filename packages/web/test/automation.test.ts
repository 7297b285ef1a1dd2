// Schedules, scenes and rules in the portal (issue 13 item 9), in Chromium against a real hub
// (PGlite, embedded MQTT broker) and the real edge agent in this process, whose simulator relay
// and eight-coil Modbus board (served by the stand-in) register the site's switchable channels.
// The site is in Tokyo, the browser in Los Angeles: every time on these pages is the site's.
// History for the dry run goes through the real ingest path (a second enrolled node signing its
// batches like an agent); nothing is written to hub tables by hand.
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
import { AutomationService } from '../../hub/src/automation/automation.service.ts';
import { ScheduleRunner } from '../../hub/src/automation/schedules/runner.ts';
import { batchId, createSite, type Fixture, TestNode } from '../../hub/test/helpers/hub.ts';
import { type MqttTestHub, startMqttHub, waitFor } from '../../hub/test/mqtt/mqtt-helpers.ts';
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
const SITE_TZ = 'Asia/Tokyo';
const BROWSER_TZ = 'America/Los_Angeles';
const MIN = 60_000;
const [DESKTOP, PHONE] = LAYOUTS as [(typeof LAYOUTS)[number], (typeof LAYOUTS)[number]];

/** "Mon 2026-12-07 06:30" for an instant on a zone's clock, by Intl (not the portal's code). */
function zoned(iso: string, timeZone: string): string {
  const p = Object.fromEntries(
    new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      weekday: 'short',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
    })
      .formatToParts(new Date(iso))
      .map((x) => [x.type, x.value]),
  );
  return `${p.weekday} ${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}`;
}

interface ChannelRow {
  id: string;
  equipment: string;
  channel: string;
}

describe('automation screens: schedules, scenes and rules of a site', () => {
  let hub: MqttTestHub;
  let browser: Browser;
  let base: string;
  let home: Fixture;
  let agent: Agent | undefined;
  let board: StandIn;
  let history: TestNode;
  let heater: ChannelRow;
  let owner: Page;
  const dir = mkdtempSync(join(tmpdir(), 'wf-web-auto-'));
  // Two export spells two days ago, each 10 min at -2.5 kW, from the history node only.
  const spellStart = Date.now() - 2 * 86_400_000;
  const crossings = [spellStart + 10 * MIN, spellStart + 30 * MIN];

  const api = async (method: string, url: string, body?: unknown) => {
    const res = await hub.admin(method, url, body);
    assert.ok(res.statusCode < 300, `${method} ${url}: ${res.statusCode} ${res.body}`);
    return res.json();
  };
  const overflow = (page: Page) =>
    page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);

  before(async () => {
    ensureBuilt();
    hub = await startMqttHub('pglite');
    home = await createSite(hub, {
      name: 'Tokyo Terrace',
      timezone: SITE_TZ,
      latitude: 35.68,
      longitude: 139.69,
    });
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
site: { lat: 35.68, lon: 139.69, timezone: ${SITE_TZ} }
sources:
  - { type: simulator, key: heater, seed: tokyo-terrace, relay: { loadW: 2000 } }
  - { type: modbus-tcp, key: board, host: 127.0.0.1, port: ${board.port}, templates: [modbus-relay-board-8], timeoutMs: 2000 }
poll: { intervalS: 1 }
outbox: { path: ${join(dir, 'agent.db')} }
dashboard: { port: 0, host: 127.0.0.1 }
logging: { level: info, file: ${join(dir, 'agent.log')} }
automation: { edgeExecution: false }
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
    const channels = (await api('GET', `/api/v1/sites/${home.siteId}/channels`)).items as ChannelRow[];
    heater = channels.find((c) => c.equipment === 'heater')!;

    // The dry run's history, through the signed ingest API like an agent's upload.
    history = await TestNode.enroll(hub, home.siteId);
    const samples: { metric: string; ts: number; value: number }[] = [];
    for (let t = spellStart; t < spellStart + 40 * MIN; t += MIN) {
      const inSpell = crossings.some((c) => t >= c && t < c + 10 * MIN);
      samples.push({ metric: 'grid_w', ts: t, value: inSpell ? -2500 : -1000 });
    }
    const res = await history.send('/api/v1/ingest/telemetry', { batchId: batchId('auto'), samples });
    assert.equal(res.statusCode, 200, res.body);

    browser = await launchBrowser();
    owner = await signInAs(browser, base, 'owner@example.org', PASSWORD, 'Tokyo Terrace', {
      viewport: DESKTOP.viewport,
      colorScheme: DESKTOP.colorScheme,
      timezoneId: BROWSER_TZ,
    });
  });

  after(async () => {
    await browser?.close();
    await agent?.stop();
    await board?.close();
    await hub?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('creates a weekly schedule in the editor; the list shows its next run on the site clock', async () => {
    await owner.getByRole('link', { name: 'Schedules, scenes and rules' }).click();
    await owner.getByRole('heading', { name: 'Automation', level: 1 }).waitFor();
    await owner.getByTestId('site-zone').filter({ hasText: SITE_TZ }).waitFor();
    await owner.getByRole('link', { name: 'New schedule' }).click();
    const form = owner.getByRole('form', { name: 'New schedule' });
    await form.getByLabel('Name').fill('Weekday heater');
    await form.getByLabel('Channel').selectOption({ label: 'heater (Home agent)' });
    // Weekdays Monday–Friday are ticked by default; add Saturday, untick Friday.
    await form.getByRole('checkbox', { name: 'Saturday' }).check();
    await form.getByRole('checkbox', { name: 'Friday' }).uncheck();
    await form.getByLabel('Start time').fill('06:30');
    await form.getByLabel('End time').fill('08:00');
    await form.getByLabel('Priority').fill('200');
    await form.getByLabel('Exception dates (the schedule does nothing): date to add').fill('2099-01-01');
    await form.getByRole('button', { name: 'Add date' }).last().click();
    await form.getByRole('button', { name: 'Create schedule' }).click();
    await owner.getByRole('heading', { name: 'Schedule: Weekday heater' }).waitFor();

    // The hub holds exactly what was typed: wall times of the site, ISO weekdays.
    const list = await api('GET', `/api/v1/sites/${home.siteId}/schedules`);
    assert.equal(list.items.length, 1);
    const saved = list.items[0];
    assert.deepEqual(saved.rule, {
      days: { kind: 'weekly', weekdays: [1, 2, 3, 4, 6] },
      start: { at: '06:30' },
      end: { at: '08:00' },
      action: 'on',
    });
    assert.equal(saved.channelId, heater.id);
    assert.equal(saved.priority, 200);
    assert.deepEqual(saved.exceptDates, ['2099-01-01']);
    assert.ok(saved.next.length > 0, 'the hub lists its next switching instants');

    // Its page lists the next runs on the site's clock too.
    const upcoming = owner.getByTestId('upcoming');
    await upcoming
      .getByText(`${zoned(saved.next[0].dueAt, SITE_TZ)} → on`)
      .first()
      .waitFor();

    await owner.getByRole('link', { name: 'Automation' }).click();
    const row = owner.locator('tr[data-schedule="Weekday heater"]');
    const next = (await row.getByTestId('next-run').textContent()) ?? '';
    const expected = zoned(saved.next[0].dueAt, SITE_TZ);
    assert.equal(next, `${expected} → ${saved.next[0].state}`);
    assert.match(expected, / (06:30|08:00)$/, 'a site-local window edge');
    // Not the browser's clock: Los Angeles reads the same instant 17 hours earlier.
    assert.notEqual(zoned(saved.next[0].dueAt, BROWSER_TZ), expected);
    assert.ok(!next.includes(zoned(saved.next[0].dueAt, BROWSER_TZ)));
    assert.match((await row.textContent()) ?? '', /heater \(Home agent\)/);
    // This agent keeps its schedules on the hub (edgeExecution: false): the list says who runs it.
    assert.equal(await row.getByTestId('executor').textContent(), 'Hub');

    // Disable in place; the hub has it disabled.
    await row.getByRole('switch', { name: 'Enable Weekday heater' }).click();
    await row.getByRole('switch', { name: 'Enable Weekday heater', checked: false }).waitFor();
    assert.equal((await api('GET', `/api/v1/schedules/${saved.id}`)).enabled, false);
    await row.getByRole('switch', { name: 'Enable Weekday heater' }).click();
    await row.getByRole('switch', { name: 'Enable Weekday heater', checked: true }).waitFor();
  });

  it('a rule with an impossible threshold shows every problem at once, each beside its field', async () => {
    await owner.goto(`${base}/sites/${home.siteId}/automation/rules/new`);
    const form = owner.getByRole('form', { name: 'New rule' });
    await form.getByLabel('Name', { exact: true }).fill('Impossible charge');
    await form.getByLabel('Metric', { exact: true }).fill('battery_soc');
    await form.getByLabel('Direction', { exact: true }).selectOption('above');
    await form.getByLabel(/^Threshold/).fill('150');
    await form.getByLabel('For at least (s)', { exact: true }).fill('60');
    await form.getByLabel(/^Hysteresis/).fill('200');
    await form.getByRole('button', { name: 'Add condition' }).click();
    await form.getByLabel('Condition 1 kind').selectOption('battery_soc');
    await form.getByLabel('Condition 1 minimum (%)').fill('80');
    await form.getByLabel('Condition 1 maximum (%)').fill('20');
    await form.getByLabel('Action 1 channel').selectOption({ label: 'heater (Home agent)' });
    await form.getByRole('button', { name: 'Create rule' }).click();

    const summary = form.getByTestId('problem-summary');
    await summary.waitFor();
    await form
      .getByRole('alert')
      .filter({ hasText: 'Some of the values are not valid. Correct the fields listed below' })
      .waitFor();
    const items = await summary.locator('li').allTextContents();
    assert.equal(items.length, 3, items.join('\n'));
    assert.match(items.join('\n'), /Trigger · Threshold: battery_soc never exceeds 100/);
    assert.match(items.join('\n'), /Trigger · Hysteresis: Hysteresis 200 is not smaller than the range/);
    assert.match(items.join('\n'), /Condition 1 · Minimum: min 80 is above max 20/);
    // And beside each field, with the field marked invalid.
    for (const [path, label] of [
      ['/body/trigger/threshold', /^Threshold/],
      ['/body/trigger/hysteresis', /^Hysteresis/],
      ['/body/conditions/0/min', /^Condition 1 minimum/],
    ] as const) {
      const problem = form.locator(`[data-testid="field-problem"][data-path="${path}"]`);
      await problem.waitFor();
      const input = form.getByLabel(label);
      assert.equal(await input.getAttribute('aria-invalid'), 'true', path);
      // The problem is the field's description, right beside it.
      assert.equal(await input.getAttribute('aria-describedby'), await problem.getAttribute('id'));
    }
    await owner.screenshot({ path: join(SCREENSHOTS, 'automation-rule-problems.png'), fullPage: true });
    assert.equal((await api('GET', `/api/v1/sites/${home.siteId}/rules`)).items.length, 0);
  });

  it("a valid rule's dry run lists when it would have fired over 7 days and what it would switch", async () => {
    await owner.goto(`${base}/sites/${home.siteId}/automation/rules/new`);
    const form = owner.getByRole('form', { name: 'New rule' });
    await form.getByLabel('Name', { exact: true }).fill('Heater on export');
    await form.getByLabel('Metric', { exact: true }).fill('grid_w');
    await form.getByLabel('Node', { exact: true }).selectOption({ label: 'test agent' });
    await form.getByLabel('Direction', { exact: true }).selectOption('below');
    await form.getByLabel(/^Threshold/).fill('-2000');
    await form.getByLabel('For at least (s)', { exact: true }).fill('300');
    await form.getByLabel(/^Hysteresis/).fill('200');
    await form.getByLabel('Action 1 channel').selectOption({ label: 'heater (Home agent)' });
    await form.getByRole('button', { name: 'Dry run (last 7 days)' }).click();

    const dry = owner.getByTestId('dry-run');
    await dry.waitFor({ timeout: 30_000 });
    const rows = dry.getByTestId('dry-firing');
    assert.equal(await rows.count(), 2);
    // The hub's own replay of the same definition (what the page asked for) says the same.
    const definition = {
      trigger: {
        type: 'metric',
        metric: 'grid_w',
        nodeId: history.nodeId,
        op: 'below',
        threshold: -2000,
        forS: 300,
        hysteresis: 200,
      },
      conditions: [],
      actions: [{ type: 'set_channel', channelId: heater.id, state: 'on' }],
    };
    const replay = await api('POST', `/api/v1/sites/${home.siteId}/rules/dry-run`, definition);
    assert.equal(replay.samples, 40);
    assert.deepEqual(
      replay.firings.map((f: { crossingAt: string }) => Date.parse(f.crossingAt)),
      crossings,
    );
    for (let i = 0; i < 2; i++) {
      const f = replay.firings[i];
      assert.equal(Date.parse(f.firedAt), crossings[i]! + 5 * MIN, 'after holding 5 min');
      const cells = await rows.nth(i).locator('td').allTextContents();
      assert.equal(cells[0], zoned(f.firedAt, SITE_TZ));
      assert.match(cells[1]!, /grid_w -2\.5 kW for 5 min ≤ -2 kW/);
      assert.equal(cells[2], 'fires');
      assert.equal(cells[3], 'heater (Home agent) on');
    }
    assert.match(
      (await dry.getByTestId('dry-run-summary').textContent()) ?? '',
      /40 stored samples replayed; it would have fired 2 times/,
    );
    await owner.screenshot({ path: join(SCREENSHOTS, 'automation-dry-run.png'), fullPage: true });

    // Saved, it is listed with its trigger and action in words.
    await form.getByRole('button', { name: 'Create rule' }).click();
    await owner.getByRole('heading', { name: 'Rule: Heater on export' }).waitFor();
    await owner.getByRole('link', { name: 'Automation' }).click();
    const row = owner.locator('tr[data-rule="Heater on export"]');
    await row.waitFor();
    assert.match((await row.textContent()) ?? '', /grid_w below -2000 W for 300 s/);
    assert.match((await row.textContent()) ?? '', /switch heater \(Home agent\) on/);
  });

  it('run logs: a live rule firing and a due schedule run, each on its page in site time', async () => {
    // Live telemetry through the ingest path makes the saved rule fire: it switches the heater.
    const rule = (await api('GET', `/api/v1/sites/${home.siteId}/rules`)).items.find(
      (r: { name: string }) => r.name === 'Heater on export',
    );
    const t0 = Date.now() - 10 * MIN;
    const samples = [0, 1, 2, 3, 4, 5, 6, 7].map((i) => ({
      metric: 'grid_w',
      ts: t0 + i * MIN,
      value: i === 0 ? -1000 : -2600,
    }));
    const res = await history.send('/api/v1/ingest/telemetry', { batchId: batchId('live'), samples });
    assert.equal(res.statusCode, 200, res.body);
    await waitFor(
      async () => (await api('GET', `/api/v1/rules/${rule.id}/firings`)).items.length > 0,
      30_000,
      'the rule fired',
    );
    const [firing] = (await api('GET', `/api/v1/rules/${rule.id}/firings`)).items;
    assert.equal(Date.parse(firing.firedAt), t0 + 6 * MIN);
    await owner.goto(`${base}/sites/${home.siteId}/automation/rules/${rule.id}`);
    const ruleLog = owner.getByTestId('run-log').locator('tbody tr');
    await ruleLog.first().waitFor();
    const cells = await ruleLog.first().locator('td').allTextContents();
    assert.equal(cells[0], zoned(firing.firedAt, SITE_TZ));
    assert.match(cells[1]!, /grid_w -2\.6 kW for 5 min ≤ -2 kW/);
    assert.equal(cells[2], 'fired');
    assert.match(cells[3]!, /set_channel on heater \(Home agent\): ok/);

    // A schedule due a few minutes from now, run by the hub's schedule runner (this agent keeps its
    // schedules on the hub: automation.edgeExecution false; edge execution has its own e2e test in
    // packages/edge/test/edge-automation-e2e.test.ts) with its clock four
    // minutes ahead (test hubs do not start the cron jobs; the runner's "now" is injectable), so
    // the test does not wait for the time of day.
    const dueAt = Math.ceil((Date.now() + 3 * MIN) / MIN) * MIN;
    const at = zoned(new Date(dueAt).toISOString(), SITE_TZ).slice(-5);
    const relay3 = (await api('GET', `/api/v1/sites/${home.siteId}/channels`)).items.find(
      (c: ChannelRow) => c.equipment === 'board' && c.channel === 'ch3',
    );
    const schedule = await api('POST', `/api/v1/sites/${home.siteId}/schedules`, {
      channelId: relay3.id,
      name: 'Relay 3 soon',
      priority: 100,
      rule: { days: { kind: 'weekly', weekdays: [1, 2, 3, 4, 5, 6, 7] }, start: { at }, action: 'on' },
    });
    const runner = new ScheduleRunner(
      hub.app.hub,
      new AutomationService(hub.app.hub, () => hub.app.controlPlane.commands),
      { now: () => Date.now() + 4 * MIN },
      { error: (obj, msg) => console.error(msg, obj) },
    );
    const summary = await runner.tick();
    assert.ok(summary.done >= 1, JSON.stringify(summary));
    const runs = (await api('GET', `/api/v1/schedules/${schedule.id}/runs`)).items;
    assert.deepEqual(
      runs.map((r: { outcome: string; dueAt: string }) => [r.outcome, Date.parse(r.dueAt)]),
      [['done', dueAt]],
    );
    await waitFor(() => board.relayState('ch3') === 'on', 30_000, 'relay 3 switched on');
    await owner.goto(`${base}/sites/${home.siteId}/automation/schedules/${schedule.id}`);
    const runRow = owner.getByTestId('run-log').locator('tbody tr').first();
    await runRow.waitFor();
    const run = await runRow.locator('td').allTextContents();
    assert.equal(run[0], zoned(new Date(dueAt).toISOString(), SITE_TZ));
    assert.equal(run[2], 'on');
    assert.match(run[3]!, /^switched/);
  });

  it('a scene sets channels across the site; activation shows a result per target', async () => {
    await owner.goto(`${base}/sites/${home.siteId}/automation/scenes/new`);
    const form = owner.getByRole('form', { name: 'New scene' });
    await form.getByLabel('Name').fill('Evening');
    await form.getByLabel('Relay 1 in this scene').selectOption('on');
    await form.getByLabel('Relay 2 in this scene').selectOption('off');
    await form.getByRole('button', { name: 'Create scene' }).click();
    await owner.getByRole('heading', { name: 'Scene: Evening' }).waitFor();
    await owner.getByRole('button', { name: 'Activate scene' }).click();
    const activation = owner.getByRole('region', { name: 'Activate' }).getByTestId('activation');
    await activation.and(owner.locator('[data-status="succeeded"]')).waitFor({ timeout: 30_000 });
    const outcomes = await activation
      .locator('li')
      .evaluateAll((lis) =>
        lis.map((li) => [li.textContent?.split(' → ')[0], (li as HTMLElement).dataset.outcome]),
      );
    const byName = Object.fromEntries(outcomes);
    assert.equal(byName['Relay 1 (Home agent)'], 'confirmed');
    // Relay 2 was already off: the hub may report it unchanged or confirm it again.
    assert.ok(
      ['confirmed', 'unchanged'].includes(byName['Relay 2 (Home agent)'] ?? ''),
      JSON.stringify(outcomes),
    );
    assert.equal(board.relayState('ch1'), 'on');
  });

  it('a viewer sees schedules, scenes and rules without any edit control', async () => {
    const viewer = await signInAs(browser, base, 'viewer@example.org', PASSWORD, 'Tokyo Terrace', {
      viewport: PHONE.viewport,
      colorScheme: PHONE.colorScheme,
      timezoneId: BROWSER_TZ,
    });
    await viewer.getByRole('link', { name: 'Schedules, scenes and rules' }).click();
    await viewer.getByTestId('read-only-note').waitFor();
    const main = viewer.locator('main');
    await main.locator('tr[data-schedule="Weekday heater"]').waitFor();
    await main.locator('tr[data-rule="Heater on export"]').waitFor();
    await main.locator('tr[data-scene="Evening"]').waitFor();
    const noEditing = async (where: string) => {
      for (const name of ['New schedule', 'New scene', 'New rule'])
        assert.equal(await main.getByRole('link', { name }).count(), 0, `${where}: ${name}`);
      assert.equal(await main.getByRole('switch').count(), 0, `${where}: switches`);
      assert.equal(await main.locator('form, input, select, textarea').count(), 0, `${where}: inputs`);
      const buttons = await main.getByRole('button').allTextContents();
      assert.deepEqual(
        buttons.filter((b) => b !== 'Refresh'),
        [],
        `${where}: only Refresh may be pressed`,
      );
    };
    await noEditing('list');
    assert.equal(
      await main.locator('tr[data-schedule="Weekday heater"]').getByTestId('enabled-state').textContent(),
      'enabled',
    );
    assert.ok((await overflow(viewer)) <= 0, 'the list fits a phone');

    await main.getByRole('link', { name: 'Weekday heater' }).click();
    await viewer.getByTestId('schedule-summary').waitFor();
    await viewer.getByTestId('run-log').waitFor();
    await noEditing('schedule');
    await viewer.goBack();
    await main.getByRole('link', { name: 'Heater on export' }).click();
    await viewer.getByTestId('rule-words').waitFor();
    assert.match((await viewer.getByTestId('rule-words').textContent()) ?? '', /grid_w below -2000 W/);
    await noEditing('rule');
    assert.equal(await viewer.getByRole('button', { name: /Dry run/ }).count(), 0);
    await viewer.goBack();
    await main.getByRole('link', { name: 'Evening' }).click();
    await viewer.getByTestId('scene-targets').waitFor();
    await noEditing('scene');
    await viewer.context().close();
  });

  for (const layout of LAYOUTS) {
    it(`${layout.name}: list, schedule editor and rule dry run fit the screen, no serious axe-core violation`, async () => {
      const page = await signInAs(browser, base, 'owner@example.org', PASSWORD, 'Tokyo Terrace', {
        viewport: layout.viewport,
        colorScheme: layout.colorScheme,
        timezoneId: BROWSER_TZ,
      });
      const check = async (what: string) => {
        assert.ok((await overflow(page)) <= 0, `${layout.name} ${what}: wider than the viewport`);
        assert.deepEqual(await axeViolations(page), [], `${layout.name} ${what}`);
        await page.screenshot({
          path: join(SCREENSHOTS, `automation-${what}-${layout.name}.png`),
          fullPage: true,
        });
      };
      await page.goto(`${base}/sites/${home.siteId}/automation`);
      await page.locator('tr[data-schedule="Weekday heater"]').waitFor();
      await page.locator('tr[data-rule="Heater on export"]').waitFor();
      if (layout === PHONE) {
        // Tables become cards: each cell names its column.
        const cell = page.locator('tr[data-schedule="Weekday heater"] [data-testid="next-run"]');
        assert.equal(await cell.getAttribute('data-label'), 'Next run (site time)');
      }
      await check('list');
      await page.getByRole('link', { name: 'Weekday heater' }).click();
      await page.getByRole('form', { name: 'Edit schedule Weekday heater' }).waitFor();
      await page.getByLabel('End at').selectOption('sunset');
      await page.getByLabel('End offset').fill('-30');
      await check('schedule');
      await page.getByRole('link', { name: 'Automation' }).click();
      await page.getByRole('link', { name: 'Heater on export' }).click();
      await page.getByRole('button', { name: 'Dry run (last 7 days)' }).click();
      await page.getByTestId('dry-firing').first().waitFor({ timeout: 30_000 });
      await check('rule');
      await page.context().close();
    });
  }
});
