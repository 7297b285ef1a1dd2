// Row-level security alone holds: queries sent through withTenant bypass every application-level
// filter (raw SELECT * with no WHERE), and PostgreSQL still returns only the tenant's rows.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import type { Actor } from '../../src/auth/actor.ts';
import type { SiteScopeResolver } from '../../src/context.ts';
import { grantsSiteScope } from '../../src/identity/scope.ts';
import { withTenant } from '../../src/identity/tenant.ts';
import type { Database } from '../../src/storage/database.ts';
import { ENGINES, openTestDatabase, type TestDatabase } from '../helpers/engines.ts';

interface World {
  orgA: string;
  orgB: string;
  installerOrg: string;
  siteA: string;
  siteB: string;
  seriesA: number;
  seriesB: number;
}

async function seed(database: Database): Promise<World> {
  const db = database.db;
  const [orgA, orgB, installerOrg] = await Promise.all(
    (['household', 'household', 'installer'] as const).map(async (kind, i) => {
      const r = await db
        .insertInto('orgs')
        .values({ name: `org ${i}`, kind })
        .returning('id')
        .executeTakeFirstOrThrow();
      return r.id;
    }),
  );
  const site = async (org: string, name: string) =>
    (
      await db
        .insertInto('sites')
        .values({
          org_id: org,
          installer_org_id: null,
          name,
          timezone: 'UTC',
          latitude: null,
          longitude: null,
          system_kw: null,
        })
        .returning('id')
        .executeTakeFirstOrThrow()
    ).id;
  const siteA = await site(orgA as string, 'A');
  const siteB = await site(orgB as string, 'B');
  const series: number[] = [];
  for (const s of [siteA, siteB]) {
    const node = await db
      .insertInto('nodes')
      .values({ site_id: s, name: 'n', public_key: null, mqtt_password_hash: null })
      .returning('id')
      .executeTakeFirstOrThrow();
    const se = await db
      .insertInto('series')
      .values({ node_id: node.id, site_id: s, metric: 'solar_w', kind: 'power' })
      .returning('id')
      .executeTakeFirstOrThrow();
    series.push(se.id);
    await db
      .insertInto('node_events')
      .values({
        node_id: node.id,
        site_id: s,
        ts: new Date(),
        kind: 'boot',
        severity: 'info',
        message: 'hi',
        data: null,
        equipment: null,
        batch_id: 'b',
      })
      .execute();
  }
  // Samples live in today's partition (migrate() created it).
  await db
    .insertInto('samples')
    .values([
      { series_id: series[0] as number, ts: new Date(), value: 1 },
      { series_id: series[1] as number, ts: new Date(), value: 2 },
    ])
    .execute();
  for (const [org, email] of [
    [orgA, 'a@example.test'],
    [orgB, 'b@example.test'],
  ] as const) {
    await db
      .insertInto('users')
      .values({ org_id: org as string, email, name: null, role: 'owner', password_hash: 'x' })
      .execute();
  }
  await db
    .insertInto('audit_log')
    .values([
      {
        actor_type: 'system',
        actor_id: null,
        org_id: orgA as string,
        action: 'x',
        target_type: null,
        target_id: null,
        result: 'ok',
        source_ip: null,
        details: null,
      },
      {
        actor_type: 'system',
        actor_id: null,
        org_id: orgB as string,
        action: 'x',
        target_type: null,
        target_id: null,
        result: 'ok',
        source_ip: null,
        details: null,
      },
    ])
    .execute();
  return {
    orgA: orgA as string,
    orgB: orgB as string,
    installerOrg: installerOrg as string,
    siteA,
    siteB,
    seriesA: series[0] as number,
    seriesB: series[1] as number,
  };
}

