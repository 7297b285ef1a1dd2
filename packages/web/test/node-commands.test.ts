// Commands from the portal answered by nodes, in a real browser against a real hub with its
// embedded MQTT broker. CONFIG_PUSH and FETCH_LOGS go to the real edge agent running in this
// process (enrolled with a code, simulator source, its own control handlers: the push is written,
// applied and health-checked; the logs are uploaded signed). The SELF_UPDATE rollout goes to MQTT
// test nodes answering with protocol responses, because a real self-update needs a release
// repository, npm and a process restart (the agent's updater has its own tests in packages/edge).
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type CommandEnvelope, generateNodeKeyPair, privateKeyFromPem, topics } from '@wattfleet/protocol';
import type { MqttClient } from 'mqtt';
import pino from 'pino';
import type { Browser, Page } from 'playwright-core';
import { enroll } from '../../edge/src/identity/enroll.ts';
import { StandInSupervisor } from '../../edge/src/ops/supervisor.ts';
import { Agent } from '../../edge/src/runtime/agent.ts';
import { createSite, type Fixture, TestNode } from '../../hub/test/helpers/hub.ts';
import {
  connectNode,
  type MqttTestHub,
  nodeRow,
  startMqttHub,
  status,
  waitFor,
} from '../../hub/test/mqtt/mqtt-helpers.ts';
import { ensureBuilt, launchBrowser, listen, SCREENSHOTS, signInAs } from './helpers/portal.ts';

const PASSWORD = 'correct horse battery staple 42';

/** A node enrolled under a chosen name (rollout rows are told apart by name). */
async function enrollNamed(hub: MqttTestHub, siteId: string, name: string): Promise<TestNode> {
  const code = await hub.admin('POST', `/api/v1/sites/${siteId}/enrollment-codes`, {});
  assert.equal(code.statusCode, 201, code.body);
  const pair = generateNodeKeyPair();
  const res = await hub.app.inject({
    method: 'POST',
    url: '/api/v1/nodes/enroll',
    payload: { code: code.json().code, publicKey: pair.publicKey, name },
  });
  assert.equal(res.statusCode, 200, res.body);
  const body = res.json();
  return new TestNode(
    hub,
    body.nodeId,
    body.siteId,
    privateKeyFromPem(pair.privateKeyPem),
    body.mqtt.password,
  );
}

