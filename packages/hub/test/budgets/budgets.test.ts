// Site budgets against a real hub on both engines: the month is the site's (Auckland is already in
// March while UTC is still in February), the month-end forecast scales by elapsed time, the 80 % and
// 100 % notices go to the org's channels that take their severity once per month each however often
// the job runs, and who may read or set a budget (site access in code, row-level security again).
// The priced days are written straight into site_daily: a stand-in for the analytics job's output.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Role } from '@wattfleet/protocol';
import { sql } from 'kysely';
import type { Actor } from '../../src/auth/actor.ts';
import { notifyBudgets } from '../../src/budgets/budgets.service.ts';
import { withTenant } from '../../src/identity/tenant.ts';
import { ENGINES } from '../helpers/engines.ts';
import { createSite, type Fixture, startTestHub, type TestHub } from '../helpers/hub.ts';

const HOUR = 3_600_000;
// 12:00 UTC on 28 February is 01:00 on 1 March in Auckland (UTC+13 in summer).
const NOW = new Date('2026-02-28T12:00:00.000Z');
const MARCH_START = Date.parse('2026-02-28T11:00:00.000Z');
const MARCH_END = Date.parse('2026-03-31T11:00:00.000Z');

for (const engine of ENGINES) {
  describe(`site budgets (${engine})`, () => {
    let hub: TestHub;
    let home: Fixture;
    let other: Fixture;
    const tokens = new Map<string, Actor>();
    const as = (token: string, method: string, url: string, body?: unknown) =>
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
    const day = (siteId: string, d: string, cost: number) =>
      hub.app.hub.db
        .insertInto('site_daily')
        .values({
          site_id: siteId,
          day: d,
          solar_wh: 0,
          load_wh: 0,
          import_wh: 0,
          export_wh: 0,
          charge_wh: 0,
          discharge_wh: 0,
          solar_to_load_wh: 0,
          battery_solar_to_load_wh: 0,
          solar_export_wh: 0,
          coverage: 1,
          counter_resets: 0,
          battery_solar_wh: 0,
          battery_grid_wh: 0,
          currency: 'NZD',
          cost,
        })
        .execute();

    before(async () => {
      hub = await startTestHub(engine);
      hub.app.bearerAuthenticators.push(async (token) => tokens.get(token));
      home = await createSite(hub, { name: 'Auckland Roof', timezone: 'Pacific/Auckland' });
      other = await createSite(hub, { name: 'Elsewhere' });
      await day(home.siteId, '2026-02-27', 50); // February at the site: not this month's
      await day(home.siteId, '2026-03-01', 10);
      for (const [target, minSeverity] of [
        ['warn@example.test', 'warning'],
        ['crit@example.test', 'critical'],
      ] as const) {
        const res = await hub.admin('POST', `/api/v1/orgs/${home.orgId}/notification-channels`, {
          kind: 'email',
          target,
          minSeverity,
        });
        assert.equal(res.statusCode, 201, res.body);
      }
    });

    after(async () => {
      await hub?.close();
    });

    it("an owner sets the budget; the status counts the site's month only and forecasts its end", async () => {
      const owner = user('owner', home.orgId);
      const put = await as(owner, 'PUT', `/api/v1/sites/${home.siteId}/budget`, { monthlyAmount: 12 });
      assert.equal(put.statusCode, 200, put.body);
      const status = await hub.app.inject({
        method: 'GET',
        url: `/api/v1/sites/${home.siteId}/budget`,
        headers: { authorization: `Bearer ${owner}` },
      });
      const s = status.json();
      assert.equal(
        s.month,
        (
          await hub.app.hub.db
            .selectNoFrom(sql<string>`to_char(now() AT TIME ZONE 'Pacific/Auckland', 'YYYY-MM')`.as('m'))
            .executeTakeFirstOrThrow()
        ).m,
      );
      assert.equal(s.monthlyAmount, 12);
      assert.equal(s.timezone, 'Pacific/Auckland');
      const audit = await hub.app.hub.db
        .selectFrom('audit_log')
        .select(['action', 'result'])
        .where('action', '=', 'site.budget')
        .where('target_id', '=', home.siteId)
        .execute();
      assert.deepEqual(audit, [{ action: 'site.budget', result: 'ok' }]);
    });

    it('the status at a chosen instant: March at the site, 10 spent, forecast by elapsed share of the month', async () => {
      const { BudgetService } = await import('../../src/budgets/budgets.service.ts');
      const s = await new BudgetService(hub.app.hub).get({ kind: 'token' }, home.siteId, NOW.getTime());
      assert.equal(s.month, '2026-03');
      assert.equal(s.spent, 10);
      assert.equal(s.currency, 'NZD');
      const expected = (10 * (MARCH_END - MARCH_START)) / (NOW.getTime() - MARCH_START);
      assert.equal(s.forecast, Math.round(expected * 100) / 100);
      assert.equal(expected, 10 * 744, 'March has 744 hours at the site, one of them elapsed');
      assert.equal(s.spentPercent, 83.33);
    });

    it('80 % notifies once to the channels taking warnings; 100 % once to both; repeated runs send nothing more', async () => {
      const outbox = () =>
        hub.app.hub.db
          .selectFrom('notification_outbox')
          .innerJoin('notification_channels', 'notification_channels.id', 'notification_outbox.channel_id')
          .select([
            'notification_channels.target',
            'notification_outbox.throttle_key',
            'notification_outbox.payload',
          ])
          .orderBy('notification_outbox.id')
          .execute();
      assert.equal(await notifyBudgets(hub.app.hub, NOW), 1);
      assert.equal(await notifyBudgets(hub.app.hub, new Date(NOW.getTime() + HOUR)), 0, 'once per month');
      let rows = await outbox();
      assert.deepEqual(
        rows.map((r) => [r.target, r.throttle_key]),
        [['warn@example.test', `budget:${home.siteId}:2026-03:80`]],
      );
      const payload = rows[0]!.payload as { alert: { severity: string; message: string } };
      assert.equal(payload.alert.severity, 'warning');
      assert.match(
        payload.alert.message,
        /Auckland Roof has spent 10\.00 NZD of its 12\.00 NZD budget for 2026-03/,
      );

      await day(home.siteId, '2026-03-02', 5);
      assert.equal(await notifyBudgets(hub.app.hub, new Date(NOW.getTime() + 30 * HOUR)), 2);
      assert.equal(await notifyBudgets(hub.app.hub, new Date(NOW.getTime() + 31 * HOUR)), 0);
      rows = await outbox();
      assert.equal(rows.length, 3);
      assert.deepEqual(
        rows
          .slice(1)
          .map((r) => r.target)
          .sort(),
        ['crit@example.test', 'warn@example.test'],
      );
      const owner = user('owner', home.orgId);
      const status = await as(owner, 'GET', `/api/v1/sites/${home.siteId}/budget`);
      assert.equal(status.statusCode, 200);
    });

    it('a viewer may read but not set it; another org sees neither; a bad amount is refused', async () => {
      const viewer = user('viewer', home.orgId);
      assert.equal((await as(viewer, 'GET', `/api/v1/sites/${home.siteId}/budget`)).statusCode, 200);
      const refused = await as(viewer, 'PUT', `/api/v1/sites/${home.siteId}/budget`, { monthlyAmount: 1 });
      assert.equal(refused.statusCode, 404, refused.body);
      const stranger = user('owner', other.orgId);
      assert.equal((await as(stranger, 'GET', `/api/v1/sites/${home.siteId}/budget`)).statusCode, 404);
      const bad = await as(user('owner', home.orgId), 'PUT', `/api/v1/sites/${home.siteId}/budget`, {
        monthlyAmount: -5,
      });
      assert.equal(bad.statusCode, 400);
      assert.equal(bad.json().code, 'WF_VALIDATION');
      // Row-level security, the second fence: the stranger's tenant transaction sees no budget row.
      const seen = await withTenant(hub.app.hub, tokens.get(stranger)!, (trx) =>
        trx.selectFrom('site_budgets').selectAll().execute(),
      );
      assert.deepEqual(seen, []);
      const own = await withTenant(hub.app.hub, tokens.get(viewer)!, (trx) =>
        trx.selectFrom('site_budget_notices').select('threshold').orderBy('threshold').execute(),
      );
      assert.deepEqual(
        own.map((r) => r.threshold),
        [80, 100],
      );
    });
  });
}
