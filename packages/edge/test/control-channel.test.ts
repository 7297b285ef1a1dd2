// The control channel against its own Mosquitto with passwords and the production ACL
// (`pattern readwrite nodes/%u/#`): heartbeat, commands and replies inside the node's namespace,
// the retained last will on a lost connection, and telemetry over MQTT QoS 1.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { topics } from '@wattfleet/protocol';
import mqtt, { type MqttClient } from 'mqtt';
import pino from 'pino';
import { ControlChannel } from '../src/control/channel.ts';
import { CommandLog } from '../src/control/command-log.ts';
import { Dispatcher } from '../src/control/dispatcher.ts';
import { run } from '../src/ops/exec.ts';
import { Outbox } from '../src/outbox/outbox.ts';
import { MqttTransport } from '../src/uplink/mqtt-transport.ts';

const dir = mkdtempSync(join(tmpdir(), 'wf-mqtt-'));
const logger = pino({ level: 'silent' });
const nodeId = randomUUID();
const otherNode = randomUUID();
const nodePassword = 'node-secret-1';
let broker: ChildProcess;
let url: string;
let hubClient: MqttClient;
const seen: { topic: string; payload: string; retain: boolean }[] = [];

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

async function until<T>(get: () => T | undefined | false, timeoutMs = 10_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = get();
    if (v) return v;
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(20);
  }
}

/** Mosquitto takes a moment to listen after spawn. */
async function connectWhenUp(connect: () => Promise<MqttClient>): Promise<MqttClient> {
  for (let i = 0; ; i++) {
    try {
      return await connect();
    } catch (err) {
      if (i > 50) throw err;
      await sleep(100);
    }
  }
}

before(async () => {
  const passwd = join(dir, 'passwd');
  writeFileSync(passwd, '');
  for (const [user, pass] of [
    ['hub', 'hub-secret'],
    [nodeId, nodePassword],
    [otherNode, 'other-secret'],
  ]) {
    const r = await run('mosquitto_passwd', ['-b', passwd, user!, pass!]);
    assert.equal(r.code, 0, r.stderr);
  }
  writeFileSync(join(dir, 'acl'), 'user hub\ntopic readwrite nodes/#\n\npattern readwrite nodes/%u/#\n');
  const port = await freePort();
  writeFileSync(
    join(dir, 'mosquitto.conf'),
    `listener ${port} 127.0.0.1\nallow_anonymous false\npassword_file ${passwd}\nacl_file ${join(dir, 'acl')}\npersistence false\nuser ${userInfo().username}\n`,
  );
  broker = spawn('mosquitto', ['-c', join(dir, 'mosquitto.conf')], { stdio: 'ignore' });
  url = `mqtt://127.0.0.1:${port}`;
  hubClient = await connectWhenUp(() =>
    mqtt.connectAsync(url, { username: 'hub', password: 'hub-secret', reconnectPeriod: 0 }),
  );
  await hubClient.subscribeAsync('nodes/#', { qos: 1 });
  hubClient.on('message', (topic, payload, packet) =>
    seen.push({ topic, payload: payload.toString(), retain: packet.retain }),
  );
});

after(async () => {
  await hubClient?.endAsync();
  broker?.kill('SIGTERM');
  await new Promise((r) => broker?.once('exit', r));
  rmSync(dir, { recursive: true, force: true });
});

function channel(password = nodePassword) {
  return new ControlChannel({
    url,
    nodeId,
    username: nodeId,
    password,
    heartbeatMs: 200,
    liveIntervalMs: 200,
    live: () => ({ ts: Date.now(), values: { solar_w: 1234 } }),
    status: async () => ({ agentVersion: 'test', outboxDepth: 0 }),
    logger,
  });
}

