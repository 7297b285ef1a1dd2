// The whole agent, started from a config file: config-error mode, then a running, enrolled agent
// against a hub stand-in (HTTP) and the real Mosquitto on 127.0.0.1:1883 (control channel).
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { generateNodeKeyPair, topics } from '@wattfleet/protocol';
import mqtt, { type MqttClient } from 'mqtt';
import pino from 'pino';
import { saveIdentity } from '../src/identity/identity.ts';
import { StandInSupervisor } from '../src/ops/supervisor.ts';
import { Agent } from '../src/runtime/agent.ts';
import { startHubStandIn, stored } from './hub-standin.ts';

const dir = mkdtempSync(join(tmpdir(), 'wf-agent-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const logger = pino({ level: 'silent' });

async function until<T>(get: () => T | undefined | false, timeoutMs = 15_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = get();
    if (v) return v;
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(25);
  }
}

describe('config-error mode', () => {
  it('serves every config error on the local dashboard instead of crash-looping, and notices the fix', async () => {
    const path = join(dir, 'bad.yaml');
    writeFileSync(
      path,
      'version: 2\nhub: { url: "gopher://x", transport: carrier-pigeon }\nsite: { lat: 91, lon: 0, timezone: UTC }\n' +
        'dashboard: { port: 0, host: 127.0.0.1 }\nsources: [{ type: simulator, key: s, seed: 1, colour: red }]\ntypo: 1\n',
    );
    const agent = await Agent.start({ configPath: path, logger });
    try {
      assert.equal(agent.mode, 'config-error');
      const html = await (await fetch(agent.dashboardUrl)).text();
      for (const needle of [
        '/hub/url',
        '/hub/transport',
        'must be one of: http, mqtt',
        '/site/lat',
        '/typo',
        '/sources/0/colour',
      ]) {
        assert.ok(html.includes(needle), `page lists ${needle}`);
      }
      assert.equal((await fetch(`${agent.dashboardUrl}/healthz`)).status, 503);
      const status = (await (await fetch(`${agent.dashboardUrl}/api/status`)).json()) as {
        configProblems: unknown[];
      };
      assert.ok(status.configProblems.length >= 6);
      const fixed = agent.waitForValidConfig(50);
      writeFileSync(
        path,
        `version: 2\nhub: { url: "http://127.0.0.1:1" }\nsite: { lat: 1, lon: 0, timezone: UTC }\noutbox: { path: ${join(dir, 'fixed.db')} }\n`,
      );
      await fixed;
    } finally {
      await agent.stop();
    }
  });
});

describe('running agent (hub stand-in + Mosquitto)', () => {
  const keys = generateNodeKeyPair();
  const nodeId = `test-${randomUUID()}`;
  const configPath = join(dir, 'agent.yaml');
  const supervisor = new StandInSupervisor();
  let hub: Awaited<ReturnType<typeof startHubStandIn>>;
  let agent: Agent;
  let watcher: MqttClient;
  const seen: { topic: string; json: Record<string, unknown>; retain: boolean }[] = [];
  const config = (extra = '') => `version: 2
hub: { url: "${hub.url}", mqttUrl: "mqtt://127.0.0.1:1883" }
identity: { path: ${join(dir, 'identity.json')} }
site: { lat: 52.5, lon: 13.4, timezone: Europe/Berlin }
sources:
  - { type: simulator, key: sim, seed: agent-test, relay: { loadW: 500 } }
${extra}poll: { intervalS: 0.2 }
outbox: { path: ${join(dir, 'agent.db')} }
uplink: { liveIntervalS: 1 }
dashboard: { port: 0, host: 127.0.0.1 }
logging: { level: info, file: ${join(dir, 'agent.log')} }
`;

  before(async () => {
    hub = await startHubStandIn(keys.publicKey, stored);
    saveIdentity(join(dir, 'identity.json'), {
      nodeId,
      siteId: 'site-1',
      hubUrl: hub.url,
      publicKey: keys.publicKey,
      privateKeyPem: keys.privateKeyPem,
      mqtt: { username: nodeId, password: 'unused-here' },
      enrolledAt: new Date().toISOString(),
    });
    writeFileSync(configPath, config());
    watcher = await mqtt.connectAsync('mqtt://127.0.0.1:1883', { clientId: `watch-${randomUUID()}` });
    await watcher.subscribeAsync(`nodes/${nodeId}/#`, { qos: 1 });
    watcher.on('message', (topic, payload, packet) => {
      if (payload.length === 0) return; // a cleared retained message
      seen.push({ topic, json: JSON.parse(payload.toString()), retain: packet.retain });
    });
    agent = await Agent.start({ configPath, supervisor, logger, heartbeatMs: 300 });
  });

  after(async () => {
    await agent?.stop();
    // Clear the retained status this test left on the shared broker.
    await watcher.publishAsync(topics.status(nodeId), '', { retain: true, qos: 1 });
    await watcher.endAsync();
    await hub.close();
  });

  const command = async (type: string, args: Record<string, unknown>) => {
    const id = randomUUID();
    await watcher.publishAsync(
      topics.commands(nodeId),
      JSON.stringify({ id, type, args, issuedAt: Date.now(), expiresAt: Date.now() + 60_000 }),
      { qos: 1 },
    );
    const final = await until(
      () =>
        seen.find(
          (m) =>
            m.topic === topics.responses(nodeId) &&
            m.json.id === id &&
            ['succeeded', 'failed'].includes(m.json.state as string),
        ),
      20_000,
    );
    const states = seen
      .filter((m) => m.topic === topics.responses(nodeId) && m.json.id === id)
      .map((m) => m.json.state);
    return { final: final.json, states };
  };

  it('uploads signed telemetry to the hub and empties its outbox', async () => {
    await until(() => hub.received.length >= 2);
    assert.ok(hub.received.every((r) => r.signatureOk && r.headers['content-encoding'] === 'gzip'));
    await until(() => agent.outbox!.stats().acked > 0);
  });

  it('sends heartbeats (retained, with versions and outbox numbers) and live snapshots', async () => {
    const status = await until(() =>
      seen.find((m) => m.topic === topics.status(nodeId) && m.json.state === 'online'),
    );
    assert.equal(status.json.agentVersion, '0.1.0');
    assert.equal(typeof status.json.outboxDepth, 'number');
    assert.equal(typeof status.json.uptimeS, 'number');
    const live = await until(() => seen.find((m) => m.topic === topics.live(nodeId)));
    assert.equal(typeof live.json.ts, 'number');
    assert.ok(Object.keys(live.json.values as object).length > 0 || live.json.equipment);
  });

  it('runs DIAGNOSTICS and RELAY_SET received over MQTT and replies with each state', async () => {
    const diag = await command('DIAGNOSTICS', {});
    assert.deepEqual(diag.states, ['delivered', 'running', 'succeeded']);
    assert.equal((diag.final.data as { hub: { reachable: boolean } }).hub.reachable, true);
    const relay = await command('RELAY_SET', { equipment: 'sim', state: 'on' });
    assert.equal(relay.final.state, 'succeeded', JSON.stringify(relay.final));
    assert.deepEqual(relay.final.data, { equipment: 'sim', state: 'on' });
  });

  it('applies a healthy CONFIG_PUSH and rolls back one whose equipment never answers', async () => {
    const good = await command('CONFIG_PUSH', {
      config: config().replace('intervalS: 0.2', 'intervalS: 0.3'),
      healthTimeoutS: 10,
    });
    assert.equal(good.final.state, 'succeeded', JSON.stringify(good.final));
    assert.equal(agent.config.poll.intervalS, 0.3);
    const before = readFileSync(configPath, 'utf8');
    const broken = config().replace(
      'sources:\n',
      'sources:\n  - { type: modbus-tcp, key: inverter, host: 127.0.0.1, port: 1, templates: [sunspec-inverter-103] }\n',
    );
    const bad = await command('CONFIG_PUSH', { config: broken, healthTimeoutS: 5 });
    assert.equal(bad.final.state, 'failed');
    assert.equal((bad.final.error as { code: string }).code, 'ROLLED_BACK');
    assert.match((bad.final.error as { message: string }).message, /inverter/);
    assert.equal(readFileSync(configPath, 'utf8'), before, 'file restored from config.yaml.bak');
    assert.deepEqual([...agent.sources.keys()], ['sim'], 'old sources running again');
  });

  it('serves live values over SSE, history and /metrics on the dashboard', async () => {
    const res = await fetch(`${agent.dashboardUrl}/api/live`);
    const reader = res.body!.getReader();
    const { value } = await reader.read();
    await reader.cancel();
    assert.match(Buffer.from(value!).toString(), /^data: \{"ts":\d+,"values":\{/);
    const series = (await (await fetch(`${agent.dashboardUrl}/api/series`)).json()) as {
      metric: string;
      equipment: string;
    }[];
    assert.ok(series.length > 0);
    const s = series[0]!;
    const points = (await (
      await fetch(`${agent.dashboardUrl}/api/history?metric=${s.metric}&equipment=${s.equipment}`)
    ).json()) as unknown[];
    assert.ok(points.length > 0);
    const metrics = await (await fetch(`${agent.dashboardUrl}/metrics`)).text();
    assert.match(metrics, /wattfleet_outbox_depth_samples \d+/);
    assert.match(metrics, /wattfleet_control_connected 1/);
    assert.match(metrics, /wattfleet_source_up\{source="sim"\} 1/);
  });
});
