// Row-level security as the second fence of the routes: with the application's own site checks
// switched off (hub.testOnlyBypassAppScoping), an owner of site A who asks for site B's commands,
// logs, node, config, completeness, fleet rows, telemetry, site detail, daily/monthly/comparison/
// reconciliation analytics, the installer fleet totals of B's org, tariffs and grants, or who
// subscribes to B over the realtime WebSocket, still gets nothing of B; a change to B (site patch)
// changes nothing; an installer without access cannot revoke B's enrollment code. The queries run
// as the tenant role with the settings of the real grants.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import WebSocket from 'ws';
import { assertSiteAccess } from '../../src/auth/access.ts';
import type { Actor } from '../../src/auth/actor.ts';
import { localDate, localDayStart } from '../../src/time/zoned.ts';
import { testNow } from '../helpers/clock.ts';
import { ENGINES } from '../helpers/engines.ts';
import { batchId, createSite, startTestHub, type TestHub, TestNode } from '../helpers/hub.ts';
import { waitFor } from '../mqtt/mqtt-helpers.ts';
import { as, createOrg, createUser, login } from './helpers.ts';

const SITE_TZ = 'Europe/Berlin';

for (const engine of ENGINES) {
  describe(`read routes under row-level security on ${engine}`, () => {
    let hub: TestHub;
    let token: string;
    let strangerToken: string;
    let ownerId: string;
    let orgA: string;
    let orgB: string;
    let codeB: string;
    let base: string;
    let siteA: string;
    let siteB: string;
    let nodeA: TestNode;
    let nodeB: TestNode;
    const cmd = {} as Record<'A' | 'B', string>;
    // "Today" is the site's (createSite: Europe/Berlin), and the sample lies inside it even a
    // minute after midnight: the day queries below must find it at any hour (testNow pins one).
    const now = testNow(SITE_TZ);
    const sampleAt = Math.max(now - 60_000, localDayStart(now, SITE_TZ));
    const from = new Date(now - 3_600_000).toISOString();
    const to = new Date(now + 60_000).toISOString();
    const today = localDate(now, SITE_TZ);
    const month = today.slice(0, 7);

    const get = (url: string) => as(hub, token, 'GET', url);
    const bypass = (on: boolean) => {
      hub.app.hub.testOnlyBypassAppScoping = on;
    };

    before(async () => {
      hub = await startTestHub(engine);
      const a = await createSite(hub, { name: 'A', timezone: SITE_TZ });
      const b = await createSite(hub, { name: 'B', timezone: SITE_TZ });
      orgA = a.orgId;
      orgB = b.orgId;
      siteA = a.siteId;
      siteB = b.siteId;
      ownerId = await createUser(hub, orgA, 'owner', 'owner-a@example.test');
      token = (await login(hub, 'owner-a@example.test')).accessToken;
      nodeA = await TestNode.enroll(hub, siteA);
      nodeB = await TestNode.enroll(hub, siteB);
      for (const [k, node] of [
        ['A', nodeA],
        ['B', nodeB],
      ] as const) {
        const created = await hub.admin('POST', `/api/v1/nodes/${node.nodeId}/commands`, {
          type: 'FETCH_LOGS',
        });
        assert.equal(created.statusCode, 201, created.body);
        cmd[k] = created.json().id;
        const url = `/api/v1/nodes/${node.nodeId}/logs`;
        const up = await node.send(url, { chunk: 0, final: true, lines: [`log of ${k}`] });
        assert.equal(up.statusCode, 200, up.body);
        const ingest = await node.send('/api/v1/ingest/telemetry', {
          batchId: batchId(),
          samples: [{ metric: 'solar_w', ts: sampleAt, value: 1000 }],
        });
        assert.equal(ingest.statusCode, 200, ingest.body);
        // A device report for today: reconciled against the hub's figure.
        const report = await node.send('/api/v1/ingest/daily', {
          batchId: batchId('d'),
          days: [{ date: today, values: { solar_kwh: 5 } }],
        });
        assert.equal(report.statusCode, 200, report.body);
        const tariff = await hub.admin('POST', `/api/v1/sites/${node.siteId}/tariffs`, {
          validFrom: '2020-01-01',
          definition: { currency: 'EUR', importRate: 0.3, periods: [], exportRate: 0.1, dailyCharge: 1 },
        });
        assert.equal(tariff.statusCode, 201, tariff.body);
        // Setup as the system: a config the node accepted (a succeeded CONFIG_PUSH).
        await hub.tdb.database.db
          .insertInto('commands')
          .values({
            node_id: node.nodeId,
            site_id: node.siteId,
            type: 'CONFIG_PUSH',
            args: JSON.stringify({ config: `name: ${k}\n` }),
            state: 'succeeded',
            expires_at: new Date(now + 3_600_000),
            created_by_type: 'system',
            created_by_id: 'test',
          })
          .execute();
      }
      // B has an installer grant and a pending enrollment code; "Strangers" install nothing.
      const crew = await createOrg(hub, 'installer', 'Crew');
      assert.equal(
        (await hub.admin('POST', `/api/v1/sites/${siteB}/grants`, { orgId: crew })).statusCode,
        201,
      );
      assert.equal((await hub.admin('POST', `/api/v1/sites/${siteB}/enrollment-codes`, {})).statusCode, 201);
      codeB = (await hub.admin('GET', `/api/v1/fleet/enrollment-codes?siteId=${siteB}`)).json()[0].id;
      await createUser(
        hub,
        await createOrg(hub, 'installer', 'Strangers'),
        'installer',
        'stranger@example.test',
      );
      strangerToken = (await login(hub, 'stranger@example.test')).accessToken;
      await hub.app.listen({ host: '127.0.0.1', port: 0 });
      base = `ws://127.0.0.1:${(hub.app.server.address() as { port: number }).port}`;
    });
    after(async () => {
      if (hub) bypass(false);
      await hub?.close();
    });

    const foreignUrls = () => [
      `/api/v1/nodes/${nodeB.nodeId}`,
      `/api/v1/nodes/${nodeB.nodeId}/commands/${cmd.B}`,
      `/api/v1/nodes/${nodeB.nodeId}/config`,
      `/api/v1/nodes/${nodeB.nodeId}/completeness?from=${today}&to=${today}`,
      `/api/v1/sites/${siteB}`,
      `/api/v1/sites/${siteB}/daily?from=${today}&to=${today}`,
      `/api/v1/sites/${siteB}/monthly?from=${month}&to=${month}`,
      `/api/v1/sites/${siteB}/comparison?from=${today}&to=${today}`,
      `/api/v1/sites/${siteB}/reconciliation?from=${today}&to=${today}`,
    ];

    /** Subscribes as the owner of A to both sites and nodes; returns what the socket received. */
    const subscribeBoth = async () => {
      const ws = new WebSocket(`${base}/api/v1/realtime`);
      const got: { type: string; event?: string; siteIds?: string[]; nodeIds?: string[]; data?: unknown }[] =
        [];
      ws.on('message', (m) => got.push(JSON.parse(m.toString())));
      await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
      ws.send(JSON.stringify({ type: 'auth', token }));
      await waitFor(() => got.find((m) => m.type === 'ready'));
      ws.send(
        JSON.stringify({ type: 'subscribe', siteIds: [siteA, siteB], nodeIds: [nodeA.nodeId, nodeB.nodeId] }),
      );
      const subscribed = await waitFor(() => got.find((m) => m.type === 'subscribed'));
      return { ws, got, subscribed };
    };

    test('the data of B exists and the code-level fence hides it (404)', async () => {
      bypass(false);
      for (const url of [...foreignUrls(), `/api/v1/nodes/${nodeB.nodeId}/commands`]) {
        assert.equal((await hub.admin('GET', url)).statusCode, 200, `admin ${url}`);
        assert.equal((await get(url)).statusCode, 404, url);
      }
      const logs = await hub.admin('GET', `/api/v1/nodes/${nodeB.nodeId}/logs`);
      assert.deepEqual(logs.json().lines, ['log of B']);
      const tel = await hub.admin('GET', `/api/v1/sites/${siteB}/telemetry?from=${from}&to=${to}&step=raw`);
      assert.equal(tel.json().series.length, 1, tel.body);
      const monthly = await hub.admin('GET', `/api/v1/sites/${siteB}/monthly?from=${month}&to=${month}`);
      assert.ok(monthly.json()[0].days >= 1, monthly.body);
      const rec = await hub.admin('GET', `/api/v1/sites/${siteB}/reconciliation?from=${today}&to=${today}`);
      assert.ok(rec.json().length >= 1, rec.body);
      assert.equal((await hub.admin('GET', `/api/v1/installers/${orgB}/fleet`)).json().sites, 1);
      assert.equal((await get(`/api/v1/installers/${orgB}/fleet`)).statusCode, 404);
      assert.equal((await hub.admin('GET', `/api/v1/sites/${siteB}/tariffs`)).json().length, 1);
      assert.equal((await hub.admin('GET', `/api/v1/sites/${siteB}/grants`)).json().length, 1);
      for (const url of [`/api/v1/sites/${siteB}/tariffs`, `/api/v1/sites/${siteB}/grants`]) {
        assert.equal((await get(url)).statusCode, 404, url);
      }
      const { ws, subscribed } = await subscribeBoth();
      ws.close();
      assert.deepEqual(subscribed.siteIds, [siteA]);
      assert.deepEqual(subscribed.nodeIds, [nodeA.nodeId]);
    });

    test('with the application checks off, row-level security alone keeps B out', async () => {
      bypass(true);
      try {
        // The switch really turns the first fence off: the code check lets site B through.
        const actor: Actor = { kind: 'user', userId: ownerId, orgId: orgA, role: 'owner' };
        await assertSiteAccess(hub.app.hub, actor, siteB);

        for (const url of foreignUrls()) {
          const r = await get(url);
          assert.equal(r.statusCode, 404, `${url}: ${r.body}`);
        }
        const list = await get(`/api/v1/nodes/${nodeB.nodeId}/commands`);
        assert.equal(list.statusCode, 200, list.body);
        assert.deepEqual(list.json().items, []);
        const logs = await get(`/api/v1/nodes/${nodeB.nodeId}/logs`);
        assert.equal(logs.statusCode, 200, logs.body);
        assert.deepEqual(logs.json().lines, []);
        assert.deepEqual(logs.json().chunks, []);
        const fleet = await get('/api/v1/fleet/sites');
        assert.equal(fleet.statusCode, 200, fleet.body);
        assert.deepEqual(
          fleet.json().map((s: { id: string }) => s.id),
          [siteA],
        );
        assert.deepEqual(
          fleet.json()[0].nodeList.map((n: { id: string }) => n.id),
          [nodeA.nodeId],
        );
        const tel = await get(`/api/v1/sites/${siteB}/telemetry?from=${from}&to=${to}&step=raw`);
        assert.equal(tel.statusCode, 200, tel.body);
        assert.deepEqual(tel.json().series, []);
        // The organisation check is off too: B's org answers, with none of B's sites.
        const orgFleet = await get(`/api/v1/installers/${orgB}/fleet`);
        assert.equal(orgFleet.statusCode, 200, orgFleet.body);
        assert.equal(orgFleet.json().sites, 0, orgFleet.body);
        for (const url of [`/api/v1/sites/${siteB}/tariffs`, `/api/v1/sites/${siteB}/grants`]) {
          const r = await get(url);
          assert.equal(r.statusCode, 200, `${url}: ${r.body}`);
          assert.deepEqual(r.json(), [], url);
        }
      } finally {
        bypass(false);
      }
    });

    test('with the application checks off, the realtime subscription scope still refuses B', async () => {
      bypass(true);
      const { ws, got, subscribed } = await subscribeBoth();
      try {
        assert.deepEqual(subscribed.siteIds, [siteA]);
        assert.deepEqual(subscribed.nodeIds, [nodeA.nodeId]);
        const bus = hub.app.hub.bus;
        bus.emitEvent('node.live', { nodeId: nodeB.nodeId, siteId: siteB, snapshot: { of: 'B' } });
        bus.emitEvent('node.live', { nodeId: nodeA.nodeId, siteId: siteA, snapshot: { of: 'A' } });
        await waitFor(() => got.find((m) => m.event === 'node.live'));
        const events = got.filter((m) => m.type === 'event');
        assert.deepEqual(
          events.map((e) => (e.data as { snapshot: { of: string } }).snapshot.of),
          ['A'],
        );
      } finally {
        ws.close();
        bypass(false);
      }
    });

    test('with the application checks off, changes to B are refused by row-level security', async () => {
      bypass(true);
      try {
        const patched = await as(hub, token, 'PATCH', `/api/v1/sites/${siteB}`, { name: 'Taken over' });
        assert.equal(patched.statusCode, 404, patched.body);
        const revoked = await as(
          hub,
          strangerToken,
          'POST',
          `/api/v1/fleet/enrollment-codes/${codeB}/revoke`,
        );
        assert.equal(revoked.statusCode, 404, revoked.body);
      } finally {
        bypass(false);
      }
      assert.equal((await hub.admin('GET', `/api/v1/sites/${siteB}`)).json().name, 'B');
      const codes = await hub.admin('GET', `/api/v1/fleet/enrollment-codes?siteId=${siteB}`);
      assert.equal(codes.json()[0].state, 'pending');
    });

    test('with the application checks off, the owner still sees all of A', async () => {
      bypass(true);
      try {
        assert.equal((await get(`/api/v1/nodes/${nodeA.nodeId}`)).json().id, nodeA.nodeId);
        const list = await get(`/api/v1/nodes/${nodeA.nodeId}/commands`);
        assert.equal(list.json().items.length, 2, list.body);
        const one = await get(`/api/v1/nodes/${nodeA.nodeId}/commands/${cmd.A}`);
        assert.equal(one.statusCode, 200, one.body);
        assert.equal(one.json().history[0].to, 'pending');
        assert.deepEqual((await get(`/api/v1/nodes/${nodeA.nodeId}/logs`)).json().lines, ['log of A']);
        assert.equal((await get(`/api/v1/nodes/${nodeA.nodeId}/config`)).json().config, 'name: A\n');
        const comp = await get(`/api/v1/nodes/${nodeA.nodeId}/completeness?from=${today}&to=${today}`);
        assert.equal(comp.statusCode, 200, comp.body);
        assert.ok(comp.json()[0].received >= 1, comp.body);
        const tel = await get(`/api/v1/sites/${siteA}/telemetry?from=${from}&to=${to}&step=raw`);
        assert.equal(tel.json().series.length, 1, tel.body);
        const site = await get(`/api/v1/sites/${siteA}`);
        assert.deepEqual(
          site.json().nodes.map((n: { id: string }) => n.id),
          [nodeA.nodeId],
        );
        const monthly = await get(`/api/v1/sites/${siteA}/monthly?from=${month}&to=${month}`);
        assert.ok(monthly.json()[0].days >= 1, monthly.body);
        const cmp = await get(`/api/v1/sites/${siteA}/comparison?from=${today}&to=${today}`);
        assert.equal(cmp.json().current.days, 1, cmp.body);
        const rec = await get(`/api/v1/sites/${siteA}/reconciliation?from=${today}&to=${today}`);
        assert.ok(rec.json().length >= 1, rec.body);
        const fleet = await get(`/api/v1/installers/${orgA}/fleet`);
        assert.equal(fleet.json().sites, 1, fleet.body);
        assert.equal((await get(`/api/v1/sites/${siteA}/tariffs`)).json().length, 1);
      } finally {
        bypass(false);
      }
    });
  });
}
