// Fleet overview, agent config validation and a node's current config, on both engines: scope
// (an owner sees only their site, a foreign node's config is a 404), health buckets, node counts,
// open alerts, every config problem with its YAML line.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Role } from '@wattfleet/protocol';
import type { Actor } from '../../src/auth/actor.ts';
import type { FleetSiteRow } from '../../src/fleet/fleet.routes.ts';
import { fleetHealth, worstSeverity } from '../../src/fleet/fleet-health.ts';
import { ENGINES } from '../helpers/engines.ts';
import { createSite, type Fixture, startTestHub, type TestHub, TestNode } from '../helpers/hub.ts';

export const VALID_CONFIG = `version: 2
hub:
  url: http://127.0.0.1:8080
site:
  lat: 52.5
  lon: 13.4
  timezone: Europe/Berlin
sources:
  - type: simulator
    key: sim
    seed: 1
`;

describe('fleet health rule', () => {
  it('ranks alerting, offline, commissioning, healthy', () => {
    const nodes = { online: 1, offline: 0, unknown: 0, total: 1 };
    const seen = new Date();
    assert.equal(
      fleetHealth({ siteStatus: 'active', openAlerts: 1, nodes, lastCommunication: seen }),
      'Alerting',
    );
    assert.equal(
      fleetHealth({
        siteStatus: 'active',
        openAlerts: 0,
        nodes: { ...nodes, offline: 1, total: 2 },
        lastCommunication: seen,
      }),
      'Offline',
    );
    // Offline with only the alert saying so is Offline; with another open alert too, Alerting.
    const offline = { ...nodes, offline: 1, total: 2 };
    assert.equal(
      fleetHealth({
        siteStatus: 'active',
        openAlerts: 1,
        openOfflineAlerts: 1,
        nodes: offline,
        lastCommunication: seen,
      }),
      'Offline',
    );
    assert.equal(
      fleetHealth({
        siteStatus: 'active',
        openAlerts: 2,
        openOfflineAlerts: 1,
        nodes: offline,
        lastCommunication: seen,
      }),
      'Alerting',
    );
    assert.equal(
      fleetHealth({ siteStatus: 'active', openAlerts: 0, nodes, lastCommunication: null }),
      'Commissioning',
    );
    assert.equal(
      fleetHealth({
        siteStatus: 'active',
        openAlerts: 0,
        nodes: { online: 0, offline: 0, unknown: 0, total: 0 },
        lastCommunication: null,
      }),
      'Commissioning',
    );
    assert.equal(
      fleetHealth({ siteStatus: 'active', openAlerts: 0, nodes, lastCommunication: seen }),
      'Healthy',
    );
    assert.equal(worstSeverity(['info', 'critical', 'warning']), 'critical');
    assert.equal(worstSeverity([]), null);
  });
});

