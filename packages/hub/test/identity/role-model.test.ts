// Issue 19 item 4: `admin` is fleet-wide, so only operator orgs may hold one. An "admin" of a
// household could read every tenant before; now a household or installer org gets `org_admin`,
// who manages the users and sites of that org only. Checked through the HTTP API (creating and
// promoting are refused), at the database (row-level security and the trigger agree with the
// code, whoever writes), and across the migration that turns existing misplaced admins into org
// admins.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Migrator, sql } from 'kysely';
import type { Actor } from '../../src/auth/actor.ts';
import { withTenant } from '../../src/identity/tenant.ts';
import { openDatabase } from '../../src/storage/database.ts';
import { migrate } from '../../src/storage/migrate.ts';
import { migrations } from '../../src/storage/migrations/index.ts';
import { ENGINES, openTestDatabase } from '../helpers/engines.ts';
import { createSite, startTestHub, type TestHub } from '../helpers/hub.ts';
import { as, createOrg, createUser, login, PASSWORD } from './helpers.ts';

for (const engine of ENGINES) {
  describe(`role model on ${engine}`, () => {
    let hub: TestHub;
    let operator: string;
    let orgA: string;
    let orgB: string;
    let siteA: string;
    let siteB: string;
    let orgAdminA: string;
    let token: string;
    let ownerB: string;

    before(async () => {
      hub = await startTestHub(engine);
      operator = await createOrg(hub, 'operator');
      const a = await createSite(hub, { name: 'A' });
      const b = await createSite(hub, { name: 'B' });
      orgA = a.orgId;
      orgB = b.orgId;
      siteA = a.siteId;
      siteB = b.siteId;
      orgAdminA = await createUser(hub, orgA, 'org_admin', 'boss-a@example.test');
      ownerB = await createUser(hub, orgB, 'owner', 'owner-b@example.test');
      token = (await login(hub, 'boss-a@example.test')).accessToken;
    });
    after(async () => hub?.close());

    test('a fleet-wide admin can only be created in an operator org', async () => {
      const refused = await hub.admin('POST', '/api/v1/users', {
        orgId: orgA,
        role: 'admin',
        email: 'house-admin@example.test',
        password: PASSWORD,
      });
      assert.equal(refused.statusCode, 400, refused.body);
      assert.equal(refused.json().code, 'WF_VALIDATION');
      assert.equal(refused.json().problems[0].path, '/body/role');
      const ok = await hub.admin('POST', '/api/v1/users', {
        orgId: operator,
        role: 'admin',
        email: 'ops-admin@example.test',
        password: PASSWORD,
      });
      assert.equal(ok.statusCode, 201, ok.body);
    });

    test('promoting a household user to admin is refused; an operator org with admins keeps its kind', async () => {
      const r = await hub.admin('PATCH', `/api/v1/users/${ownerB}`, { role: 'admin' });
      assert.equal(r.statusCode, 400, r.body);
      assert.equal(r.json().problems[0].path, '/body/role');
      const kind = await hub.admin('PATCH', `/api/v1/orgs/${operator}`, { kind: 'household' });
      assert.equal(kind.statusCode, 409, kind.body);
      const me = await hub.admin('GET', `/api/v1/users/${ownerB}`);
      assert.equal(me.json().role, 'owner');
    });

    test('an org admin sees and manages only their own org', async () => {
      const sites = (await as(hub, token, 'GET', '/api/v1/sites')).json() as { id: string }[];
      assert.deepEqual(
        sites.map((s) => s.id),
        [siteA],
      );
      assert.equal((await as(hub, token, 'GET', `/api/v1/sites/${siteB}`)).statusCode, 404);
      const users = (await as(hub, token, 'GET', '/api/v1/users')).json() as { orgId: string }[];
      assert.ok(users.length > 0 && users.every((u) => u.orgId === orgA));
      const orgs = (await as(hub, token, 'GET', '/api/v1/orgs')).json() as { id: string }[];
      assert.deepEqual(
        orgs.map((o) => o.id),
        [orgA],
      );

      // Own org: create, change, reset.
      const made = await as(hub, token, 'POST', '/api/v1/users', {
        orgId: orgA,
        role: 'viewer',
        email: 'kid-a@example.test',
      });
      assert.equal(made.statusCode, 201, made.body);
      const kid = made.json().id as string;
      const patched = await as(hub, token, 'PATCH', `/api/v1/users/${kid}`, { role: 'owner' });
      assert.equal(patched.statusCode, 200, patched.body);
      assert.equal(patched.json().role, 'owner');
      const reset = await as(hub, token, 'POST', `/api/v1/users/${kid}/reset-password`, {});
      assert.equal(reset.statusCode, 200, reset.body);
      const renamed = await as(hub, token, 'PATCH', `/api/v1/sites/${siteA}`, { name: 'Our roof' });
      assert.equal(renamed.statusCode, 200, renamed.body);

      // Never fleet-wide, never another org.
      const promote = await as(hub, token, 'PATCH', `/api/v1/users/${kid}`, { role: 'admin' });
      assert.equal(promote.statusCode, 400, promote.body);
      const self = await as(hub, token, 'PATCH', `/api/v1/users/${orgAdminA}`, { role: 'owner' });
      assert.equal(self.statusCode, 409, self.body);
      const foreign = await as(hub, token, 'POST', '/api/v1/users', {
        orgId: orgB,
        role: 'viewer',
        email: 'planted-b@example.test',
      });
      assert.equal(foreign.statusCode, 403, foreign.body);
      assert.equal((await as(hub, token, 'PATCH', `/api/v1/users/${ownerB}`, { name: 'x' })).statusCode, 404);
      assert.equal(
        (await as(hub, token, 'POST', `/api/v1/users/${ownerB}/reset-password`, {})).statusCode,
        404,
      );
      assert.equal((await as(hub, token, 'GET', `/api/v1/users/${ownerB}`)).statusCode, 404);
      assert.equal((await as(hub, token, 'GET', '/api/v1/audit')).statusCode, 403);
      assert.equal(
        (await as(hub, token, 'POST', '/api/v1/orgs', { name: 'Mine now', kind: 'operator' })).statusCode,
        403,
      );
      assert.equal(
        (await as(hub, token, 'PATCH', `/api/v1/orgs/${orgA}`, { kind: 'operator' })).statusCode,
        403,
      );
      const b = (await hub.admin('GET', `/api/v1/users/${ownerB}`)).json();
      assert.equal(b.name, null);
    });

    // Unit checks at the database (product state written by SQL on purpose): row-level security
    // and the trigger refuse what the code refuses, whatever SQL the application sends.
    test('row-level security and the trigger agree with the code checks', async () => {
      const actor: Actor = { kind: 'user', userId: orgAdminA, orgId: orgA, role: 'org_admin' };
      const app = hub.app.hub;
      const visible = await withTenant(app, actor, (trx) =>
        trx.selectFrom('users').select('org_id').execute(),
      );
      assert.ok(visible.length > 0 && visible.every((u) => u.org_id === orgA));
      const touched = await withTenant(
        app,
        actor,
        (trx) =>
          trx.updateTable('users').set({ name: 'hijacked' }).where('id', '=', ownerB).executeTakeFirst(),
        'write',
      );
      assert.equal(Number(touched.numUpdatedRows), 0);
      const row = (email: string, org: string, role: 'viewer' | 'admin') => ({
        org_id: org,
        email,
        role,
        password_hash: 'x',
      });
      await assert.rejects(
        withTenant(
          app,
          actor,
          (trx) =>
            trx
              .insertInto('users')
              .values(row('rls-b@example.test', orgB, 'viewer'))
              .execute(),
          'write',
        ),
        /row-level security/,
      );
      await assert.rejects(
        withTenant(
          app,
          actor,
          (trx) =>
            trx
              .insertInto('users')
              .values(row('rls-a@example.test', orgA, 'admin'))
              .execute(),
          'write',
        ),
      );
      // Even the table owner cannot put a fleet admin into a household.
      await assert.rejects(
        app.db
          .insertInto('users')
          .values(row('owner-write@example.test', orgA, 'admin'))
          .execute(),
        /operator orgs/,
      );
      await assert.rejects(
        sql`UPDATE orgs SET kind = 'household' WHERE id = ${operator}`.execute(app.db),
        /fleet-wide admins/,
      );
    });
  });

  test(`existing admins of non-operator orgs become org admins (${engine})`, async () => {
    // A database as it was before migration 013, with data written then (unit test: SQL on purpose).
    const tdb = engine === 'postgres' ? await openTestDatabase(engine, { migrate: false }) : undefined;
    const database = tdb?.database ?? (await openDatabase({ dataDir: 'memory://' }));
    try {
      const before = Object.fromEntries(
        Object.entries(migrations).filter(([name]) => name < '013' || name >= '020'),
      );
      const migrator = new Migrator({
        db: database.db,
        provider: { getMigrations: async () => before },
        migrationTableName: 'schema_migrations',
        migrationLockTableName: 'schema_migrations_lock',
        allowUnorderedMigrations: true,
      });
      const { error } = await migrator.migrateToLatest();
      assert.ifError(error);
      const org = async (kind: string) =>
        (
          await sql<{
            id: string;
          }>`INSERT INTO orgs (name, kind) VALUES (${kind}, ${kind}) RETURNING id`.execute(database.db)
        ).rows[0]!.id;
      const op = await org('operator');
      const house = await org('household');
      const inst = await org('installer');
      for (const [email, o] of [
        ['op@x.test', op],
        ['house@x.test', house],
        ['inst@x.test', inst],
      ] as const) {
        await sql`INSERT INTO users (org_id, email, role, password_hash) VALUES (${o}, ${email}, 'admin', 'x')`.execute(
          database.db,
        );
      }
      await migrate(database);
      const roles = await sql<{
        email: string;
        role: string;
      }>`SELECT email, role FROM users ORDER BY email`.execute(database.db);
      assert.deepEqual(roles.rows, [
        { email: 'house@x.test', role: 'org_admin' },
        { email: 'inst@x.test', role: 'org_admin' },
        { email: 'op@x.test', role: 'admin' },
      ]);
    } finally {
      if (tdb) await tdb.drop();
      else await database.close();
    }
  });
}
