// Unified namespace export (issue 17.5), on both engines and both brokers: the embedded aedes and a
// real Mosquitto started by the test with the hub's own password and ACL files. The node side is
// the real signed ingest path (an equipment inventory event, then telemetry); the readers are
// plain MQTT clients logging in with the credentials the API hands out.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { EVENT_KINDS, type Role } from '@wattfleet/protocol';
import mqtt, { type MqttClient } from 'mqtt';
import type { Actor } from '../../src/auth/actor.ts';
import { startControlPlane } from '../../src/mqtt/control-plane.ts';
import { ENGINES } from '../helpers/engines.ts';
import { batchId, createSite, type Fixture, startTestHub, type TestHub, TestNode } from '../helpers/hub.ts';
import { freePort, HUB_USER, mosquittoFiles, startMosquitto, type TestMosquitto } from '../mqtt/mosquitto.ts';
import { connectNode, grantedQos, sleep, waitFor } from '../mqtt/mqtt-helpers.ts';

type Brokers = 'aedes' | 'mosquitto';
interface Reader {
  username: string;
  password: string;
  topicPrefix: string;
}
interface Received {
  topic: string;
  payload: string;
  retain: boolean;
}

async function connectReader(url: string, r: Pick<Reader, 'username' | 'password'>): Promise<MqttClient> {
  return mqtt.connectAsync(url, {
    username: r.username,
    password: r.password,
    clientId: `${r.username}-${Math.random().toString(36).slice(2, 8)}`,
    protocolVersion: 4,
    reconnectPeriod: 0,
    connectTimeout: 5000,
  });
}

function collect(client: MqttClient): Received[] {
  const got: Received[] = [];
  client.on('message', (topic, payload, packet) => {
    got.push({ topic, payload: payload.toString('utf8'), retain: packet.retain });
  });
  return got;
}

