// Malformed input on user-facing routes answers 4xx with a WF_ code and stores nothing (issue #19
// item 10). Each of these answered 500 before: dates JavaScript or PostgreSQL cannot take, integers
// past int4/bigint, references to orgs that do not exist, NUL and lone surrogates in bodies (a
// PATCH committed its change, then the audit write failed on the string and answered 500).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { sql } from 'kysely';
import { ENGINES } from '../helpers/engines.ts';
import { createSite, type Fixture, startTestHub, type TestHub, TestNode } from '../helpers/hub.ts';

const BAD_DATE_TIMES = [
  '2024-05-01T00:00:00Z[UTC]',
  '2016-12-31T23:59:60Z',
  '0000-01-01T00:00:00Z',
  '2024-02-30T00:00:00Z',
];
const BAD_DATES = ['2024-02-30', '0000-01-01', '10000-01-01', '2024-13-01', '2023-02-29'];
const BAD_TEXT = ['a\u0000b', 'x\ud800', '\udc00y'];

function refused(r: LightMyRequestResponse, what: string, status = 400): void {
  assert.equal(r.statusCode, status, `${what}: ${r.body}`);
  assert.match(r.json().code, /^WF_/, what);
  assert.ok(r.json().message, what);
}

for (const engine of ENGINES) {
  describe(`hostile input on user routes (${engine})`, () => {
    let hub: TestHub;
    let site: Fixture;
    let node: TestNode;
    const count = async (table: string) =>
      Number(
        (await sql<{ n: string }>`SELECT count(*) AS n FROM ${sql.table(table)}`.execute(hub.app.hub.db))
          .rows[0]!.n,
      );

    before(async () => {
      hub = await startTestHub(engine);
      site = await createSite(hub);
      node = await TestNode.enroll(hub, site.siteId);
    });
    after(async () => hub.close());

    it('refuses date-times JavaScript cannot parse in mutes, grants and the audit query', async () => {
      const installer = (
        await hub.admin('POST', '/api/v1/orgs', { name: 'Installer', kind: 'installer' })
      ).json();
      for (const until of BAD_DATE_TIMES) {
        refused(
          await hub.admin('POST', `/api/v1/sites/${site.siteId}/alert-mutes`, {
            rule: 'node_offline',
            until,
          }),
          `mute until ${until}`,
        );
        refused(
          await hub.admin('POST', `/api/v1/sites/${site.siteId}/grants`, {
            orgId: installer.id,
            expiresAt: until,
          }),
          `grant expiresAt ${until}`,
        );
        refused(
          await hub.admin('GET', `/api/v1/audit?from=${encodeURIComponent(until)}`),
          `audit from ${until}`,
        );
        refused(await hub.admin('GET', `/api/v1/audit?to=${encodeURIComponent(until)}`), `audit to ${until}`);
      }
      assert.equal(await count('alert_mutes'), 0);
      assert.equal(await count('site_grants'), 0);
      // A real instant still works, and a past one is refused by the "must be in the future" check.
      const past = await hub.admin('POST', `/api/v1/sites/${site.siteId}/grants`, {
        orgId: installer.id,
        expiresAt: '2001-01-01T00:00:00Z',
      });
      refused(past, 'grant in the past');
      assert.match(past.body, /must be in the future/);
    });

    it('refuses out-of-range dates and months on every analytics query', async () => {
      const routes = [
        `/api/v1/sites/${site.siteId}/daily`,
        `/api/v1/sites/${site.siteId}/comparison`,
        `/api/v1/sites/${site.siteId}/reconciliation`,
        `/api/v1/nodes/${node.nodeId}/completeness`,
      ];
      for (const route of routes) {
        for (const bad of BAD_DATES) {
          refused(await hub.admin('GET', `${route}?from=${bad}&to=2024-03-01`), `${route} from=${bad}`);
          refused(await hub.admin('GET', `${route}?from=2024-01-01&to=${bad}`), `${route} to=${bad}`);
        }
      }
      for (const bad of ['2024-13', '0000-01', '10000-01', '2024-00']) {
        refused(
          await hub.admin('GET', `/api/v1/sites/${site.siteId}/monthly?from=${bad}&to=2024-03`),
          `monthly from=${bad}`,
        );
      }
      refused(
        await hub.admin('POST', `/api/v1/sites/${site.siteId}/tariffs`, {
          validFrom: '2024-02-30',
          definition: { currency: 'EUR', importRate: 0.3, exportRate: 0.1, dailyCharge: 1, periods: [] },
        }),
        'tariff validFrom 2024-02-30',
      );
    });

    it('refuses integers past int4 (or past what JavaScript holds) in queries', async () => {
      refused(
        await hub.admin('GET', `/api/v1/nodes/${node.nodeId}/commands?offset=2147483648`),
        'commands offset',
      );
      refused(await hub.admin('GET', '/api/v1/audit?cursor=100000000000000000000'), 'audit cursor');
      refused(await hub.admin('GET', '/api/v1/alerts?limit=2147483648'), 'alerts limit');
      refused(await hub.admin('GET', `/api/v1/alerts?rule=${'x'.repeat(500)}`), 'alerts rule');
      assert.equal(
        (await hub.admin('GET', `/api/v1/nodes/${node.nodeId}/commands?offset=5`)).statusCode,
        200,
      );
    });

    it('answers unknown org references with 4xx and stores nothing', async () => {
      const unknown = '00000000-0000-4000-8000-000000000001';
      const sites = await count('sites');
      const created = await hub.admin('POST', '/api/v1/sites', {
        orgId: site.orgId,
        installerOrgId: unknown,
        name: 'Roof',
        timezone: 'UTC',
      });
      refused(created, 'POST /sites installerOrgId');
      assert.deepEqual(
        created.json().problems.map((p: { path: string }) => p.path),
        ['/body/installerOrgId'],
      );
      refused(
        await hub.admin('POST', '/api/v1/sites', { orgId: unknown, name: 'Roof', timezone: 'UTC' }),
        'POST /sites orgId',
      );
      refused(
        await hub.admin('PATCH', `/api/v1/sites/${site.siteId}`, { installerOrgId: unknown }),
        'PATCH /sites installerOrgId',
      );
      assert.equal(await count('sites'), sites);
      refused(
        await hub.admin('PUT', `/api/v1/orgs/${unknown}/alert-rules/node_offline`, { enabled: false }),
        'PUT /orgs/{unknown}/alert-rules',
        404,
      );
      assert.equal(await count('alert_rule_settings'), 0);
    });

    it('refuses NUL and lone surrogates before anything is stored or published', async () => {
      const before = {
        orgs: await count('orgs'),
        sites: await count('sites'),
        users: await count('users'),
        audit: await count('audit_log'),
      };
      const user = (
        await hub.admin('POST', '/api/v1/users', {
          orgId: site.orgId,
          email: 'u@example.test',
          role: 'viewer',
        })
      ).json();
      before.users++;
      const auditAfterUser = await count('audit_log');
      for (const bad of BAD_TEXT) {
        refused(await hub.admin('POST', '/api/v1/broadcast', { kind: 'notice', message: bad }), 'broadcast');
        refused(await hub.admin('POST', '/api/v1/orgs', { name: bad, kind: 'household' }), 'POST /orgs');
        refused(
          await hub.admin('POST', '/api/v1/sites', { orgId: site.orgId, name: bad, timezone: 'UTC' }),
          'POST /sites',
        );
        refused(
          await hub.admin('POST', '/api/v1/users', {
            orgId: site.orgId,
            email: `a${bad}@x.test`,
            role: 'viewer',
          }),
          'POST /users',
        );
        refused(await hub.admin('PATCH', `/api/v1/sites/${site.siteId}`, { name: bad }), 'PATCH /sites');
        refused(await hub.admin('PATCH', `/api/v1/orgs/${site.orgId}`, { name: bad }), 'PATCH /orgs');
        refused(await hub.admin('PATCH', `/api/v1/users/${user.id}`, { name: bad }), 'PATCH /users');
        refused(
          await hub.admin('POST', `/api/v1/nodes/${node.nodeId}/commands`, {
            type: 'RESTART',
            args: { reason: bad },
          }),
          'command args',
        );
      }
      // In a query string too (only NUL: a lone surrogate cannot be percent-encoded).
      const q = await hub.admin('POST', '/api/v1/orgs?x=a%00b', { name: 'ok', kind: 'household' });
      refused(q, 'query string');
      assert.equal(q.json().problems[0].path, '/querystring/x');
      assert.equal(await count('orgs'), before.orgs);
      assert.equal(await count('sites'), before.sites);
      assert.equal(await count('users'), before.users);
      assert.equal(await count('commands'), 0);
      assert.equal(await count('audit_log'), auditAfterUser, 'not even an audit entry');
      const names = await hub.app.hub.db
        .selectFrom('sites')
        .select('name')
        .where('id', '=', site.siteId)
        .execute();
      assert.deepEqual(names, [{ name: 'Roof 1' }], 'the site was not changed');
    });

    it('commits a PATCH and its audit entry together or not at all', async () => {
      // Set up by SQL (this part is a unit test of the transaction boundary): a trigger makes every
      // audit insert fail, as the unsafe strings did before. The change must then not be committed.
      const db = hub.app.hub.db;
      await sql`CREATE FUNCTION wf_test_fail_audit() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'audit refused by test'; END $$`.execute(db);
      await sql`CREATE TRIGGER wf_test_fail_audit BEFORE INSERT ON audit_log
        FOR EACH ROW EXECUTE FUNCTION wf_test_fail_audit()`.execute(db);
      try {
        const user = await db.selectFrom('users').select('id').executeTakeFirstOrThrow();
        for (const [url, body] of [
          [`/api/v1/sites/${site.siteId}`, { name: 'Never stored' }],
          [`/api/v1/orgs/${site.orgId}`, { name: 'Never stored' }],
          [`/api/v1/users/${user.id}`, { name: 'Never stored' }],
        ] as const) {
          const r = await hub.admin('PATCH', url, body);
          assert.equal(r.statusCode, 500, r.body);
        }
        for (const table of ['sites', 'orgs', 'users'] as const) {
          const n = await db.selectFrom(table).select('name').where('name', '=', 'Never stored').execute();
          assert.deepEqual(n, [], `${table}: the change was rolled back with its audit entry`);
        }
      } finally {
        await sql`DROP TRIGGER wf_test_fail_audit ON audit_log`.execute(db);
        await sql`DROP FUNCTION wf_test_fail_audit()`.execute(db);
      }
      const ok = await hub.admin('PATCH', `/api/v1/sites/${site.siteId}`, { name: 'Roof 2' });
      assert.equal(ok.statusCode, 200, ok.body);
      const entry = await db
        .selectFrom('audit_log')
        .select('details')
        .where('target_id', '=', site.siteId)
        .where('action', '=', 'site.update')
        .executeTakeFirst();
      assert.deepEqual(entry?.details, { name: 'Roof 2' });
    });
  });
}
