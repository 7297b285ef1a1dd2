// The access matrix: every route that touches a site, for every role, against own tenant,
// another tenant, an installer without grant, with an active grant and with an expired grant.
// Every cell is compared with the expected answer; the test reports all mismatches at once and
// demands zero. Listings are checked to contain exactly the allowed rows, never a foreign one.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ENGINES } from '../helpers/engines.ts';
import { startTestHub, type TestHub } from '../helpers/hub.ts';
import { as, createOrg, createUser, login } from './helpers.ts';

type Who = 'admin' | 'ownerA' | 'viewerA' | 'ownerB' | 'installerX' | 'installerY' | 'installerZ';
type SiteKey = 'A' | 'B' | 'C' | 'D';

// A: household A, installed by X. B: household B. C: household B, active grant to Y.
// D: household B, expired grant to Y. Z is an installer with nothing.
const READ: Record<Who, SiteKey[]> = {
  admin: ['A', 'B', 'C', 'D'],
  ownerA: ['A'],
  viewerA: ['A'],
  ownerB: ['B', 'C', 'D'],
  installerX: ['A'],
  installerY: ['C'],
  installerZ: [],
};
const WRITE: Record<Who, SiteKey[]> = { ...READ, viewerA: [] };
const GRANT: Record<Who, SiteKey[]> = {
  ...READ,
  viewerA: [],
  installerX: [],
  installerY: [],
  installerZ: [],
};
const ENROLL: Record<Who, SiteKey[]> = { ...WRITE, ownerA: [], ownerB: [] };

