// Issue #11 item 3 with an external broker: one real Mosquitto (started here) with two listeners,
// 127.0.0.1 (internal: the hub's MQTT_URL) and 127.0.0.2 (public: MQTT_PUBLIC_URL), as the
// documented layout has a loopback listener for the hub and another one for nodes. A real agent
// enrolled with nothing but a code connects on the public listener and answers a command; an agent
// whose own config names a broker (hub.mqttUrl) connects there instead. Mosquitto's own log says
// which listener each node came in on.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import { startControlPlane } from '../../hub/src/mqtt/control-plane.ts';
import { createSite, type Fixture, startTestHub, type TestHub } from '../../hub/test/helpers/hub.ts';
import {
  freePort,
  HUB_USER,
  mosquittoFiles,
  startMosquitto,
  type TestMosquitto,
} from '../../hub/test/mqtt/mosquitto.ts';
import { enroll } from '../src/identity/enroll.ts';
import { StandInSupervisor } from '../src/ops/supervisor.ts';
import { Agent } from '../src/runtime/agent.ts';

async function until<T>(what: string, get: () => Promise<T> | T, ms = 30_000): Promise<NonNullable<T>> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await get();
    if (v) return v as NonNullable<T>;
    if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms`);
    await sleep(100);
  }
}

describe('enrollment hands out the public broker address (two Mosquitto listeners)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wf-broker-address-'));
  let hub: TestHub;
  let hubUrl: string;
  let broker: TestMosquitto;
  let site: Fixture;
  let publicUrl: string;
  const agents: Agent[] = [];

  before(async () => {
    const { dir: brokerDir, files } = mosquittoFiles();
    hub = await startTestHub('postgres', {
      mqttUrl: 'mqtt://127.0.0.1:1', // replaced below, once Mosquitto runs with the hub's files
      controlPlane: { username: HUB_USER.username, password: HUB_USER.password, mosquitto: files },
    });
    await hub.app.controlPlane.syncMosquitto();
    const publicPort = await freePort();
    broker = await startMosquitto(brokerDir, files, [`listener ${publicPort} 127.0.0.2`]);
    publicUrl = `mqtt://127.0.0.2:${publicPort}`;
    hub.app.hub.config.mqttUrl = broker.url; // the internal one, mqtt://127.0.0.1:…
    hub.app.hub.config.mqttPublicUrl = publicUrl;
    await startControlPlane(hub.app);
    hubUrl = await hub.app.listen({ port: 0, host: '127.0.0.1' });
    site = await createSite(hub);
  });
  after(async () => {
    for (const a of agents) await a.stop();
    await hub?.close();
    await broker?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const start = async (name: string, hubLine: string) => {
    const code = await hub.admin('POST', `/api/v1/sites/${site.siteId}/enrollment-codes`, {});
    assert.equal(code.statusCode, 201, code.body);
    const id = await enroll({
      hubUrl,
      code: code.json().code,
      identityPath: join(dir, `${name}.json`),
      name,
    });
    // The new node's login reaches Mosquitto's password file (and a SIGHUP) before it dials.
    assert.equal(await hub.app.controlPlane.syncMosquitto(), true);
    const configPath = join(dir, `${name}.yaml`);
    writeFileSync(
      configPath,
      `version: 2
hub: ${hubLine}
identity: { path: ${join(dir, `${name}.json`)} }
site: { lat: 52.5, lon: 13.4, timezone: Europe/Berlin }
sources:
  - { type: simulator, key: sim, seed: ${name} }
poll: { intervalS: 0.5 }
outbox: { path: ${join(dir, `${name}.db`)} }
dashboard: { port: 0, host: 127.0.0.1 }
logging: { level: info, file: ${join(dir, `${name}.log`)} }
`,
    );
    const agent = await Agent.start({
      configPath,
      supervisor: new StandInSupervisor(),
      logger: pino({ level: 'silent' }),
      heartbeatMs: 500,
    });
    agents.push(agent);
    await until(`${name}: control channel`, () => agent.control?.connected);
    return { id, agent };
  };
  /**
   * The listener port each connection of a node came in on: Mosquitto logs "New connection from
   * <ip>:<src> on port <listener>" and then "New client connected from <ip>:<src> as … u'<node>'".
   * (The source address is 127.0.0.1 either way; the listener tells them apart.)
   */
  const listenersOf = (nodeId: string) => {
    const lines = broker.log().split('\n');
    const ports = new Set<number>();
    for (const l of lines) {
      if (!l.includes('New client connected from') || !l.includes(`u'${nodeId}'`)) continue;
      const src = /from ([\d.]+:\d+) as/.exec(l)?.[1];
      const conn = lines.find((x) => x.includes(`New connection from ${src} on port`));
      const port = conn && /on port (\d+)/.exec(conn)?.[1];
      if (port) ports.add(Number(port));
    }
    return [...ports];
  };
  /** Mosquitto writes its log a moment after the connection it describes: wait for the lines. */
  const loggedListenersOf = (nodeId: string) =>
    until(`${nodeId}: connection in the broker log`, () => {
      const ports = listenersOf(nodeId);
      return ports.length > 0 ? ports : undefined;
    });

  it('a plain enroll gets MQTT_PUBLIC_URL, and the agent connects and takes commands there', async () => {
    const { id } = await start('plain', `{ url: "${hubUrl}" }`);
    assert.equal(id.mqtt.url, publicUrl, 'the public listener, not the hub’s internal MQTT_URL');
    assert.deepEqual(await loggedListenersOf(id.nodeId), [Number(new URL(publicUrl).port)]);
    writeFileSync(join(dir, 'plain.log'), 'alpha\nbeta\n');
    const created = await hub.admin('POST', `/api/v1/nodes/${id.nodeId}/commands`, {
      type: 'FETCH_LOGS',
      args: { lines: 1 },
    });
    assert.equal(created.statusCode, 201, created.body);
    const done = await until('the command answered', async () => {
      const c = (await hub.admin('GET', `/api/v1/nodes/${id.nodeId}/commands/${created.json().id}`)).json();
      return ['succeeded', 'failed'].includes(c.state) && c;
    });
    assert.equal(done.state, 'succeeded', JSON.stringify(done));
    await until(
      'the hub sees its control channel',
      async () => (await hub.admin('GET', `/api/v1/nodes/${id.nodeId}`)).json().control_channel === true,
    );
  });

  it("an agent's own hub.mqttUrl wins over the enrollment answer", async () => {
    const { id } = await start('local', `{ url: "${hubUrl}", mqttUrl: "${broker.url}" }`);
    assert.equal(id.mqtt.url, publicUrl, 'the hub still offered the public one');
    assert.deepEqual(await loggedListenersOf(id.nodeId), [broker.port]);
  });
});
