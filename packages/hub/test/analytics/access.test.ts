// Analytics, tariff, alert and fleet APIs answer only within the caller's grants (real users,
// real logins, the identity module's site scope and row-level security). Both engines.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { evaluateSite } from '../../src/alerts/alert-engine.ts';
import { ENGINES } from '../helpers/engines.ts';
import { startTestHub, type TestHub, TestNode } from '../helpers/hub.ts';
import { as, createOrg, createUser, login } from '../identity/helpers.ts';

for (const engine of ENGINES) {
  describe(`analytics and alerts access on ${engine}`, () => {
    let hub: TestHub;
    let installer: string;
    const site: Record<'A' | 'B', string> = { A: '', B: '' };
    const token: Record<'ownerA' | 'ownerB' | 'inst', string> = { ownerA: '', ownerB: '', inst: '' };

    before(async () => {
      hub = await startTestHub(engine);
      installer = await createOrg(hub, 'installer', 'Sunfit');
      const orgA = await createOrg(hub, 'household', 'A');
      const orgB = await createOrg(hub, 'household', 'B');
      for (const [k, org, inst] of [
        ['A', orgA, installer],
        ['B', orgB, null],
      ] as const) {
        const r = await hub.admin('POST', '/api/v1/sites', {
          orgId: org,
          installerOrgId: inst,
          name: `Site ${k}`,
          timezone: 'Europe/Berlin',
        });
        assert.equal(r.statusCode, 201, r.body);
        site[k] = r.json().id;
        const node = await TestNode.enroll(hub, site[k]);
        await hub.tdb.database.pool.query('UPDATE nodes SET clock_offset_ms = 120000 WHERE id = $1', [
          node.nodeId,
        ]);
        await evaluateSite(hub.app.hub, site[k], { rules: ['clock_drift'] });
      }
      await createUser(hub, orgA, 'owner', 'a@example.test');
      await createUser(hub, orgB, 'owner', 'b@example.test');
      await createUser(hub, installer, 'installer', 'i@example.test');
      token.ownerA = (await login(hub, 'a@example.test')).accessToken;
      token.ownerB = (await login(hub, 'b@example.test')).accessToken;
      token.inst = (await login(hub, 'i@example.test')).accessToken;
    });
    after(async () => hub?.close());

    it('daily, monthly, tariffs: own site yes, foreign site 404', async () => {
      const day = new Date(Date.now() - 86_400_000 * 2).toISOString().slice(0, 10);
      const own = await as(hub, token.ownerA, 'GET', `/api/v1/sites/${site.A}/daily?from=${day}&to=${day}`);
      assert.equal(own.statusCode, 200, own.body);
      assert.equal(own.json().length, 1);
      const foreign = await as(
        hub,
        token.ownerB,
        'GET',
        `/api/v1/sites/${site.A}/daily?from=${day}&to=${day}`,
      );
      assert.equal(foreign.statusCode, 404);
      const month = day.slice(0, 7);
      assert.equal(
        (await as(hub, token.ownerB, 'GET', `/api/v1/sites/${site.A}/monthly?from=${month}&to=${month}`))
          .statusCode,
        404,
      );
      const tariff = await as(hub, token.ownerB, 'POST', `/api/v1/sites/${site.A}/tariffs`, {
        validFrom: '2030-01-01',
        definition: { currency: 'EUR', importRate: 0.3, periods: [], exportRate: 0.1, dailyCharge: 1 },
      });
      assert.equal(tariff.statusCode, 404);
    });

    it('alerts: lists only visible sites; foreign alerts cannot be acknowledged', async () => {
      const listA = (await as(hub, token.ownerA, 'GET', '/api/v1/alerts')).json() as {
        site_id: string;
        id: string;
      }[];
      assert.ok(listA.length >= 1);
      assert.ok(listA.every((a) => a.site_id === site.A));
      const listB = (await as(hub, token.ownerB, 'GET', '/api/v1/alerts')).json() as { site_id: string }[];
      assert.ok(listB.every((a) => a.site_id === site.B));
      const ack = await as(hub, token.ownerB, 'POST', `/api/v1/alerts/${listA[0]!.id}/acknowledge`, {});
      assert.equal(ack.statusCode, 404);
    });

    it('installer fleet: counts what the installer may see; other orgs get 404', async () => {
      const visible = (await as(hub, token.inst, 'GET', '/api/v1/sites')).json() as {
        id: string;
        installer_org_id: string | null;
      }[];
      const mine = visible.filter((s) => s.installer_org_id === installer);
      const fleet = await as(hub, token.inst, 'GET', `/api/v1/installers/${installer}/fleet`);
      assert.equal(fleet.statusCode, 200, fleet.body);
      assert.equal(fleet.json().sites, mine.length);
      assert.equal(
        fleet.json().alertingSites,
        mine.length,
        'each visible site has an open clock-drift alert',
      );
      const other = await as(hub, token.ownerB, 'GET', `/api/v1/installers/${installer}/fleet`);
      assert.equal(other.statusCode, 404);
      const admin = await hub.admin('GET', `/api/v1/installers/${installer}/fleet`);
      assert.equal(admin.json().sites, 1);
      assert.equal(admin.json().alertingSites, 1);
    });
  });
}