describe('control channel under the production ACL', () => {
  it('heartbeats, live snapshots, commands and replies stay inside nodes/{id}/', async () => {
    const outbox = Outbox.open(join(dir, 'a.db'), { maxBytes: 1 << 30 });
    const ch = channel();
    const dispatcher = new Dispatcher(
      new CommandLog(outbox.db),
      { DIAGNOSTICS: async () => ({ ok: true }) },
      ch.reply,
      {
        logger,
      },
    );
    await ch.start(dispatcher, 5000);
    assert.ok(ch.connected);
    const status = await until(() => seen.find((m) => m.topic === topics.status(nodeId)));
    assert.equal(JSON.parse(status.payload).state, 'online');
    await until(() => seen.find((m) => m.topic === topics.live(nodeId)));
    const id = randomUUID();
    await hubClient.publishAsync(
      topics.commands(nodeId),
      JSON.stringify({
        id,
        type: 'DIAGNOSTICS',
        args: {},
        issuedAt: Date.now(),
        expiresAt: Date.now() + 60_000,
      }),
      { qos: 1 },
    );
    await until(() => seen.filter((m) => m.topic === topics.responses(nodeId)).length === 3);
    const states = seen
      .filter((m) => m.topic === topics.responses(nodeId))
      .map((m) => JSON.parse(m.payload).state);
    assert.deepEqual(states, ['delivered', 'running', 'succeeded']);
    // The broker, not the agent, keeps a node out of other nodes' topics: check the ACL holds.
    await ch
      .client!.publishAsync(topics.status(otherNode), '{"state":"online","clock":1}', { qos: 1 })
      .catch(() => {});
    await sleep(200);
    assert.equal(seen.filter((m) => m.topic === topics.status(otherNode)).length, 0);
    await ch.stop();
    const bye = seen.filter((m) => m.topic === topics.status(nodeId)).at(-1)!;
    assert.equal(JSON.parse(bye.payload).reason, 'agent stopped');
    outbox.close();
  });

  it('leaves a retained offline last will when the connection is lost', async () => {
    const outbox = Outbox.open(join(dir, 'b.db'), { maxBytes: 1 << 30 });
    const ch = channel();
    await ch.start(new Dispatcher(new CommandLog(outbox.db), {}, ch.reply, { logger }), 5000);
    await until(() => ch.lastHeartbeatAt);
    ch.client!.options.reconnectPeriod = 0;
    ch.client!.stream.destroy(); // a lost link, not a clean disconnect
    const late = await mqtt.connectAsync(url, {
      username: 'hub',
      password: 'hub-secret',
      reconnectPeriod: 0,
    });
    const retained = await new Promise<string>((resolve) => {
      late.on('message', (_t, payload, packet) => {
        const s = JSON.parse(payload.toString());
        if (packet.retain && s.state === 'offline') resolve(s.reason);
      });
      void late.subscribeAsync(topics.status(nodeId), { qos: 1 });
    });
    assert.equal(retained, 'connection lost');
    await late.endAsync();
    await ch.stop();
    outbox.close();
  });

  it('keeps trying with a wrong password instead of crashing', async () => {
    const outbox = Outbox.open(join(dir, 'c.db'), { maxBytes: 1 << 30 });
    const ch = channel('wrong');
    await ch.start(new Dispatcher(new CommandLog(outbox.db), {}, ch.reply, { logger }), 500);
    assert.equal(ch.connected, false);
    await ch.stop();
    outbox.close();
  });

  it('sends telemetry batches over MQTT QoS 1 and asks to retry while disconnected', async () => {
    const outbox = Outbox.open(join(dir, 'd.db'), { maxBytes: 1 << 30 });
    outbox.append([{ metric: 'solar_w', ts: Date.now(), value: 42 }]);
    const batch = outbox.formBatch({ maxSamples: 500, maxAgeMs: 0 })!;
    const client = await mqtt.connectAsync(url, {
      username: nodeId,
      password: nodePassword,
      reconnectPeriod: 0,
    });
    const transport = new MqttTransport(client, nodeId, 2000);
    assert.deepEqual(await transport.send(batch), { kind: 'acked', status: 'stored' });
    const got = await until(() => seen.find((m) => m.topic === topics.telemetry(nodeId)));
    assert.equal(got.payload, batch.body);
    await client.endAsync();
    assert.equal((await transport.send(batch)).kind, 'retry');
    outbox.close();
  });
});
