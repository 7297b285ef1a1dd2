// Row-level security of the unified namespace tables, both engines: under the tenant role a
// member sees only its own org's settings and readers, only the org's org_admin changes them, and
// no tenant session can read a reader's password hash (the column is not granted at all).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Actor } from '../../src/auth/actor.ts';
import { withTenant } from '../../src/identity/tenant.ts';
import { ENGINES } from '../helpers/engines.ts';
import { createSite, type Fixture, startTestHub, type TestHub } from '../helpers/hub.ts';

for (const engine of ENGINES) {
  describe(`unified namespace row-level security on ${engine}`, () => {
    let hub: TestHub;
    let a: Fixture;
    let b: Fixture;
    const actor = (role: 'org_admin' | 'viewer' | 'owner', orgId: string): Actor => ({
      kind: 'user',
      role,
      orgId,
      userId: crypto.randomUUID(),
    });

    before(async () => {
      hub = await startTestHub(engine);
      a = await createSite(hub);
      b = await createSite(hub);
      for (const f of [a, b]) {
        const r = await hub.admin('POST', `/api/v1/orgs/${f.orgId}/uns/credentials`, {});
        assert.equal(r.statusCode, 201, r.body);
      }
    });
    after(async () => hub?.close());

    it("shows a member only its own org's settings and readers", async () => {
      const rows = await withTenant(hub.app.hub, actor('viewer', a.orgId), async (trx) => ({
        settings: await trx.selectFrom('uns_org_settings').select('org_id').execute(),
        readers: await trx.selectFrom('uns_credentials').select(['org_id', 'username']).execute(),
      }));
      assert.deepEqual(
        rows.settings.map((r) => r.org_id),
        [a.orgId],
      );
      assert.deepEqual(
        rows.readers.map((r) => r.org_id),
        [a.orgId],
      );
    });

    it('lets only the org_admin change them, and nobody read a hash', async () => {
      const viewer = await withTenant(
        hub.app.hub,
        actor('viewer', a.orgId),
        (trx) => trx.updateTable('uns_org_settings').set({ enabled: true }).executeTakeFirst(),
        'write',
      ).then(
        (r) => Number(r.numUpdatedRows),
        () => 0,
      );
      assert.equal(viewer, 0);
      const foreign = await withTenant(
        hub.app.hub,
        actor('org_admin', b.orgId),
        (trx) =>
          trx
            .updateTable('uns_org_settings')
            .set({ enabled: true })
            .where('org_id', '=', a.orgId)
            .executeTakeFirst(),
        'write',
      );
      assert.equal(Number(foreign.numUpdatedRows), 0);
      const own = await withTenant(
        hub.app.hub,
        actor('org_admin', a.orgId),
        (trx) => trx.updateTable('uns_org_settings').set({ enabled: true }).executeTakeFirst(),
        'write',
      );
      assert.equal(Number(own.numUpdatedRows), 1);
      await assert.rejects(
        withTenant(hub.app.hub, actor('org_admin', a.orgId), (trx) =>
          trx.selectFrom('uns_credentials').select('password_hash').execute(),
        ),
        /permission denied/,
      );
    });
  });
}