for (const engine of ENGINES) {
  describe(`fleet routes on ${engine}`, () => {
    let hub: TestHub;
    let healthy: Fixture;
    let alerting: Fixture;
    let empty: Fixture;
    let healthyNode: TestNode;
    let alertingNode: TestNode;
    const tokens = new Map<string, Actor>();
    const as = (token: string) => (method: string, url: string, body?: unknown) =>
      hub.app.inject({
        method: method as 'GET',
        url,
        headers: { authorization: `Bearer ${token}` },
        ...(body !== undefined ? { payload: body as object } : {}),
      });
    const user = (role: Role, orgId: string): string => {
      const token = `test-${role}-${orgId}`;
      tokens.set(token, { kind: 'user', role, orgId, userId: crypto.randomUUID() });
      return token;
    };

    before(async () => {
      hub = await startTestHub(engine);
      hub.app.bearerAuthenticators.push(async (token) => tokens.get(token));
      healthy = await createSite(hub, { name: 'A Healthy' });
      alerting = await createSite(hub, { name: 'B Alerting' });
      empty = await createSite(hub, { name: 'C Empty' });
      healthyNode = await TestNode.enroll(hub, healthy.siteId);
      alertingNode = await TestNode.enroll(hub, alerting.siteId);
      const db = hub.app.hub.db;
      const seen = new Date('2026-01-02T03:04:05.000Z');
      await db
        .updateTable('nodes')
        .set({ status: 'online', last_seen_at: seen })
        .where('id', '=', healthyNode.nodeId)
        .execute();
      await db
        .updateTable('nodes')
        .set({ status: 'offline', last_seen_at: new Date(seen.getTime() - 60_000) })
        .where('id', '=', alertingNode.nodeId)
        .execute();
      for (const severity of ['warning', 'critical'] as const) {
        await db
          .insertInto('alerts')
          .values({
            rule: `test_${severity}`,
            target_type: 'site',
            target_id: alerting.siteId,
            org_id: alerting.orgId,
            site_id: alerting.siteId,
            node_id: null,
            severity,
            state: 'open',
            message: 'test',
            value: null,
          })
          .execute();
      }
    });
    after(async () => hub?.close());

    it('lists every site for an admin with counts, last communication, alerts and health', async () => {
      const res = await hub.admin('GET', '/api/v1/fleet/sites');
      assert.equal(res.statusCode, 200, res.body);
      const rows = res.json() as FleetSiteRow[];
      assert.deepEqual(
        rows.map((r) => [r.name, r.health]),
        [
          ['A Healthy', 'Healthy'],
          ['B Alerting', 'Alerting'],
          ['C Empty', 'Commissioning'],
        ],
      );
      const a = rows[0]!;
      assert.deepEqual(a.nodes, { online: 1, offline: 0, unknown: 0, total: 1 });
      assert.equal(a.lastCommunication, '2026-01-02T03:04:05.000Z');
      assert.equal(a.openAlerts, 0);
      assert.equal(a.worstSeverity, null);
      assert.equal(a.nodeList[0]?.id, healthyNode.nodeId);
      const b = rows[1]!;
      assert.deepEqual(b.nodes, { online: 0, offline: 1, unknown: 0, total: 1 });
      assert.equal(b.openAlerts, 2);
      assert.equal(b.worstSeverity, 'critical');
      assert.equal(rows[2]!.nodes.total, 0);
      assert.equal(rows[2]!.lastCommunication, null);
    });

    it('shows an owner their own site only, and nothing to a stranger org', async () => {
      const owner = as(user('owner', healthy.orgId));
      const rows = (await owner('GET', '/api/v1/fleet/sites')).json() as { id: string }[];
      assert.deepEqual(
        rows.map((r) => r.id),
        [healthy.siteId],
      );
      const stranger = as(user('installer', crypto.randomUUID()));
      assert.deepEqual((await stranger('GET', '/api/v1/fleet/sites')).json(), []);
      assert.equal((await hub.app.inject({ method: 'GET', url: '/api/v1/fleet/sites' })).statusCode, 401);
    });

    it('accepts a valid agent config and lists every problem of a broken one with its line', async () => {
      const ok = await hub.admin('POST', '/api/v1/agent-config/validate', { config: VALID_CONFIG });
      assert.equal(ok.statusCode, 200, ok.body);
      assert.deepEqual(ok.json().problems, []);
      assert.equal(ok.json().ok, true);

      const broken =
        VALID_CONFIG.replace('lat: 52.5', 'lat: 152.5').replace('key: sim', 'key: "bad key!"') + 'bogus: 1\n';
      const bad = await hub.admin('POST', '/api/v1/agent-config/validate', { config: broken });
      const body = bad.json() as {
        ok: boolean;
        problems: { path: string; message: string; line: number | null }[];
      };
      assert.equal(body.ok, false);
      const byPath = new Map(body.problems.map((p) => [p.path, p]));
      assert.equal(byPath.get('/site/lat')?.line, 5, JSON.stringify(body.problems));
      assert.equal(byPath.get('/sources/0/key')?.line, 10, JSON.stringify(body.problems));
      assert.ok(
        body.problems.some((p) => p.line === 12),
        'the unknown key is reported on its line',
      );

      const yaml = await hub.admin('POST', '/api/v1/agent-config/validate', { config: 'hub: [\n' });
      assert.equal(yaml.json().ok, false);
      assert.match(yaml.json().problems[0].message, /^YAML/);
      assert.equal(typeof yaml.json().problems[0].line, 'number');

      const unknownSource = VALID_CONFIG.replace('type: simulator', 'type: no-such-source');
      const us = (await hub.admin('POST', '/api/v1/agent-config/validate', { config: unknownSource })).json();
      assert.equal(us.ok, false, 'source types are checked by the agent rules too');

      const owner = as(user('owner', healthy.orgId));
      assert.equal(
        (await owner('POST', '/api/v1/agent-config/validate', { config: VALID_CONFIG })).statusCode,
        403,
      );
    });

    it("answers a node's config from its newest succeeded CONFIG_PUSH, 404 before, 404 for a foreign node", async () => {
      const url = `/api/v1/nodes/${healthyNode.nodeId}/config`;
      assert.equal((await hub.admin('GET', url)).statusCode, 404);
      const db = hub.app.hub.db;
      const push = async (config: string, state: 'succeeded' | 'failed', at: string) =>
        db
          .insertInto('commands')
          .values({
            node_id: healthyNode.nodeId,
            site_id: healthy.siteId,
            type: 'CONFIG_PUSH',
            args: JSON.stringify({ config }),
            state,
            created_at: at,
            updated_at: at,
            expires_at: '2099-01-01T00:00:00Z',
            created_by_type: 'token',
            created_by_id: null,
          })
          .returning('id')
          .executeTakeFirstOrThrow();
      await push('old: 1\n', 'succeeded', '2026-01-01T00:00:00Z');
      const newest = await push(VALID_CONFIG, 'succeeded', '2026-01-02T00:00:00Z');
      await push('failed: 1\n', 'failed', '2026-01-03T00:00:00Z');
      const res = await hub.admin('GET', url);
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.json().config, VALID_CONFIG);
      assert.equal(res.json().commandId, newest.id);
      const stranger = as(user('owner', alerting.orgId));
      assert.equal((await stranger('GET', url)).statusCode, 404);
      assert.equal((await as(user('owner', healthy.orgId))('GET', url)).statusCode, 200);
      void empty;
    });
  });
}