describe('commands from the portal answered by nodes, against a real hub with MQTT', () => {
  let hub: MqttTestHub;
  let browser: Browser;
  let base: string;
  let depot: Fixture;
  let row: Fixture;
  let agent: Agent | undefined;
  let admin: Page;
  const dir = mkdtempSync(join(tmpdir(), 'wf-web-cmd-'));
  const configPath = join(dir, 'agent.yaml');
  const logPath = join(dir, 'agent.log');
  const fleet: { node: TestNode; client: MqttClient; envelopes: CommandEnvelope[] }[] = [];

  const agentConfig = (intervalS: number, note = '') => `${note}version: 2
hub: { url: "${base}", mqttUrl: "${hub.url}" }
identity: { path: ${join(dir, 'identity.json')} }
site: { lat: 52.5, lon: 13.4, timezone: Europe/Berlin }
sources:
  - { type: simulator, key: sim, seed: depot }
poll: { intervalS: ${intervalS} }
outbox: { path: ${join(dir, 'agent.db')} }
dashboard: { port: 0, host: 127.0.0.1 }
logging: { level: info, file: ${logPath} }
`;

  before(async () => {
    ensureBuilt();
    hub = await startMqttHub('pglite');
    depot = await createSite(hub, { name: 'Delta Depot' });
    row = await createSite(hub, { name: 'Rollout Row' });
    const operator = await hub.admin('POST', '/api/v1/orgs', { name: 'Operator', kind: 'operator' });
    const user = await hub.admin('POST', '/api/v1/users', {
      email: 'admin@example.org',
      role: 'admin',
      orgId: operator.json().id,
      password: PASSWORD,
      mustChangePassword: false,
    });
    assert.equal(user.statusCode, 201, user.body);
    base = await listen(hub.app);

    // The real agent, enrolled with a one-time code like `wattfleet-agent enroll` does.
    const code = await hub.admin('POST', `/api/v1/sites/${depot.siteId}/enrollment-codes`, {});
    await enroll({
      hubUrl: base,
      code: code.json().code,
      identityPath: join(dir, 'identity.json'),
      name: 'Depot agent',
    });
    writeFileSync(configPath, agentConfig(0.5));
    writeFileSync(logPath, '');
    agent = await Agent.start({
      configPath,
      supervisor: new StandInSupervisor(),
      logger: pino({ level: 'silent' }),
      heartbeatMs: 500,
    });
    assert.equal(agent.mode, 'running', JSON.stringify(agent.problems));
    await waitFor(() => agent!.control?.connected, 20_000, 'agent control channel');

    // Three MQTT nodes that answer SELF_UPDATE as an updated agent would: running, succeeded,
    // then a heartbeat with the new version.
    for (const name of ['row-1', 'row-2', 'row-3']) {
      const node = await enrollNamed(hub, row.siteId, name);
      const client = await connectNode(hub.url, node);
      const envelopes: CommandEnvelope[] = [];
      client.on('message', (topic, payload) => {
        if (topic !== topics.commands(node.nodeId)) return;
        const env = JSON.parse(payload.toString()) as CommandEnvelope;
        envelopes.push(env);
        void (async () => {
          const reply = (state: string, extra: object = {}) =>
            client.publishAsync(
              topics.responses(node.nodeId),
              JSON.stringify({ id: env.id, state, ts: Date.now(), ...extra }),
              { qos: 1 },
            );
          await reply('running');
          if (env.type !== 'SELF_UPDATE')
            return reply('failed', { error: { code: 'UNSUPPORTED', message: 'test node' } });
          const tag = (env.args as { tag: string }).tag;
          await reply('succeeded', { data: { tag } });
          await client.publishAsync(
            topics.status(node.nodeId),
            status({ agentVersion: tag.replace(/^v/, '') }),
            {
              qos: 1,
            },
          );
        })();
      });
      await client.subscribeAsync(topics.commands(node.nodeId), { qos: 1 });
      await client.publishAsync(topics.status(node.nodeId), status(), { qos: 1 });
      fleet.push({ node, client, envelopes });
    }
    for (const f of fleet)
      await waitFor(
        async () => (await nodeRow(hub, f.node.nodeId)).agent_version === '1.2.3',
        10_000,
        'heartbeat',
      );

    browser = await launchBrowser();
    admin = await signInAs(browser, base, 'admin@example.org', PASSWORD, 'Fleet');
  });

  after(async () => {
    await browser?.close();
    await agent?.stop();
    for (const f of fleet) await f.client.endAsync();
    await hub?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('CONFIG_PUSH from the config editor: validated, pushed, applied by the agent and seen succeeding', async () => {
    await admin.getByTestId('fleet-table').getByRole('link', { name: 'Delta Depot' }).click();
    await admin.getByRole('heading', { name: 'Delta Depot' }).waitFor();
    await admin.getByTestId('node').getByRole('link', { name: 'Config' }).click();
    await admin.getByRole('heading', { name: 'Config of Depot agent' }).waitFor();
    await admin.getByText('no config pushed from the hub yet').waitFor();

    const pushed = agentConfig(1, '# pushed from the portal\n');
    await admin.getByTestId('config-text').fill(pushed);
    await admin.getByRole('button', { name: 'Validate' }).click();
    await admin.getByTestId('config-valid').waitFor();
    await admin.getByRole('button', { name: 'Push to node' }).click();
    const state = admin.getByTestId('command-state');
    await state.and(admin.locator('[data-state="succeeded"]')).waitFor({ timeout: 60_000 });
    assert.match((await state.textContent()) ?? '', /CONFIG_PUSH succeeded/);
    // The history the hub sends (from / to per transition), read as the portal reads it.
    assert.match((await state.getAttribute('title')) ?? '', /^pending → .*delivered → .*succeeded$/);

    // The agent really took it: the file on disk and the running config.
    assert.equal(readFileSync(configPath, 'utf8'), pushed);
    assert.equal(agent!.config.poll.intervalS, 1);
    // The editor now diffs against what the node accepted.
    await admin.getByText(/current config pushed/).waitFor();
    await admin.getByText('No changes.').waitFor();
    await admin.screenshot({ path: join(SCREENSHOTS, 'config-pushed.png'), fullPage: true });
  });

  it('FETCH_LOGS from the site detail shows the lines the agent uploaded', async () => {
    writeFileSync(logPath, 'depot: boot ok\ndepot: inverter found at 10.0.0.7\ndepot: first sample stored\n');
    await admin.getByRole('link', { name: 'Back to the site' }).click();
    await admin.getByRole('heading', { name: 'Delta Depot' }).waitFor();
    await admin.getByRole('button', { name: 'Fetch logs' }).click();
    await admin.locator('[data-testid="logs"] [data-state="succeeded"]').waitFor({ timeout: 60_000 });
    const lines = admin.getByTestId('logs-lines');
    await lines.waitFor();
    assert.equal(
      (await lines.textContent())?.trim(),
      'depot: boot ok\ndepot: inverter found at 10.0.0.7\ndepot: first sample stored',
    );
    await admin.screenshot({ path: join(SCREENSHOTS, 'site-logs.png'), fullPage: true });
  });

  it('a SELF_UPDATE rollout reaches exactly the chosen nodes, each seen succeeding, and their new versions show', async () => {
    await admin.getByRole('link', { name: 'Rollout' }).click();
    const table = admin.getByTestId('rollout-table');
    const [one, two, three] = fleet;
    for (const f of fleet) await table.locator(`tr[data-node="${f.node.nodeId}"]`).waitFor();
    await admin.getByLabel('Select Rollout Row / row-1').check();
    await admin.getByLabel('Select Rollout Row / row-3').check();
    await admin.getByLabel('Release tag').fill('v9.9.9');
    await admin.getByRole('button', { name: 'Update 2 node(s)' }).click();
    for (const f of [one!, three!]) {
      await table
        .locator(`tr[data-node="${f.node.nodeId}"] [data-testid="command-state"][data-state="succeeded"]`)
        .waitFor();
    }
    assert.equal(
      await table.locator(`tr[data-node="${two!.node.nodeId}"] [data-testid="command-state"]`).count(),
      0,
    );
    assert.deepEqual(
      one!.envelopes.map((e) => [e.type, e.args]),
      [['SELF_UPDATE', { tag: 'v9.9.9' }]],
    );
    assert.deepEqual(
      three!.envelopes.map((e) => [e.type, e.args]),
      [['SELF_UPDATE', { tag: 'v9.9.9' }]],
    );
    assert.equal(two!.envelopes.length, 0, 'an unchosen node got nothing');
    const agentCommands = await hub.admin(
      'GET',
      `/api/v1/nodes/${agent!.identity!.nodeId}/commands?type=SELF_UPDATE`,
    );
    assert.equal(agentCommands.json().items.length, 0, 'nor did the agent');

    // The updated nodes report their new version; the page shows it.
    for (const f of [one!, three!])
      await waitFor(
        async () => (await nodeRow(hub, f.node.nodeId)).agent_version === '9.9.9',
        10_000,
        'new version',
      );
    await admin.getByRole('button', { name: 'Refresh versions' }).click();
    for (const f of [one!, three!])
      await table
        .locator(`tr[data-node="${f.node.nodeId}"] [data-testid="agent-version"]`)
        .filter({ hasText: '9.9.9' })
        .waitFor();
    assert.equal(
      await table.locator(`tr[data-node="${two!.node.nodeId}"] [data-testid="agent-version"]`).textContent(),
      '1.2.3',
    );
    await admin.screenshot({ path: join(SCREENSHOTS, 'rollout-done.png'), fullPage: true });
  });
});
