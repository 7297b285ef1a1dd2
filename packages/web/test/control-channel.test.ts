// Issue #11 item 3, on the embedded broker: a real agent enrolled with nothing but a code (no
// hub.mqttUrl in its config) is told where the hub's broker is — on the host it enrolled through —
// connects, and answers a command. A second real agent that uploads over HTTP but cannot reach any
// broker looks alive, and the portal says "no control channel" on it (Chromium), while the first
// shows no such warning. The hub learns it from the heartbeats that only come through the broker.
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
import { createSite, type Fixture } from '../../hub/test/helpers/hub.ts';
import { freePort } from '../../hub/test/mqtt/mosquitto.ts';
import { type MqttTestHub, startMqttHub, waitFor } from '../../hub/test/mqtt/mqtt-helpers.ts';
import { ensureBuilt, launchBrowser, listen, SCREENSHOTS, signInAs } from './helpers/portal.ts';

const PASSWORD = 'correct horse battery staple 42';

describe('control channel: plain enrollment on the embedded broker, and a node without one', () => {
  let hub: MqttTestHub;
  let browser: Browser;
  let base: string;
  let site: Fixture;
  let page: Page;
  const agents: Agent[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'wf-web-cc-'));

  const agentConfig = (name: string, hubLine: string) => {
    const path = join(dir, `${name}.yaml`);
    writeFileSync(
      path,
      `version: 2
hub: ${hubLine}
identity: { path: ${join(dir, `${name}.identity.json`)} }
site: { lat: 52.5, lon: 13.4, timezone: Europe/Berlin }
sources:
  - { type: simulator, key: sim, seed: ${name} }
poll: { intervalS: 0.5 }
outbox: { path: ${join(dir, `${name}.db`)} }
dashboard: { port: 0, host: 127.0.0.1 }
logging: { level: info, file: ${join(dir, `${name}.log`)} }
`,
    );
    return path;
  };
  const enrolled = async (name: string, hubLine: string) => {
    const code = await hub.admin('POST', `/api/v1/sites/${site.siteId}/enrollment-codes`, {});
    assert.equal(code.statusCode, 201, code.body);
    const id = await enroll({
      hubUrl: base,
      code: code.json().code,
      identityPath: join(dir, `${name}.identity.json`),
      name,
    });
    const agent = await Agent.start({
      configPath: agentConfig(name, hubLine),
      supervisor: new StandInSupervisor(),
      logger: pino({ level: 'silent' }),
      heartbeatMs: 500,
    });
    agents.push(agent);
    assert.equal(agent.mode, 'running', JSON.stringify(agent.problems));
    return { id, agent };
  };

  before(async () => {
    ensureBuilt();
    hub = await startMqttHub('pglite');
    site = await createSite(hub, { name: 'Channel Court' });
    const operator = await hub.admin('POST', '/api/v1/orgs', { name: 'Operator', kind: 'operator' });
    const user = await hub.admin('POST', '/api/v1/users', {
      email: 'admin@example.org',
      role: 'admin',
      orgId: operator.json().id,
      password: PASSWORD,
      // An admin-set password is temporary by default and would send this user to the change form.
      mustChangePassword: false,
    });
    assert.equal(user.statusCode, 201, user.body);
    base = await listen(hub.app);
    browser = await launchBrowser();
  });
  after(async () => {
    for (const a of agents) await a.stop();
    await page?.context().close();
    await browser?.close();
    await hub?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a plain enroll hands out the embedded broker; the agent connects and answers a command', async () => {
    // The agent's config names only the hub: the broker comes from the enrollment answer.
    const { id, agent } = await enrolled('plain', `{ url: "${base}" }`);
    const brokerPort = new URL(hub.url).port;
    assert.equal(
      id.mqtt.url,
      `mqtt://127.0.0.1:${brokerPort}`,
      'the broker on the host the agent enrolled through',
    );
    await waitFor(() => agent.control?.connected, 20_000, 'control channel from the enrollment answer');
    writeFileSync(join(dir, 'plain.log'), 'one\ntwo\n');
    const created = await hub.admin('POST', `/api/v1/nodes/${id.nodeId}/commands`, {
      type: 'FETCH_LOGS',
      args: { lines: 1 },
    });
    assert.equal(created.statusCode, 201, created.body);
    const done = await waitFor(
      async () => {
        const c = (await hub.admin('GET', `/api/v1/nodes/${id.nodeId}/commands/${created.json().id}`)).json();
        return ['succeeded', 'failed'].includes(c.state) && c;
      },
      20_000,
      'command answered',
    );
    assert.equal(done.state, 'succeeded', JSON.stringify(done));
    await waitFor(
      async () => (await hub.admin('GET', `/api/v1/nodes/${id.nodeId}`)).json().control_channel === true,
      20_000,
      'the hub knows the node has a control channel',
    );
  });

  it('a node that uploads but reaches no broker is shown with "no control channel"', async () => {
    // Its own hub.mqttUrl wins over the enrollment answer — and points where no broker listens.
    const closed = await freePort();
    const { id, agent } = await enrolled(
      'stranded',
      `{ url: "${base}", mqttUrl: "mqtt://127.0.0.1:${closed}" }`,
    );
    assert.equal(agent.control?.connected ?? false, false);
    await waitFor(() => agent.outbox!.stats().acked > 0, 20_000, 'HTTP uploads of the stranded node');
    const node = (await hub.admin('GET', `/api/v1/nodes/${id.nodeId}`)).json();
    assert.equal(node.control_channel, false);
    assert.ok(node.last_seen_at, 'it looks alive: its uploads count as signs of life');
    const fleet = (await hub.admin('GET', '/api/v1/fleet/sites')).json() as {
      id: string;
      nodeList: { name: string; controlChannel: boolean }[];
    }[];
    const listed = fleet.find((s) => s.id === site.siteId)!.nodeList;
    assert.deepEqual(listed.map((n) => [n.name, n.controlChannel]).sort(), [
      ['plain', true],
      ['stranded', false],
    ]);

    page = await signInAs(browser, base, 'admin@example.org', PASSWORD, 'Fleet');
    await page.goto(`${base}/sites/${site.siteId}`);
    const card = (name: string) => page.getByTestId('node').filter({ hasText: name });
    await card('stranded').getByTestId('no-control-channel').waitFor();
    assert.equal(
      await card('stranded').getByTestId('no-control-channel').textContent(),
      'no control channel',
    );
    assert.equal(await card('plain').getByTestId('no-control-channel').count(), 0);
    await page.screenshot({ path: join(SCREENSHOTS, 'no-control-channel.png'), fullPage: true });
  });
});
