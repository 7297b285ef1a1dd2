// A smart plug driven by Mosquitto's own command-line clients against a real Mosquitto with the
// hub's generated password and ACL files: it logs in, publishes status and telemetry, receives a
// RELAY_SET and answers it, and the API shows the command succeeded.
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { type CommandEnvelope, topics } from '@wattfleet/protocol';
import { startControlPlane } from '../../src/mqtt/control-plane.ts';
import { ENGINES } from '../helpers/engines.ts';
import { batchId, createSite, startTestHub, type TestHub, TestNode } from '../helpers/hub.ts';
import { HUB_USER, mosquittoFiles, startMosquitto, type TestMosquitto } from './mosquitto.ts';
import { waitFor } from './mqtt-helpers.ts';

const run = promisify(execFile);

for (const engine of ENGINES) {
  describe(`smart plug via mosquitto_pub/mosquitto_sub on ${engine}`, () => {
    let hub: TestHub;
    let broker: TestMosquitto;
    let plug: TestNode;
    let sub: ChildProcess | undefined;

    before(async () => {
      const { dir, files } = mosquittoFiles();
      hub = await startTestHub(engine, {
        mqttUrl: 'mqtt://127.0.0.1:1', // replaced below once the broker has its port
        controlPlane: {
          username: HUB_USER.username,
          password: HUB_USER.password,
          mosquitto: files,
          heartbeatFlushMs: 100,
          sweepIntervalMs: 200,
        },
      });
      const site = await createSite(hub);
      plug = await TestNode.enroll(hub, site.siteId);
      await hub.app.controlPlane.syncMosquitto();
      broker = await startMosquitto(dir, files);
      hub.app.hub.config.mqttUrl = broker.url;
      await startControlPlane(hub.app);
    });
    after(async () => {
      if (sub && sub.exitCode === null) sub.kill();
      await hub?.close();
      await broker?.stop();
    });

    const auth = () => [
      '-h',
      '127.0.0.1',
      '-p',
      String(broker.port),
      '-u',
      plug.nodeId,
      '-P',
      plug.mqttPassword,
    ];
    const pub = (topic: string, message: unknown) =>
      run('/usr/bin/mosquitto_pub', [...auth(), '-q', '1', '-t', topic, '-m', JSON.stringify(message)]);

    it('logs in, reports, receives RELAY_SET and answers it', async () => {
      // The plug waits for exactly one command (-C 1). Its stdout is block-buffered in a pipe, so
      // Mosquitto's own subscribe log tells when it listens.
      let out = '';
      const clientId = `plug-${plug.nodeId.slice(0, 8)}`;
      const topic = topics.commands(plug.nodeId);
      sub = spawn('/usr/bin/mosquitto_sub', [...auth(), '-i', clientId, '-q', '1', '-t', topic, '-C', '1']);
      sub.stdout?.on('data', (d) => {
        out += d;
      });
      sub.stderr?.on('data', (d) => {
        out += d;
      });
      const exited = new Promise<number | null>((resolve) => sub?.once('exit', (code) => resolve(code)));
      await waitFor(() => broker.log().includes(`${clientId} 1 ${topic}`), 10_000, 'plug subscription');

      await pub(topics.status(plug.nodeId), {
        state: 'online',
        clock: Date.now(),
        agentVersion: 'plug-fw-3.1',
      });
      const batch = {
        batchId: batchId('plug'),
        samples: [
          { metric: 'load_w', ts: Date.now() - 2000, value: 60 },
          { metric: 'load_w', ts: Date.now() - 1000, value: 61 },
        ],
      };
      await pub(topics.telemetry(plug.nodeId), batch);
      await waitFor(
        async () => (await hub.admin('GET', `/api/v1/nodes/${plug.nodeId}`)).json().status === 'online',
      );
      await waitFor(async () => {
        const { rows } = await hub.tdb.database.pool.query(
          'SELECT count(*)::int AS n FROM samples s JOIN series x ON x.id = s.series_id WHERE x.node_id = $1',
          [plug.nodeId],
        );
        return rows[0].n === 2;
      });

      const created = await hub.admin('POST', `/api/v1/nodes/${plug.nodeId}/commands`, {
        type: 'RELAY_SET',
        args: { equipment: 'relay', state: 'on' },
      });
      assert.equal(created.statusCode, 201, created.body);
      const id = created.json().id;
      assert.equal(await exited, 0, out);
      const line = out.split('\n').find((l) => l.startsWith('{'));
      assert.ok(line, out);
      const envelope = JSON.parse(line) as CommandEnvelope;
      assert.equal(envelope.id, id);
      assert.equal(envelope.type, 'RELAY_SET');
      assert.deepEqual(envelope.args, { equipment: 'relay', state: 'on' });

      for (const state of ['delivered', 'running'])
        await pub(topics.responses(plug.nodeId), { id, state, ts: Date.now() });
      await pub(topics.responses(plug.nodeId), {
        id,
        state: 'succeeded',
        ts: Date.now(),
        data: { relay: 'on' },
      });
      const detail = await waitFor(async () => {
        const d = (await hub.admin('GET', `/api/v1/nodes/${plug.nodeId}/commands/${id}`)).json();
        return d.state === 'succeeded' ? d : undefined;
      });
      assert.deepEqual(detail.result, { relay: 'on' });
      assert.deepEqual(
        detail.history.map((h: { to: string }) => h.to),
        ['pending', 'delivered', 'running', 'succeeded'],
      );
    });
  });
}
