// Revoking a pending enrollment code, on both engines: the installer of the site revokes it, the
// list shows it revoked (and the filters sort it right), an agent can no longer enroll with it,
// and the action is audited. A used, expired or already revoked code answers 409 and stays as it
// is; other roles are refused, other tenants' codes are not found; a revoke racing an enrollment
// leaves exactly one winner.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { generateNodeKeyPair } from '@wattfleet/protocol';
import { ENGINES } from '../helpers/engines.ts';
import { createSite, type Fixture, startTestHub, type TestHub } from '../helpers/hub.ts';
import { as, createOrg, createUser, login } from '../identity/helpers.ts';

interface Listed {
  id: string;
  siteId: string;
  nodeName: string | null;
  state: string;
}

for (const engine of ENGINES) {
  describe(`enrollment code revocation on ${engine}`, () => {
    let hub: TestHub;
    let site: Fixture;
    let other: Fixture;
    const token = { installer: '', stranger: '', owner: '' };

    before(async () => {
      hub = await startTestHub(engine);
      const crew = await createOrg(hub, 'installer', 'Crew');
      const strangers = await createOrg(hub, 'installer', 'Strangers');
      site = await createSite(hub, { name: 'Roof' });
      other = await createSite(hub, { name: 'Elsewhere' });
      const patched = await hub.admin('PATCH', `/api/v1/sites/${site.siteId}`, { installerOrgId: crew });
      assert.equal(patched.statusCode, 200, patched.body);
      await createUser(hub, crew, 'installer', 'crew@example.test');
      await createUser(hub, strangers, 'installer', 'stranger@example.test');
      await createUser(hub, site.orgId, 'owner', 'owner@example.test');
      token.installer = (await login(hub, 'crew@example.test')).accessToken;
      token.stranger = (await login(hub, 'stranger@example.test')).accessToken;
      token.owner = (await login(hub, 'owner@example.test')).accessToken;
    });
    after(async () => hub?.close());

    /** A new pending code for a site, with its list id. */
    const newCode = async (nodeName: string, siteId = site.siteId) => {
      const created = await hub.admin('POST', `/api/v1/sites/${siteId}/enrollment-codes`, { nodeName });
      assert.equal(created.statusCode, 201, created.body);
      const listed = (
        await hub.admin('GET', `/api/v1/fleet/enrollment-codes?siteId=${siteId}`)
      ).json() as Listed[];
      const entry = listed.find((c) => c.nodeName === nodeName);
      assert.ok(entry, JSON.stringify(listed));
      assert.match(entry.id, /^[0-9a-f]{32}$/);
      assert.equal(entry.state, 'pending');
      return { code: created.json().code as string, id: entry.id };
    };
    const enroll = (code: string) =>
      hub.app.inject({
        method: 'POST',
        url: '/api/v1/nodes/enroll',
        payload: { code, publicKey: generateNodeKeyPair().publicKey, name: 'agent' },
      });
    const revoke = (who: string, id: string) =>
      as(hub, who, 'POST', `/api/v1/fleet/enrollment-codes/${id}/revoke`);
    const stateOf = async (id: string, query = '') => {
      const all = (await hub.admin('GET', `/api/v1/fleet/enrollment-codes${query}`)).json() as Listed[];
      return all.find((c) => c.id === id)?.state;
    };

    it('the installer revokes a pending code: listed as revoked, enrollment refused, audited', async () => {
      const { code, id } = await newCode('Garage meter');
      const res = await revoke(token.installer, id);
      assert.equal(res.statusCode, 200, res.body);
      assert.deepEqual(res.json(), { id, siteId: site.siteId, nodeName: 'Garage meter', state: 'revoked' });
      assert.equal(await stateOf(id), 'revoked');
      assert.equal(await stateOf(id, '?state=revoked'), 'revoked');
      assert.equal(await stateOf(id, '?state=pending'), undefined);
      assert.equal(await stateOf(id, '?state=expired'), undefined);
      // When and by whom is kept on the code itself.
      const row = await hub.tdb.database.pool.query(
        'SELECT revoked_at, revoked_by, expires_at > now() AS still_valid_date FROM enrollment_codes WHERE used_at IS NULL AND revoked_at IS NOT NULL',
      );
      assert.ok(
        row.rows.some((r) => r.revoked_by && r.still_valid_date),
        JSON.stringify(row.rows),
      );

      const refused = await enroll(code);
      assert.equal(refused.statusCode, 400, refused.body);
      assert.equal(refused.json().code, 'WF_ENROLLMENT_INVALID');
      assert.match(refused.json().message, /code revoked/);

      const again = await revoke(token.installer, id);
      assert.equal(again.statusCode, 409);
      assert.match(again.json().message, /already revoked/);

      const trail = (await hub.admin('GET', '/api/v1/audit?action=enrollment_code.revoke')).json();
      const items = trail.items as {
        result: string;
        actorType: string;
        targetId: string;
        details: { codeId: string; reason?: string };
      }[];
      const mine = items.filter((e) => e.details.codeId === id);
      assert.deepEqual(mine.map((e) => e.result).sort(), ['failed', 'ok'], JSON.stringify(mine));
      assert.ok(mine.every((e) => e.targetId === site.siteId && e.actorType === 'user'));
    });

    it('a used code cannot be revoked and stays used; nor can an expired one', async () => {
      const used = await newCode('Used one');
      const enrolled = await enroll(used.code);
      assert.equal(enrolled.statusCode, 200, enrolled.body);
      const res = await revoke(token.installer, used.id);
      assert.equal(res.statusCode, 409, res.body);
      assert.match(res.json().message, /already used/);
      assert.equal(await stateOf(used.id), 'used');

      const expired = await newCode('Expired one');
      await hub.tdb.database.pool.query(
        `UPDATE enrollment_codes SET expires_at = now() - interval '1 minute' WHERE node_name = 'Expired one'`,
      );
      const late = await revoke(token.installer, expired.id);
      assert.equal(late.statusCode, 409, late.body);
      assert.equal(await stateOf(expired.id), 'expired');
    });

    it('owners are refused, another installer and unknown ids are not found, bad ids are invalid', async () => {
      const { id } = await newCode('Protected');
      assert.equal((await revoke(token.owner, id)).statusCode, 403);
      assert.equal((await revoke(token.stranger, id)).statusCode, 404);
      assert.equal((await revoke(token.installer, 'f'.repeat(32))).statusCode, 404);
      assert.equal((await revoke(token.installer, 'not-an-id')).statusCode, 400);
      // A code of a site the installer does not serve.
      const foreign = await newCode('Not theirs', other.siteId);
      assert.equal((await revoke(token.installer, foreign.id)).statusCode, 404);
      assert.equal(await stateOf(id), 'pending');
      assert.equal(await stateOf(foreign.id), 'pending');
      // Admins may revoke any.
      assert.equal(
        (await hub.admin('POST', `/api/v1/fleet/enrollment-codes/${foreign.id}/revoke`)).statusCode,
        200,
      );
    });

    it('a revoke racing an enrollment: exactly one of them wins', async () => {
      for (let i = 0; i < 3; i++) {
        const { code, id } = await newCode(`Race ${i}`);
        const [r, e] = await Promise.all([revoke(token.installer, id), enroll(code)]);
        assert.equal(
          [r.statusCode === 200, e.statusCode === 200].filter(Boolean).length,
          1,
          `${r.body} ${e.body}`,
        );
        assert.equal(await stateOf(id), r.statusCode === 200 ? 'revoked' : 'used');
      }
    });
  });
}