for (const engine of ENGINES) {
  describe(`row-level security on ${engine}`, () => {
    let tdb: TestDatabase;
    let w: World;
    let hub: { db: Database['db']; siteScope: SiteScopeResolver };
    before(async () => {
      tdb = await openTestDatabase(engine);
      w = await seed(tdb.database);
      hub = { db: tdb.database.db, siteScope: grantsSiteScope };
    });
    after(async () => tdb?.drop());

    const ownerA = (): Actor => ({
      kind: 'user',
      userId: '00000000-0000-4000-8000-000000000001',
      orgId: w.orgA,
      role: 'owner',
    });

    test('the app role is not a superuser and RLS is forced on tenant tables', async () => {
      const rows = await withTenant(
        hub,
        ownerA(),
        async (trx) =>
          (
            await sql<{
              u: string;
              s: boolean;
            }>`SELECT current_user AS u, (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AS s`.execute(
              trx,
            )
          ).rows,
      );
      assert.deepEqual(rows, [{ u: 'wattfleet_app', s: false }]);
      const forced = await sql<{
        relname: string;
      }>`SELECT relname FROM pg_class WHERE relforcerowsecurity AND relname IN ('orgs','sites','nodes','equipment','series','samples','rollup_hourly','rollup_daily','node_events','daily_reports','users','audit_log','site_grants') ORDER BY relname`.execute(
        tdb.database.db,
      );
      assert.equal(forced.rows.length, 13);
    });

    test('raw SELECT * with application scoping switched off shows only own tenant rows', async () => {
      // No WHERE clause anywhere: the only filter is the database's own policies.
      const got = await withTenant(hub, ownerA(), async (trx) => ({
        sites: (await sql<{ id: string }>`SELECT * FROM sites`.execute(trx)).rows.map((r) => r.id),
        orgs: (await sql<{ id: string }>`SELECT * FROM orgs`.execute(trx)).rows.map((r) => r.id),
        nodes: (await sql<{ site_id: string }>`SELECT * FROM nodes`.execute(trx)).rows.map((r) => r.site_id),
        series: (await sql<{ id: number }>`SELECT * FROM series`.execute(trx)).rows.map((r) => r.id),
        samples: (await sql<{ series_id: number }>`SELECT * FROM samples`.execute(trx)).rows.map(
          (r) => r.series_id,
        ),
        events: (await sql<{ site_id: string }>`SELECT * FROM node_events`.execute(trx)).rows.map(
          (r) => r.site_id,
        ),
        users: (await sql<{ email: string }>`SELECT id, email FROM users`.execute(trx)).rows.map(
          (r) => r.email,
        ),
        audit: (await sql<{ org_id: string }>`SELECT * FROM audit_log`.execute(trx)).rows.map(
          (r) => r.org_id,
        ),
      }));
      assert.deepEqual(got, {
        sites: [w.siteA],
        orgs: [w.orgA],
        nodes: [w.siteA],
        series: [w.seriesA],
        samples: [w.seriesA],
        events: [w.siteA],
        users: ['a@example.test'],
        audit: [w.orgA],
      });
    });

    test('asking for a foreign series by id returns nothing', async () => {
      const rows = await withTenant(
        hub,
        ownerA(),
        async (trx) => (await sql`SELECT * FROM samples WHERE series_id = ${w.seriesB}`.execute(trx)).rows,
      );
      assert.equal(rows.length, 0);
    });

    test('tenant cannot write into a foreign site, viewers cannot write at all', async () => {
      await assert.rejects(
        withTenant(
          hub,
          ownerA(),
          (trx) => sql`INSERT INTO nodes (site_id, name) VALUES (${w.siteB}, 'evil')`.execute(trx),
          'write',
        ),
        /row-level security/,
      );
      const viewer: Actor = {
        kind: 'user',
        userId: '00000000-0000-4000-8000-000000000002',
        orgId: w.orgA,
        role: 'viewer',
      };
      const updated = await withTenant(hub, viewer, async (trx) =>
        Number((await sql`UPDATE sites SET name = 'renamed'`.execute(trx)).numAffectedRows ?? 0n),
      );
      assert.equal(updated, 0);
    });

    test('password hashes and sessions are invisible to the app role', async () => {
      await assert.rejects(
        withTenant(hub, ownerA(), (trx) => sql`SELECT password_hash FROM users`.execute(trx)),
        /permission denied/,
      );
      await assert.rejects(
        withTenant(hub, ownerA(), (trx) => sql`SELECT * FROM refresh_tokens`.execute(trx)),
        /permission denied/,
      );
    });

    test('audit_log is append-only for the app role, even for admins', async () => {
      const admin: Actor = { kind: 'token' };
      await withTenant(hub, admin, (trx) =>
        sql`INSERT INTO audit_log (actor_type, action, result) VALUES ('token', 'probe', 'ok')`.execute(trx),
      );
      await assert.rejects(
        withTenant(hub, admin, (trx) => sql`UPDATE audit_log SET action = 'forged'`.execute(trx)),
        /permission denied/,
      );
      await assert.rejects(
        withTenant(hub, admin, (trx) => sql`DELETE FROM audit_log`.execute(trx)),
        /permission denied/,
      );
      const n = await sql<{ n: number }>`SELECT count(*)::int AS n FROM audit_log`.execute(tdb.database.db);
      assert.equal(n.rows[0]?.n, 3);
    });

    test('installer sees a site only through an unexpired grant', async () => {
      const installer: Actor = {
        kind: 'user',
        userId: '00000000-0000-4000-8000-000000000003',
        orgId: w.installerOrg,
        role: 'installer',
      };
      const visible = () =>
        withTenant(hub, installer, async (trx) =>
          (await sql<{ id: string }>`SELECT id FROM sites`.execute(trx)).rows.map((r) => r.id),
        );
      assert.deepEqual(await visible(), []);
      await tdb.database.db
        .insertInto('site_grants')
        .values({
          site_id: w.siteB,
          grantee_org_id: w.installerOrg,
          granted_by: null,
          expires_at: new Date(Date.now() - 1000),
          revoked_at: null,
          revoked_by: null,
        })
        .execute();
      assert.deepEqual(await visible(), [], 'expired grant');
      await tdb.database.db
        .insertInto('site_grants')
        .values({
          site_id: w.siteB,
          grantee_org_id: w.installerOrg,
          granted_by: null,
          expires_at: new Date(Date.now() + 3600_000),
          revoked_at: null,
          revoked_by: null,
        })
        .execute();
      assert.deepEqual(await visible(), [w.siteB]);
    });

    test('wattfleet_enable_site_rls puts a later table under the same policies', async () => {
      const db = tdb.database.db;
      await sql`CREATE TABLE probe_rls (id serial PRIMARY KEY, site_id uuid)`.execute(db);
      await sql`SELECT wattfleet_enable_site_rls('probe_rls')`.execute(db);
      await sql`INSERT INTO probe_rls (site_id) VALUES (${w.siteA}), (${w.siteB}), (NULL)`.execute(db);
      const seen = await withTenant(hub, ownerA(), async (trx) =>
        (await sql<{ site_id: string | null }>`SELECT site_id FROM probe_rls`.execute(trx)).rows.map(
          (r) => r.site_id,
        ),
      );
      assert.deepEqual(seen, [w.siteA]);
      const all = await withTenant(
        hub,
        { kind: 'token' },
        async (trx) => (await sql`SELECT site_id FROM probe_rls`.execute(trx)).rows.length,
      );
      assert.equal(all, 3);
      await assert.rejects(
        withTenant(
          hub,
          ownerA(),
          (trx) => sql`INSERT INTO probe_rls (site_id) VALUES (${w.siteB})`.execute(trx),
          'write',
        ),
        /row-level security/,
      );
    });

    test('system queries (ingest, jobs) still see everything', async () => {
      const n = await tdb.database.db
        .selectFrom('sites')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow();
      assert.equal(Number(n.n), 2);
    });
  });
}