for (const engine of ENGINES) {
  for (const brokers of ['aedes', 'mosquitto'] as Brokers[]) {
    describe(`unified namespace export on ${engine} with ${brokers}`, () => {
      let hub: TestHub;
      let mosquitto: TestMosquitto | undefined;
      let url: string;
      let a: Fixture;
      let b: Fixture;
      let nodeA: TestNode;
      let nodeB: TestNode;
      let readerA: Reader;
      let readerB: Reader;
      let equipmentId: string;
      let hall: { id: string; lineId: string };
      let yard: { id: string };
      const clients: MqttClient[] = [];
      const tokens = new Map<string, Actor>();
      const user = (role: Role, orgId: string): string => {
        const token = `test-${role}-${orgId}-${tokens.size}`;
        tokens.set(token, { kind: 'user', role, orgId, userId: crypto.randomUUID() });
        return token;
      };
      const as = (token: string) => (method: string, path: string, body?: unknown) =>
        hub.app.inject({
          method: method as 'GET',
          url: path,
          headers: { authorization: `Bearer ${token}` },
          ...(body !== undefined ? { payload: body as object } : {}),
        });
      const published = async () => (await hub.app.uns.publisher.published.get()).values[0]?.value ?? 0;
      const telemetry = async (node: TestNode, samples: Record<string, unknown>[]) => {
        const res = await node.send('/api/v1/ingest/telemetry', { batchId: batchId(), samples });
        assert.equal(res.statusCode, 200, res.body);
        await hub.app.uns.publisher.idle();
      };
      const reader = async (r: Reader) => {
        const c = await connectReader(url, r);
        clients.push(c);
        return c;
      };
      const topicA = (area: string, line: string, equipment: string, metric: string) =>
        `${readerA.topicPrefix}roof-1/${area}/${line}/${equipment}/${metric}`;

      before(async () => {
        const files = brokers === 'mosquitto' ? mosquittoFiles() : undefined;
        hub = await startTestHub(engine, {
          host: '127.0.0.1',
          mqttPort: 0,
          mqttUrl: files ? `mqtt://127.0.0.1:${await freePort()}` : undefined,
          controlPlane: {
            heartbeatFlushMs: 100,
            sweepIntervalMs: 200,
            mosquittoSyncMs: 60_000,
            ...(files
              ? { username: HUB_USER.username, password: HUB_USER.password, mosquitto: files.files }
              : {}),
          },
        });
        hub.app.bearerAuthenticators.push(async (token) => tokens.get(token));
        a = await createSite(hub);
        b = await createSite(hub, { name: 'Other roof' });
        nodeA = await TestNode.enroll(hub, a.siteId);
        nodeB = await TestNode.enroll(hub, b.siteId);

        // The node registers its inverter; an installer places it on an area and line.
        const inv = await nodeA.send('/api/v1/ingest/events', {
          batchId: batchId(),
          events: [
            {
              ts: Date.now() - 60_000,
              kind: EVENT_KINDS.equipmentInventory,
              severity: 'info',
              message: 'inventory',
              data: {
                equipment: [
                  { key: 'inv1', kind: 'inverter', source: 'modbus-tcp', metrics: ['solar_w'], channels: [] },
                ],
              },
            },
          ],
        });
        assert.equal(inv.statusCode, 200, inv.body);
        equipmentId = await waitFor(async () => {
          const r = await hub.admin('GET', `/api/v1/sites/${a.siteId}/equipment`);
          return (r.json().equipment as { id: string; key: string }[]).find((e) => e.key === 'inv1')?.id;
        });
        const area = await hub.admin('POST', `/api/v1/sites/${a.siteId}/areas`, { name: 'Hall 2' });
        assert.equal(area.statusCode, 201, area.body);
        const line = await hub.admin('POST', `/api/v1/areas/${area.json().id}/lines`, { name: 'Press line' });
        assert.equal(line.statusCode, 201, line.body);
        hall = { id: area.json().id, lineId: line.json().id };
        const y = await hub.admin('POST', `/api/v1/sites/${a.siteId}/areas`, { name: 'Yard' });
        yard = { id: y.json().id };
        const placed = await hub.admin('PATCH', `/api/v1/equipment/${equipmentId}`, { lineId: hall.lineId });
        assert.equal(placed.statusCode, 200, placed.body);

        // Org A opts in under "acme" (its org admin); org B only gets a reader (stays opted out).
        const adminA = as(user('org_admin', a.orgId));
        const on = await adminA('PUT', `/api/v1/orgs/${a.orgId}/uns`, { enabled: true, slug: 'acme' });
        assert.equal(on.statusCode, 200, on.body);
        const ca = await adminA('POST', `/api/v1/orgs/${a.orgId}/uns/credentials`, { label: 'Node-RED' });
        assert.equal(ca.statusCode, 201, ca.body);
        readerA = ca.json();
        const cb = await as(user('org_admin', b.orgId))(
          'POST',
          `/api/v1/orgs/${b.orgId}/uns/credentials`,
          {},
        );
        assert.equal(cb.statusCode, 201, cb.body);
        readerB = cb.json();

        if (files) {
          assert.equal(await hub.app.controlPlane.syncMosquitto(), true);
          mosquitto = await startMosquitto(files.dir, files.files);
          hub.app.hub.config.mqttUrl = mosquitto.url;
        }
        const plane = await startControlPlane(hub.app);
        url = mosquitto?.url ?? plane.brokerUrl!;
      });

      after(async () => {
        for (const c of clients) await c.endAsync(true).catch(() => {});
        await hub?.close();
        await mosquitto?.stop();
      });

      it('settings and readers: org admins only, the slug documented in the answer, the password once', async () => {
        assert.equal(readerA.topicPrefix, 'wattfleet/v1/acme/');
        assert.match(readerA.username, /^uns-[0-9a-f]{12}$/);
        // B never chose one: its slug is derived from its name.
        assert.equal(readerB.topicPrefix, 'wattfleet/v1/household-a/');
        const viewer = await as(user('viewer', a.orgId))('GET', `/api/v1/orgs/${a.orgId}/uns`);
        assert.equal(viewer.statusCode, 403, viewer.body);
        const foreign = await as(user('org_admin', b.orgId))('GET', `/api/v1/orgs/${a.orgId}/uns`);
        assert.equal(foreign.statusCode, 404, foreign.body);
        const taken = await as(user('org_admin', b.orgId))('PUT', `/api/v1/orgs/${b.orgId}/uns`, {
          enabled: false,
          slug: 'acme',
        });
        assert.equal(taken.statusCode, 409, taken.body);
        const list = await hub.admin('GET', `/api/v1/orgs/${a.orgId}/uns/credentials`);
        assert.equal(list.statusCode, 200, list.body);
        assert.deepEqual(
          list.json().credentials.map((c: Record<string, unknown>) => [c.username, c.label, 'password' in c]),
          [[readerA.username, 'Node-RED', false]],
        );
        const audit = await hub.tdb.database.pool.query(
          `SELECT action FROM audit_log WHERE org_id = $1 AND action LIKE 'org.uns.%' ORDER BY id`,
          [a.orgId],
        );
        assert.deepEqual(
          audit.rows.map((r) => r.action),
          ['org.uns.update', 'org.uns.credentials.create', 'org.uns.read'],
        );
        const stored = await hub.tdb.database.pool.query(
          'SELECT password_hash FROM uns_credentials WHERE username = $1',
          [readerA.username],
        );
        assert.match(stored.rows[0].password_hash, /^\$7\$/);
        assert.ok(!stored.rows[0].password_hash.includes(readerA.password));
        if (mosquitto) {
          const acl = readFileSync(mosquitto.files.aclFile, 'utf8');
          assert.ok(acl.includes(`user ${readerA.username}\ntopic read wattfleet/v1/acme/#\n`), acl);
          assert.ok(acl.includes(`user ${readerB.username}\ntopic read wattfleet/v1/household-a/#\n`), acl);
          assert.match(acl, /^topic readwrite wattfleet\/#$/m);
          // wattfleet/ appears in no pattern: nodes (and readers) get no write rule there.
          assert.ok(!/^pattern .*wattfleet/m.test(acl), acl);
          const passwd = readFileSync(mosquitto.files.passwordFile, 'utf8');
          assert.match(passwd, new RegExp(`^${readerA.username}:\\$7\\$`, 'm'));
        }
      });

      it("publishes each series' last sample of a batch, retained, on the documented topic", async () => {
        const live = await reader(readerA);
        const liveGot = collect(live);
        assert.deepEqual(await grantedQos(live, ['wattfleet/v1/acme/#']), [1]);
        const t0 = Date.now() - 30_000;
        const before = await published();
        await telemetry(nodeA, [
          { metric: 'solar_w', equipment: 'inv1', ts: t0, value: 3100 },
          { metric: 'solar_w', equipment: 'inv1', ts: t0 + 10_000, value: 3250.5 },
          { metric: 'solar_w', equipment: 'inv1', ts: t0 + 5_000, value: 3200 },
          { metric: 'grid_w', ts: t0 + 10_000, value: -420 },
        ]);
        // Coalesced: two series, two messages, however many samples.
        assert.equal((await published()) - before, 2);
        const inv = topicA('hall-2', 'press-line', 'inv1', 'solar_w');
        const self = topicA('_', '_', `node-${nodeA.nodeId}`, 'grid_w');
        await waitFor(() => liveGot.some((m) => m.topic === self), 5000, 'live message');
        await waitFor(() => liveGot.some((m) => m.topic === inv), 5000, 'live message');
        assert.equal(liveGot.filter((m) => m.topic === inv).length, 1);

        // A reader connecting later gets the retained last values.
        const late = await reader(readerA);
        const got = collect(late);
        await late.subscribeAsync('wattfleet/v1/acme/#', { qos: 1 });
        await waitFor(() => got.length >= 2, 5000, 'retained values');
        const byTopic = new Map(got.map((m) => [m.topic, m]));
        assert.ok(byTopic.get(inv)?.retain);
        assert.deepEqual(JSON.parse(byTopic.get(inv)!.payload), {
          value: 3250.5,
          unit: 'W',
          ts: new Date(t0 + 10_000).toISOString(),
          quality: 'good',
        });
        assert.deepEqual(JSON.parse(byTopic.get(self)!.payload), {
          value: -420,
          unit: 'W',
          ts: new Date(t0 + 10_000).toISOString(),
          quality: 'good',
        });
      });

      it('marks values that break the data contract as bad or uncertain', async () => {
        const t0 = Date.now() - 20_000;
        await telemetry(nodeA, [
          { metric: 'solar_w', equipment: 'inv1', ts: t0, value: -9000 },
          { metric: 'solar_w', equipment: 'inv1', ts: t0 + 1000, value: 1500 },
          { metric: 'solar_wh', equipment: 'inv1', ts: t0 + 1000, value: -5 },
        ]);
        const c = await reader(readerA);
        const got = collect(c);
        await c.subscribeAsync('wattfleet/v1/acme/roof-1/hall-2/press-line/inv1/+', { qos: 1 });
        await waitFor(() => got.length >= 2, 5000, 'retained values');
        const q = Object.fromEntries(got.map((m) => [m.topic.split('/').pop(), JSON.parse(m.payload)]));
        assert.equal(q.solar_w.quality, 'uncertain');
        assert.equal(q.solar_w.value, 1500);
        assert.equal(q.solar_wh.quality, 'bad');
        assert.equal(q.solar_wh.unit, 'Wh');
      });

      it("refuses another org's reader on this org's tree, and every publish into wattfleet/v1", async () => {
        const other = await reader(readerB);
        const otherGot = collect(other);
        for (const filter of ['wattfleet/v1/acme/#', 'wattfleet/v1/#', '#', 'wattfleet/v1/+/roof-1/#']) {
          const granted = await grantedQos(other, [filter]);
          // Aedes refuses the filter; Mosquitto 2.0 may grant it but its ACL delivers nothing.
          if (brokers === 'aedes') assert.deepEqual(granted, [128], filter);
        }
        assert.deepEqual(await grantedQos(other, [`${readerB.topicPrefix}#`]), [1]);

        const watcher = await reader(readerA);
        const watched = collect(watcher);
        await watcher.subscribeAsync('wattfleet/v1/acme/#', { qos: 1 });
        // Retained: solar_w, solar_wh and grid_w.
        await waitFor(() => watched.length >= 3, 5000, 'retained values');
        await sleep(100);
        watched.length = 0;

        // A node may neither publish into the namespace nor read it.
        const node = await connectNode(url, nodeA);
        clients.push(node);
        if (brokers === 'aedes') assert.deepEqual(await grantedQos(node, ['wattfleet/v1/#']), [128]);
        const forged = topicA('_', '_', 'forged', 'solar_w');
        node.on('error', () => {});
        await node.publishAsync(forged, '{"value":1}', { qos: 0, retain: true }).catch(() => {});
        await node
          .publishAsync(topicA('hall-2', 'press-line', 'inv1', 'solar_w'), '{"value":1}', { qos: 0 })
          .catch(() => {});
        // Nor may a reader, even in its own tree.
        const rw = await reader(readerA);
        rw.on('error', () => {});
        await rw.publishAsync(forged, '{"value":2}', { qos: 0, retain: true }).catch(() => {});

        // A real update afterwards: once it is through, anything forged would have been too.
        await telemetry(nodeA, [{ metric: 'grid_w', ts: Date.now() - 1000, value: 77 }]);
        await waitFor(() => watched.some((m) => m.topic.endsWith('/grid_w')), 5000, 'marker');
        await sleep(200);
        assert.deepEqual(
          watched.map((m) => m.topic),
          [topicA('_', '_', `node-${nodeA.nodeId}`, 'grid_w')],
        );
        assert.ok(!otherGot.some((m) => m.topic.startsWith('wattfleet/v1/acme/')), JSON.stringify(otherGot));
      });

      it('publishes nothing for an org that has not opted in', async () => {
        const c = await reader(readerB);
        const got = collect(c);
        await c.subscribeAsync(`${readerB.topicPrefix}#`, { qos: 1 });
        const before = await published();
        await telemetry(nodeB, [{ metric: 'solar_w', ts: Date.now() - 1000, value: 900 }]);
        await sleep(300);
        assert.equal(await published(), before);
        assert.deepEqual(got, []);
      });

      it('clears the old retained topics when equipment moves and publishes under the new path', async () => {
        const c = await reader(readerA);
        const got = collect(c);
        await c.subscribeAsync('wattfleet/v1/acme/#', { qos: 1 });
        const old = topicA('hall-2', 'press-line', 'inv1', 'solar_w');
        await waitFor(() => got.some((m) => m.topic === old), 5000, 'retained old');
        got.length = 0;
        const moved = await hub.admin('PATCH', `/api/v1/equipment/${equipmentId}`, { areaId: yard.id });
        assert.equal(moved.statusCode, 200, moved.body);
        await hub.app.uns.publisher.idle();
        const now = topicA('yard', '_', 'inv1', 'solar_w');
        await waitFor(() => got.some((m) => m.topic === now), 5000, 'new path');
        await waitFor(
          () => got.some((m) => m.topic === old && m.payload === ''),
          5000,
          'clear of the old path',
        );
        assert.equal(JSON.parse(got.find((m) => m.topic === now)!.payload).value, 1500);

        // Retained state now: the new path only.
        const fresh = await reader(readerA);
        const retained = collect(fresh);
        await fresh.subscribeAsync('wattfleet/v1/acme/roof-1/+/+/inv1/#', { qos: 1 });
        await waitFor(() => retained.length >= 2, 5000, 'retained');
        await sleep(200);
        assert.deepEqual(
          retained.map((m) => m.topic).sort(),
          [now, topicA('yard', '_', 'inv1', 'solar_wh')].sort(),
        );
      });

      it('clears the tree when the org opts out, and a revoked reader is shut out', async () => {
        const off = await hub.admin('PUT', `/api/v1/orgs/${a.orgId}/uns`, { enabled: false });
        assert.equal(off.statusCode, 200, off.body);
        assert.equal(off.json().slug, 'acme');
        await hub.app.uns.publisher.idle();
        const c = await reader(readerA);
        const got = collect(c);
        await c.subscribeAsync('wattfleet/v1/acme/#', { qos: 1 });
        await sleep(300);
        assert.deepEqual(got, []);

        const creds = (await hub.admin('GET', `/api/v1/orgs/${a.orgId}/uns/credentials`)).json().credentials;
        const del = await hub.admin('DELETE', `/api/v1/orgs/${a.orgId}/uns/credentials/${creds[0].id}`);
        assert.equal(del.statusCode, 204, del.body);
        if (brokers === 'mosquitto') await hub.app.controlPlane.syncMosquitto();
        await waitFor(
          () =>
            connectReader(url, readerA).then(
              async (cl) => {
                await cl.endAsync();
                return false;
              },
              () => true,
            ),
          10_000,
          'revoked reader refused',
        );
      });
    });
  }
}
