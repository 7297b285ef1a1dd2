// Equipment registry and asset hierarchy (issue 17.4), both engines. The node side is the real
// signed ingest path: an `equipment.inventory` event as the agent sends it, telemetry of that
// equipment, reachability events. (The agent producing these is tested in
// packages/edge/test/agent-equipment.test.ts.) Users are test bearer tokens with a role.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { EVENT_KINDS, type InventoryEquipment, type Role } from '@wattfleet/protocol';
import type { Actor } from '../../src/auth/actor.ts';
import { ENGINES } from '../helpers/engines.ts';
import { batchId, createSite, type Fixture, startTestHub, type TestHub, TestNode } from '../helpers/hub.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const inverter: InventoryEquipment = {
  key: 'inv1',
  kind: 'inverter',
  source: 'modbus-tcp',
  vendor: 'SunSpec',
  model: 'SE5000H',
  serial: '7E1234AB',
  firmware: '4.18.32',
  metrics: ['solar_w', 'solar_wh'],
  channels: [],
};
const meter: InventoryEquipment = {
  key: 'meter1',
  kind: 'meter',
  source: 'opcua',
  label: 'Main meter',
  metrics: ['grid_w'],
  channels: [],
};

for (const engine of ENGINES) {
  describe(`equipment registry on ${engine}`, () => {
    let hub: TestHub;
    let site: Fixture;
    let other: Fixture;
    let node: TestNode;
    const tokens = new Map<string, Actor>();
    const user = (role: Role, orgId: string): string => {
      const token = `test-${role}-${orgId}-${tokens.size}`;
      tokens.set(token, { kind: 'user', role, orgId, userId: crypto.randomUUID() });
      return token;
    };
    const as = (token: string) => (method: string, url: string, body?: unknown) =>
      hub.app.inject({
        method: method as 'GET',
        url,
        headers: { authorization: `Bearer ${token}` },
        ...(body !== undefined ? { payload: body as object } : {}),
      });
    const event = (ts: number, kind: string, extra: Record<string, unknown> = {}) =>
      node.send('/api/v1/ingest/events', {
        batchId: batchId(),
        events: [{ ts, kind, severity: 'info', message: kind, ...extra }],
      });
    const list = async () => {
      const res = await hub.admin('GET', `/api/v1/sites/${site.siteId}/equipment`);
      assert.equal(res.statusCode, 200, res.body);
      return res.json() as {
        equipment: Record<string, unknown>[];
        areas: { id: string; slug: string; lines: { id: string }[] }[];
      };
    };
    /** The registry follows node events asynchronously (bus): wait until it shows what is asked. */
    const until = async (what: string, ok: (l: Awaited<ReturnType<typeof list>>) => boolean) => {
      for (let i = 0; i < 100; i++) {
        const l = await list();
        if (ok(l)) return l;
        await sleep(50);
      }
      assert.fail(`registry never showed: ${what}`);
    };
    const byKey = (l: Awaited<ReturnType<typeof list>>, key: string) =>
      l.equipment.find((e) => e.key === key) as
        | (Record<string, unknown> & { id: string; lastReading: { ts: string; values: unknown } })
        | undefined;

    before(async () => {
      hub = await startTestHub(engine);
      hub.app.bearerAuthenticators.push(async (token) => tokens.get(token));
      site = await createSite(hub);
      other = await createSite(hub, { name: 'Other' });
      node = await TestNode.enroll(hub, site.siteId);
    });
    after(async () => hub?.close());

    it('registers what the node lists, links its series and shows the last reading', async () => {
      const now = Date.now();
      // Telemetry first: the series exist before the inventory and get linked when it arrives.
      const t = await node.send('/api/v1/ingest/telemetry', {
        batchId: batchId(),
        samples: [
          { metric: 'solar_w', equipment: 'inv1', ts: now - 20_000, value: 3100 },
          { metric: 'solar_w', equipment: 'inv1', ts: now - 10_000, value: 3200 },
          { metric: 'solar_wh', equipment: 'inv1', ts: now - 10_000, value: 12_000 },
        ],
      });
      assert.equal(t.statusCode, 200, t.body);
      const sent = await event(now - 5_000, EVENT_KINDS.equipmentInventory, {
        data: { equipment: [inverter, meter] },
      });
      assert.equal(sent.statusCode, 200, sent.body);
      const l = await until('two equipment', (x) => x.equipment.length === 2);
      const inv = byKey(l, 'inv1')!;
      assert.equal(inv.model, 'SE5000H');
      assert.equal(inv.serial, '7E1234AB');
      assert.equal(inv.firmware, '4.18.32');
      assert.equal(inv.source, 'modbus-tcp');
      assert.deepEqual(inv.metrics, ['solar_w', 'solar_wh']);
      assert.equal(inv.state, 'answering');
      assert.equal(inv.lastReading.ts, new Date(now - 10_000).toISOString());
      assert.deepEqual(inv.lastReading.values, [
        { metric: 'solar_w', value: 3200 },
        { metric: 'solar_wh', value: 12_000 },
      ]);
      const m = byKey(l, 'meter1')!;
      assert.equal(m.label, 'Main meter');
      assert.equal(m.state, 'waiting');
      assert.equal(m.lastReading, null);
      const linked = await hub.tdb.database.pool.query(
        `SELECT count(*)::int AS n FROM series s JOIN equipment e ON e.id = s.equipment_id
          WHERE s.node_id = $1 AND e.key = 'inv1'`,
        [node.nodeId],
      );
      assert.equal(linked.rows[0].n, 2);
      // A series created after the inventory knows its equipment at once.
      await node.send('/api/v1/ingest/telemetry', {
        batchId: batchId(),
        samples: [{ metric: 'grid_w', equipment: 'meter1', ts: now - 4_000, value: -500 }],
      });
      const meterSeries = await hub.tdb.database.pool.query(
        `SELECT e.key FROM series s JOIN equipment e ON e.id = s.equipment_id
          WHERE s.node_id = $1 AND s.metric = 'grid_w'`,
        [node.nodeId],
      );
      assert.deepEqual(
        meterSeries.rows.map((r) => r.key),
        ['meter1'],
      );
    });

    it('commissioning: every expected equipment must answer; unreachable and absent are told apart', async () => {
      const check = async () => (await hub.admin('GET', `/api/v1/sites/${site.siteId}/commissioning`)).json();
      let c = await check();
      assert.equal(c.ok, true, JSON.stringify(c));
      assert.equal(c.expected, 2);
      const now = Date.now();
      await event(now - 1_000, EVENT_KINDS.equipmentUnreachable, {
        equipment: 'meter1',
        message: 'meter1: no answer within 2000 ms',
      });
      await until('meter unreachable', (x) => byKey(x, 'meter1')?.state === 'unreachable');
      c = await check();
      assert.equal(c.ok, false);
      assert.equal(c.answering, 1);
      assert.equal(c.problems.length, 1);
      assert.equal(c.problems[0].key, 'meter1');
      assert.match(c.problems[0].reason, /no answer within 2000 ms/);
      // The config drops the meter: it is absent (history kept) and no longer expected.
      await event(now, EVENT_KINDS.equipmentInventory, { data: { equipment: [inverter] } });
      await until('meter absent', (x) => byKey(x, 'meter1')?.state === 'absent');
      c = await check();
      assert.equal(c.ok, true, JSON.stringify(c));
      assert.equal(c.expected, 1);
      // An older inventory arriving late changes nothing.
      await event(now - 60_000, EVENT_KINDS.equipmentInventory, { data: { equipment: [inverter, meter] } });
      await sleep(300);
      assert.equal(byKey(await list(), 'meter1')?.present, false);
      // A malformed inventory is kept as an event but ignored by the registry.
      const bad = await event(now + 1, EVENT_KINDS.equipmentInventory, {
        data: { equipment: [{ key: 'x' }] },
      });
      assert.equal(bad.statusCode, 200, bad.body);
      await sleep(300);
      assert.equal((await list()).equipment.length, 2);
    });

    it('areas and lines: created with slugs, equipment placed on them, checked against the site', async () => {
      const area = await hub.admin('POST', `/api/v1/sites/${site.siteId}/areas`, {
        name: 'Hall 2 — Presses',
      });
      assert.equal(area.statusCode, 201, area.body);
      assert.equal(area.json().slug, 'hall-2-presses');
      const dup = await hub.admin('POST', `/api/v1/sites/${site.siteId}/areas`, { name: 'hall 2 presses' });
      assert.equal(dup.statusCode, 409);
      const line = await hub.admin('POST', `/api/v1/areas/${area.json().id}/lines`, { name: 'Line A' });
      assert.equal(line.statusCode, 201, line.body);
      const otherArea = await hub.admin('POST', `/api/v1/sites/${other.siteId}/areas`, { name: 'Yard' });
      const inv = byKey(await list(), 'inv1')!;
      const placed = await hub.admin('PATCH', `/api/v1/equipment/${inv.id}`, { lineId: line.json().id });
      assert.equal(placed.statusCode, 200, placed.body);
      assert.equal(placed.json().areaId, area.json().id, 'a line brings its area');
      assert.equal(placed.json().lineId, line.json().id);
      const wrong = await hub.admin('PATCH', `/api/v1/equipment/${inv.id}`, { areaId: otherArea.json().id });
      assert.equal(wrong.statusCode, 400);
      assert.equal(wrong.json().problems[0].path, '/body/areaId');
      const audit = await hub.admin('GET', `/api/v1/audit?action=equipment.place&target=${inv.id}`);
      assert.deepEqual((audit.json().items as { result: string }[]).map((i) => i.result).sort(), [
        'failed',
        'ok',
      ]);
      const l = await list();
      assert.deepEqual(
        l.areas.map((a) => [a.slug, a.lines.length]),
        [['hall-2-presses', 1]],
      );
      // Removing the area takes its lines and leaves the equipment unplaced, not gone.
      assert.equal((await hub.admin('DELETE', `/api/v1/areas/${area.json().id}`)).statusCode, 204);
      const after = byKey(await list(), 'inv1')!;
      assert.equal(after.areaId, null);
      assert.equal(after.lineId, null);
    });

    it('access: viewer reads only, other tenants see nothing', async () => {
      const inv = byKey(await list(), 'inv1')!;
      const viewer = as(user('viewer', site.orgId));
      assert.equal((await viewer('GET', `/api/v1/sites/${site.siteId}/equipment`)).statusCode, 200);
      assert.equal((await viewer('GET', `/api/v1/sites/${site.siteId}/commissioning`)).statusCode, 200);
      assert.equal(
        (await viewer('POST', `/api/v1/sites/${site.siteId}/areas`, { name: 'X' })).statusCode,
        403,
      );
      assert.equal((await viewer('PATCH', `/api/v1/equipment/${inv.id}`, { areaId: null })).statusCode, 403);
      const stranger = as(user('owner', other.orgId));
      assert.equal((await stranger('GET', `/api/v1/sites/${site.siteId}/equipment`)).statusCode, 404);
      assert.equal((await stranger('GET', `/api/v1/sites/${site.siteId}/commissioning`)).statusCode, 404);
      assert.equal(
        (await stranger('PATCH', `/api/v1/equipment/${inv.id}`, { areaId: null })).statusCode,
        404,
      );
      const owner = as(user('owner', site.orgId));
      const mine = await owner('GET', `/api/v1/sites/${site.siteId}/equipment`);
      assert.equal(mine.statusCode, 200);
      assert.equal(mine.json().equipment.length, 2);
    });
  });
}