for (const engine of ENGINES) {
  describe(`access matrix on ${engine}`, () => {
    let hub: TestHub;
    const token = {} as Record<Who, string>;
    const userId = {} as Record<Who | 'spare', string>;
    const site = {} as Record<SiteKey, string>;
    const org = {} as Record<string, string>;

    before(async () => {
      hub = await startTestHub(engine);
      org.op = await createOrg(hub, 'operator', 'Operator');
      org.hA = await createOrg(hub, 'household', 'Household A');
      org.hB = await createOrg(hub, 'household', 'Household B');
      org.iX = await createOrg(hub, 'installer', 'Installer X');
      org.iY = await createOrg(hub, 'installer', 'Installer Y');
      org.iZ = await createOrg(hub, 'installer', 'Installer Z');
      // Target of the grants the matrix creates; no user belongs to it, so they change nothing.
      org.iW = await createOrg(hub, 'installer', 'Installer W');
      const mk = async (key: SiteKey, owner: string, installer: string | null) => {
        const r = await hub.admin('POST', '/api/v1/sites', {
          orgId: owner,
          installerOrgId: installer,
          name: `Site ${key}`,
          timezone: 'Europe/Berlin',
        });
        assert.equal(r.statusCode, 201, r.body);
        site[key] = r.json().id;
      };
      await mk('A', org.hA as string, org.iX as string);
      await mk('B', org.hB as string, null);
      await mk('C', org.hB as string, null);
      await mk('D', org.hB as string, null);
      const users: [Who, string, 'admin' | 'owner' | 'viewer' | 'installer'][] = [
        ['admin', org.op as string, 'admin'],
        ['ownerA', org.hA as string, 'owner'],
        ['viewerA', org.hA as string, 'viewer'],
        ['ownerB', org.hB as string, 'owner'],
        ['installerX', org.iX as string, 'installer'],
        ['installerY', org.iY as string, 'installer'],
        ['installerZ', org.iZ as string, 'installer'],
      ];
      for (const [who, o, role] of users) {
        userId[who] = await createUser(hub, o, role, `${who.toLowerCase()}@example.test`);
        token[who] = (await login(hub, `${who.toLowerCase()}@example.test`)).accessToken;
      }
      // Reset targets someone outside the matrix: a reset ends that user's sessions.
      userId.spare = await createUser(hub, org.hA as string, 'owner', 'spare@example.test');
      // The owner grants C to Y through the API; the expired grant on D is planted directly.
      const g = await as(hub, token.ownerB, 'POST', `/api/v1/sites/${site.C}/grants`, { orgId: org.iY });
      assert.equal(g.statusCode, 201, g.body);
      await hub.tdb.database.db
        .insertInto('site_grants')
        .values({
          site_id: site.D,
          grantee_org_id: org.iY as string,
          granted_by: null,
          expires_at: new Date(Date.now() - 60_000),
          revoked_at: null,
          revoked_by: null,
        })
        .execute();
    });
    after(async () => hub?.close());

    test('every route × role × tenant answers as expected (0 leaks)', async () => {
      const wrong: string[] = [];
      const check = async (
        who: Who,
        label: string,
        ok: boolean,
        okStatus: number,
        deny: number[],
        send: () => Promise<{ statusCode: number; body: string }>,
      ) => {
        const r = await send();
        const good = ok ? r.statusCode === okStatus : deny.includes(r.statusCode);
        if (!good)
          wrong.push(
            `${who} ${label}: got ${r.statusCode} want ${ok ? okStatus : deny.join('|')} ${r.body.slice(0, 120)}`,
          );
      };
      for (const who of Object.keys(READ) as Who[]) {
        for (const key of ['A', 'B', 'C', 'D'] as SiteKey[]) {
          const id = site[key];
          const t = token[who];
          await check(who, `GET /sites/${key}`, READ[who].includes(key), 200, [404], () =>
            as(hub, t, 'GET', `/api/v1/sites/${id}`),
          );
          await check(who, `GET /sites/${key}/grants`, READ[who].includes(key), 200, [404], () =>
            as(hub, t, 'GET', `/api/v1/sites/${id}/grants`),
          );
          await check(who, `GET /sites/${key}/telemetry`, READ[who].includes(key), 200, [404], () =>
            as(
              hub,
              t,
              'GET',
              `/api/v1/sites/${id}/telemetry?from=2026-01-01T00:00:00Z&to=2026-01-02T00:00:00Z`,
            ),
          );
          await check(who, `PATCH /sites/${key}`, WRITE[who].includes(key), 200, [404], () =>
            as(hub, t, 'PATCH', `/api/v1/sites/${id}`, { name: `Site ${key}` }),
          );
          // Denied with 403 when the site is visible but the role may not; 404 when invisible.
          await check(
            who,
            `POST /sites/${key}/grants`,
            GRANT[who].includes(key),
            201,
            READ[who].includes(key) ? [403] : [404],
            () => as(hub, t, 'POST', `/api/v1/sites/${id}/grants`, { orgId: org.iW }),
          );
          await check(
            who,
            `POST /sites/${key}/enrollment-codes`,
            ENROLL[who].includes(key),
            201,
            WRITE[who].includes(key) ? [403] : [404],
            () => as(hub, t, 'POST', `/api/v1/sites/${id}/enrollment-codes`, {}),
          );
          // Installers cannot re-assign the installer of a site.
          await check(
            who,
            `PATCH /sites/${key} installerOrgId`,
            GRANT[who].includes(key),
            200,
            WRITE[who].includes(key) ? [403] : [404],
            () => as(hub, t, 'PATCH', `/api/v1/sites/${id}`, { installerOrgId: key === 'A' ? org.iX : null }),
          );
        }
        const admin = who === 'admin';
        await check(who, 'POST /users', admin, 201, [403], () =>
          as(hub, token[who], 'POST', '/api/v1/users', {
            orgId: org.hA,
            role: 'viewer',
            email: `made-by-${who.toLowerCase()}@example.test`,
            password: 'long enough pw',
          }),
        );
        await check(who, 'PATCH /orgs/hB', admin, 200, [403], () =>
          as(hub, token[who], 'PATCH', `/api/v1/orgs/${org.hB}`, { name: 'Household B' }),
        );
        await check(who, 'GET /audit', admin, 200, [403], () => as(hub, token[who], 'GET', '/api/v1/audit'));
        await check(who, 'POST /orgs', admin, 201, [403], () =>
          as(hub, token[who], 'POST', '/api/v1/orgs', { name: `by ${who}`, kind: 'household' }),
        );
        await check(who, 'GET /users/ownerB', admin || who === 'ownerB', 200, [404], () =>
          as(hub, token[who], 'GET', `/api/v1/users/${userId.ownerB}`),
        );
        await check(who, 'GET /orgs/hA', admin || who === 'ownerA' || who === 'viewerA', 200, [404], () =>
          as(hub, token[who], 'GET', `/api/v1/orgs/${org.hA}`),
        );
        await check(who, 'reset a password', admin, 200, [403], () =>
          as(hub, token[who], 'POST', `/api/v1/users/${userId.spare}/reset-password`, {
            password: 'correct horse battery',
          }),
        );
      }
      assert.deepEqual(wrong, []);
    });

    test('listings contain exactly the allowed rows, never a foreign one', async () => {
      const wrong: string[] = [];
      const orgOf: Record<Who, string> = {
        admin: org.op as string,
        ownerA: org.hA as string,
        viewerA: org.hA as string,
        ownerB: org.hB as string,
        installerX: org.iX as string,
        installerY: org.iY as string,
        installerZ: org.iZ as string,
      };
      for (const who of Object.keys(READ) as Who[]) {
        const t = token[who];
        const sites = (await as(hub, t, 'GET', '/api/v1/sites')).json() as { id: string }[];
        const want = READ[who].map((k) => site[k]).sort();
        if (JSON.stringify(sites.map((s) => s.id).sort()) !== JSON.stringify(want))
          wrong.push(`${who} GET /sites`);
        if (who === 'admin') continue;
        const users = (await as(hub, t, 'GET', '/api/v1/users')).json() as { orgId: string }[];
        if (users.length === 0 || users.some((u) => u.orgId !== orgOf[who])) wrong.push(`${who} GET /users`);
        // Asking for another org's users by filter still gives nothing foreign.
        const filtered = (await as(hub, t, 'GET', `/api/v1/users?orgId=${org.hB}`)).json() as {
          orgId: string;
        }[];
        if (filtered.some((u) => u.orgId !== orgOf[who])) wrong.push(`${who} GET /users?orgId`);
        const orgs = (await as(hub, t, 'GET', '/api/v1/orgs')).json() as { id: string }[];
        if (orgs.length !== 1 || orgs[0]?.id !== orgOf[who]) wrong.push(`${who} GET /orgs`);
      }
      assert.deepEqual(wrong, []);
    });

    test('revoking a grant removes access at once', async () => {
      const grants = (await as(hub, token.ownerB, 'GET', `/api/v1/sites/${site.C}/grants`)).json() as {
        id: string;
        orgId: string;
        active: boolean;
      }[];
      const toY = grants.find((g) => g.orgId === org.iY && g.active);
      assert.ok(toY);
      assert.equal(
        (await as(hub, token.installerY, 'DELETE', `/api/v1/sites/${site.C}/grants/${toY.id}`)).statusCode,
        403,
      );
      const r = await as(hub, token.ownerB, 'DELETE', `/api/v1/sites/${site.C}/grants/${toY.id}`);
      assert.equal(r.statusCode, 200, r.body);
      assert.equal((await as(hub, token.installerY, 'GET', `/api/v1/sites/${site.C}`)).statusCode, 404);
      assert.deepEqual((await as(hub, token.installerY, 'GET', '/api/v1/sites')).json(), []);
    });

    test('a grant with an end date expires by itself', async () => {
      const r = await as(hub, token.ownerA, 'POST', `/api/v1/sites/${site.A}/grants`, {
        orgId: org.iZ,
        expiresAt: new Date(Date.now() + 60 * 60_000).toISOString(),
      });
      assert.equal(r.statusCode, 201, r.body);
      assert.equal((await as(hub, token.installerZ, 'GET', `/api/v1/sites/${site.A}`)).statusCode, 200);
      // Time passes (moved in the database rather than waited for).
      await hub.tdb.database.db
        .updateTable('site_grants')
        .set({ expires_at: new Date(Date.now() - 1000) })
        .where('id', '=', r.json().id)
        .execute();
      assert.equal((await as(hub, token.installerZ, 'GET', `/api/v1/sites/${site.A}`)).statusCode, 404);
    });
  });
}
