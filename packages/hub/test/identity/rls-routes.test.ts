// Row-level security as the second fence of the read routes: with the application's own site
// checks switched off (hub.testOnlyBypassAppScoping), an owner of site A who asks for site B's
// commands, logs, node, config, completeness, fleet rows and telemetry still gets nothing of B,
// because the data queries run as the tenant role with the settings of the real grants.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { assertSiteAccess } from '../../src/auth/access.ts';
import type { Actor } from '../../src/auth/actor.ts';
import { ENGINES } from '../helpers/engines.ts';
import { batchId, createSite, startTestHub, type TestHub, TestNode } from '../helpers/hub.ts';
import { as, createUser, login } from './helpers.ts';

for (const engine of ENGINES) {
  describe(`read routes under row-level security on ${engine}`, () => {
    let hub: TestHub;
    let token: string;
    let ownerId: string;
    let orgA: string;
    let siteA: string;
    let siteB: string;
    let nodeA: TestNode;
    let nodeB: TestNode;
    const cmd = {} as Record<'A' | 'B', string>;
    const now = Date.now();
    const from = new Date(now - 3_600_000).toISOString();
    const to = new Date(now + 60_000).toISOString();
    const today = new Date(now).toISOString().slice(0, 10);

    const get = (url: string) => as(hub, token, 'GET', url);
    const bypass = (on: boolean) => {
      hub.app.hub.testOnlyBypassAppScoping = on;
    };

    before(async () => {
      hub = await startTestHub(engine);
      const a = await createSite(hub, { name: 'A' });
      const b = await createSite(hub, { name: 'B' });
      orgA = a.orgId;
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
          samples: [{ metric: 'solar_w', ts: now - 60_000, value: 1000 }],
        });
        assert.equal(ingest.statusCode, 200, ingest.body);
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
    ];

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
      } finally {
        bypass(false);
      }
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
      } finally {
        bypass(false);
      }
    });
  });
}
