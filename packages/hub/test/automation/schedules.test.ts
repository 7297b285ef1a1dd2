// Schedule routes on a real database (both engines): CRUD with versions and audit entries, the
// upcoming occurrences, validation errors that name every problem, and who may do what (admin;
// installer on granted sites only; owner while the org allows owner control; viewer read-only;
// other tenants get 404). The runner itself is in schedule-runner.test.ts.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { InventoryChannel, Role } from '@wattfleet/protocol';
import type { Actor } from '../../src/auth/actor.ts';
import { applyInventory } from '../../src/automation/automation.repository.ts';
import { scheduleClock } from '../../src/automation/schedules/schedules.plugin.ts';
import { ENGINES } from '../helpers/engines.ts';
import { createSite, type Fixture, startTestHub, type TestHub, TestNode } from '../helpers/hub.ts';

const NOW = Date.parse('2026-03-27T12:00:00Z'); // a Friday, two days before Berlin's spring-forward

for (const engine of ENGINES) {
  describe(`schedule routes on ${engine}`, () => {
    let hub: TestHub;
    let site: Fixture;
    let other: Fixture;
    let channelId: string;
    let otherChannelId: string;
    let installerOrg: string;
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
    const body = (extra: Record<string, unknown> = {}) => ({
      channelId,
      name: `Heater ${Math.random().toString(36).slice(2, 8)}`,
      priority: 1,
      rule: {
        days: { kind: 'weekly', weekdays: [1, 2, 3, 4, 5] },
        start: { at: '07:00' },
        end: { at: '18:00' },
        action: 'on',
      },
      ...extra,
    });
    const channelOf = async (s: Fixture) => {
      const node = await TestNode.enroll(hub, s.siteId);
      const c: InventoryChannel = {
        equipment: 'board',
        channel: 'ch1',
        kind: 'relay',
        capabilities: { switch: true, readBack: true },
      };
      await applyInventory(hub.app.hub.db, { nodeId: node.nodeId, siteId: s.siteId }, [c]);
      return (await hub.admin('GET', `/api/v1/sites/${s.siteId}/channels`)).json().items[0].id as string;
    };

    before(async () => {
      scheduleClock.now = () => NOW;
      hub = await startTestHub(engine);
      hub.app.bearerAuthenticators.push(async (token) => tokens.get(token));
      site = await createSite(hub, { timezone: 'Europe/Berlin', latitude: 52.52, longitude: 13.405 });
      other = await createSite(hub, { name: 'Other' });
      const org = await hub.admin('POST', '/api/v1/orgs', { name: 'Sparks Ltd', kind: 'installer' });
      installerOrg = org.json().id;
      const grant = await hub.admin('POST', `/api/v1/sites/${site.siteId}/grants`, { orgId: installerOrg });
      assert.equal(grant.statusCode, 201, grant.body);
      channelId = await channelOf(site);
      otherChannelId = await channelOf(other);
    });
    after(async () => {
      scheduleClock.now = () => Date.now();
      await hub?.close();
    });

    it('creates, reads, lists, edits (a new version), previews and deletes, with audit entries', async () => {
      const created = await hub.admin(
        'POST',
        `/api/v1/sites/${site.siteId}/schedules`,
        body({ name: 'Workdays' }),
      );
      assert.equal(created.statusCode, 201, created.body);
      const s = created.json();
      assert.equal(s.version, 1);
      assert.equal(s.graceMin, 10, 'default grace period');
      assert.equal(s.timezone, 'Europe/Berlin');
      assert.equal(s.summary, 'Mon–Fri 07:00–18:00 on');
      // next: from the pinned now (Fri 12:00 UTC = 13:00 CET): Friday's end, then Monday (CEST).
      assert.deepEqual(
        (s.next as { dueAt: string; state: string }[]).slice(0, 3).map((n) => [n.dueAt, n.state]),
        [
          ['2026-03-27T17:00:00.000Z', 'off'],
          ['2026-03-30T05:00:00.000Z', 'on'],
          ['2026-03-30T16:00:00.000Z', 'off'],
        ],
      );
      const occ = await hub.admin('GET', `/api/v1/schedules/${s.id}/occurrences?count=4`);
      assert.equal(occ.statusCode, 200, occ.body);
      assert.equal(occ.json().items.length, 4);
      assert.equal(occ.json().items[1].local, '2026-03-30 07:00');

      const list = await hub.admin('GET', `/api/v1/sites/${site.siteId}/schedules`);
      assert.equal(list.statusCode, 200);
      assert.ok(list.json().items.some((x: { id: string }) => x.id === s.id));
      assert.equal(list.json().control.canEdit, true);

      const edited = await hub.admin('PATCH', `/api/v1/schedules/${s.id}`, {
        rule: {
          days: { kind: 'dates', dates: ['2026-12-24'] },
          start: { sun: 'sunset', offsetMin: -30 },
          action: 'on',
        },
        exceptDates: ['2026-12-25'],
        validUntil: '2026-12-31',
        graceMin: 30,
      });
      assert.equal(edited.statusCode, 200, edited.body);
      assert.equal(edited.json().version, 2);
      assert.equal(edited.json().summary, '2026-12-24 sunset−30min on');
      const next = edited.json().next as unknown[];
      assert.equal(next.length, 0, 'the preview in the list looks 14 days ahead only');
      const far = await hub.admin('GET', `/api/v1/schedules/${s.id}/occurrences?count=5`);
      const items = far.json().items as { dueAt: string; local: string }[];
      assert.equal(items.length, 1, 'one-off date: one action, then none within the validity');
      // Berlin sunset on 24 Dec is about 15:54 CET; 30 min before ≈ 15:24 CET (14:24 UTC).
      assert.ok(
        Math.abs(Date.parse(items[0]!.dueAt) - Date.parse('2026-12-24T14:24:00Z')) <= 3 * 60_000,
        items[0]!.dueAt,
      );

      const audit = await hub.admin('GET', `/api/v1/audit?action=schedule.*&target=${s.id}`);
      assert.deepEqual((audit.json().items as { action: string }[]).map((i) => i.action).sort(), [
        'schedule.create',
        'schedule.update',
      ]);
      const del = await hub.admin('DELETE', `/api/v1/schedules/${s.id}`);
      assert.equal(del.statusCode, 204, del.body);
      assert.equal((await hub.admin('GET', `/api/v1/schedules/${s.id}`)).statusCode, 404);
      assert.equal((await hub.admin('DELETE', `/api/v1/schedules/${s.id}`)).statusCode, 404);
    });

    it('refuses bad input with 400 naming each problem, and accepts nothing of it', async () => {
      const post = (b: unknown) => hub.admin('POST', `/api/v1/sites/${site.siteId}/schedules`, b);
      const bad = async (b: unknown, path: RegExp) => {
        const res = await post(b);
        assert.equal(res.statusCode, 400, res.body);
        assert.equal(res.json().code, 'WF_VALIDATION');
        const paths = (res.json().problems ?? []).map((p: { path: string }) => p.path).join(' ');
        assert.match(`${paths} ${res.json().message}`, path, res.body);
        return res.json();
      };
      const before = (await hub.admin('GET', `/api/v1/sites/${site.siteId}/schedules`)).json().items.length;
      await bad(body({ rule: { ...body().rule, start: { at: '25:00' } } }), /rule/);
      await bad(body({ unknown: 1 }), /unknown|additional/i);
      await bad(body({ priority: -1 }), /priority/);
      await bad(body({ graceMin: 5000 }), /graceMin/);
      await bad({ ...body(), rule: { ...body().rule, days: { kind: 'weekly', weekdays: [0] } } }, /rule/);
      const several = await bad(
        body({ validFrom: '2026-02-30', validUntil: '2026-01-01', exceptDates: ['2026-13-01'] }),
        /validFrom/,
      );
      const paths = several.problems.map((p: { path: string }) => p.path);
      assert.ok(
        paths.includes('/body/validFrom') && paths.includes('/body/exceptDates/0'),
        JSON.stringify(paths),
      );
      await bad(body({ rule: { ...body().rule, end: { at: '07:00' } } }), /\/body\/rule\/end/);
      await bad(body({ validFrom: '2026-06-01', validUntil: '2026-05-01' }), /\/body\/validUntil/);
      await bad(body({ channelId: otherChannelId }), /\/body\/channelId/);
      assert.equal((await hub.admin('GET', '/api/v1/schedules/not-a-uuid')).statusCode, 400);
      const s = (await post(body())).json();
      assert.equal((await hub.admin('GET', `/api/v1/schedules/${s.id}/occurrences?count=0`)).statusCode, 400);
      assert.equal(
        (await hub.admin('GET', `/api/v1/schedules/${s.id}/occurrences?from=yesterday`)).statusCode,
        400,
      );
      assert.equal(
        (await hub.admin('PATCH', `/api/v1/schedules/${s.id}`, { priority: 'high' })).statusCode,
        400,
      );
      const after = (await hub.admin('GET', `/api/v1/sites/${site.siteId}/schedules`)).json().items.length;
      assert.equal(after, before + 1, 'only the valid one was stored');
      assert.equal((await hub.admin('GET', `/api/v1/schedules/${s.id}`)).json().version, 1);
    });

    it('access: viewer reads only; installer on granted sites; owner while the org allows; other tenants 404', async () => {
      const s = (await hub.admin('POST', `/api/v1/sites/${site.siteId}/schedules`, body())).json();
      const viewer = as(user('viewer', site.orgId));
      const list = await viewer('GET', `/api/v1/sites/${site.siteId}/schedules`);
      assert.equal(list.statusCode, 200);
      assert.equal(list.json().control.canEdit, false);
      assert.equal((await viewer('GET', `/api/v1/schedules/${s.id}`)).statusCode, 200);
      assert.equal((await viewer('GET', `/api/v1/schedules/${s.id}/runs`)).statusCode, 200);
      assert.equal((await viewer('GET', `/api/v1/schedules/${s.id}/occurrences`)).statusCode, 200);
      assert.equal((await viewer('POST', `/api/v1/sites/${site.siteId}/schedules`, body())).statusCode, 403);
      assert.equal((await viewer('PATCH', `/api/v1/schedules/${s.id}`, { name: 'x' })).statusCode, 403);
      assert.equal((await viewer('DELETE', `/api/v1/schedules/${s.id}`)).statusCode, 403);
      const denied = await hub.admin('GET', `/api/v1/audit?action=schedule.*&target=${s.id}&result=denied`);
      assert.deepEqual((denied.json().items as { action: string }[]).map((i) => i.action).sort(), [
        'schedule.delete',
        'schedule.update',
      ]);

      const installer = as(user('installer', installerOrg));
      const byInstaller = await installer('POST', `/api/v1/sites/${site.siteId}/schedules`, body());
      assert.equal(byInstaller.statusCode, 201, byInstaller.body);
      assert.equal(
        (await installer('PATCH', `/api/v1/schedules/${s.id}`, { name: 'Renamed' })).statusCode,
        200,
      );
      const stranger = as(user('installer', other.orgId));
      assert.equal((await stranger('GET', `/api/v1/sites/${site.siteId}/schedules`)).statusCode, 404);
      assert.equal((await stranger('GET', `/api/v1/schedules/${s.id}`)).statusCode, 404);
      assert.equal((await stranger('PATCH', `/api/v1/schedules/${s.id}`, { name: 'x' })).statusCode, 404);
      const otherOwner = as(user('owner', other.orgId));
      assert.equal((await otherOwner('GET', `/api/v1/schedules/${s.id}/runs`)).statusCode, 404);
      assert.equal(
        (await otherOwner('POST', `/api/v1/sites/${site.siteId}/schedules`, body())).statusCode,
        404,
      );

      const owner = as(user('owner', site.orgId));
      const byOwner = await owner('POST', `/api/v1/sites/${site.siteId}/schedules`, body());
      assert.equal(byOwner.statusCode, 201, byOwner.body);
      const off = await hub.admin('PUT', `/api/v1/orgs/${site.orgId}/control-settings`, {
        ownerControl: false,
      });
      assert.equal(off.statusCode, 200, off.body);
      const refused = await owner('PATCH', `/api/v1/schedules/${byOwner.json().id}`, { name: 'x' });
      assert.equal(refused.statusCode, 403);
      assert.match(refused.json().message, /does not allow owners/);
      assert.equal(
        (await owner('GET', `/api/v1/sites/${site.siteId}/schedules`)).json().control.canEdit,
        false,
      );
      assert.equal((await owner('GET', `/api/v1/schedules/${s.id}`)).statusCode, 200, 'still reads');
      await hub.admin('PUT', `/api/v1/orgs/${site.orgId}/control-settings`, { ownerControl: true });
      assert.equal((await owner('DELETE', `/api/v1/schedules/${byOwner.json().id}`)).statusCode, 204);
    });
  });
}
