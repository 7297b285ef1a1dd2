// Admin flows in a real browser against a real hub (PGlite): site grants to an installer org
// (with an expiry, listed, revoked, and the installer's access following each step), enrollment
// codes (created, shown once, used by the agent's own enroll code, listed as used; a pending one
// revoked from the list and then refused to the agent, a used one without a revoke button), a disabled
// user's session ending, audit filters narrowing the list, and a password change.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { enroll } from '../../edge/src/identity/enroll.ts';
import { createSite, type Fixture, startTestHub, type TestHub } from '../../hub/test/helpers/hub.ts';
import {
  accessTokenOf,
  apiGet,
  apiLogin,
  ensureBuilt,
  launchBrowser,
  listen,
  localInput,
  refreshCookieOf,
  SCREENSHOTS,
  signInAs,
} from './helpers/portal.ts';

const PASSWORD = 'correct horse battery staple 42';

describe('admin flows in a browser against a real hub', () => {
  let hub: TestHub;
  let browser: Browser;
  let base: string;
  let garage: Fixture;
  let admin: Page;
  const orgs: Record<string, string> = {};
  const users: Record<string, string> = {};
  const dir = mkdtempSync(join(tmpdir(), 'wf-web-admin-'));

  before(async () => {
    ensureBuilt();
    hub = await startTestHub('pglite');
    garage = await createSite(hub, { name: 'Gamma Garage' });
    for (const [name, kind] of [
      ['Volt Crew', 'installer'],
      ['Amp Team', 'installer'],
      ['Operator', 'operator'],
    ] as const) {
      const res = await hub.admin('POST', '/api/v1/orgs', { name, kind });
      assert.equal(res.statusCode, 201, res.body);
      orgs[name] = res.json().id;
    }
    for (const [email, role, orgId] of [
      ['admin@example.org', 'admin', orgs.Operator!],
      ['installer@example.org', 'installer', orgs['Volt Crew']!],
      ['victim@example.org', 'owner', garage.orgId],
      ['owner@example.org', 'owner', garage.orgId],
    ] as const) {
      // The owner's password stays temporary (the password-change test); the others keep theirs.
      const mustChangePassword = email === 'owner@example.org';
      const res = await hub.admin('POST', '/api/v1/users', {
        email,
        role,
        orgId,
        password: PASSWORD,
        mustChangePassword,
      });
      assert.equal(res.statusCode, 201, res.body);
      users[email] = res.json().id;
    }
    base = await listen(hub.app);
    browser = await launchBrowser();
    admin = await signInAs(browser, base, 'admin@example.org', PASSWORD, 'Fleet');
  });

  after(async () => {
    await browser?.close();
    await hub?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('grants a site to an installer org until a date, lists it, revokes it; the installer sees the site only meanwhile', async () => {
    const installerToken = await apiLogin(base, 'installer@example.org', PASSWORD);
    const visible = async () =>
      (await apiGet<{ id: string }[]>(base, '/api/v1/fleet/sites', installerToken)).body.map((s) => s.id);
    assert.deepEqual(await visible(), [], 'no grant yet');

    // From the site's page, which links to its grants with the site chosen.
    await admin.getByTestId('fleet-table').getByRole('link', { name: 'Gamma Garage' }).click();
    await admin.getByRole('link', { name: 'Installer access' }).click();
    await admin.getByRole('heading', { name: 'Site access' }).waitFor();
    assert.equal(await admin.getByLabel('Site').inputValue(), garage.siteId);
    const table = admin.getByTestId('grants-table');
    await table.getByText('No installer has access to this site.').waitFor();

    // An end in the past is refused by the hub, and the form says which field and why.
    await admin.getByLabel('Installer organisation').selectOption({ label: 'Volt Crew' });
    await admin.getByLabel('Until (optional)').fill(await localInput(admin, Date.now() - 86_400_000));
    await admin.getByRole('button', { name: 'Grant', exact: true }).click();
    const problems = admin.getByTestId('error-problems');
    await problems.waitFor();
    assert.match((await problems.textContent()) ?? '', /\/body\/expiresAt\s*must be in the future/);

    const until = Date.now() + 2 * 86_400_000;
    await admin.getByLabel('Until (optional)').fill(await localInput(admin, until));
    await admin.getByRole('button', { name: 'Grant', exact: true }).click();
    const row = table.locator(`tr[data-org="${orgs['Volt Crew']}"]`);
    await table.locator(`tr[data-org="${orgs['Volt Crew']}"][data-state="active"]`).waitFor();
    assert.doesNotMatch((await row.textContent()) ?? '', /no end/, 'the end date is listed');
    const grants = await hub.admin('GET', `/api/v1/sites/${garage.siteId}/grants`);
    const stored = grants.json() as { orgId: string; expiresAt: string | null; active: boolean }[];
    assert.equal(stored.length, 1);
    assert.equal(stored[0]!.orgId, orgs['Volt Crew']);
    // datetime-local has minute resolution: the stored end is that minute.
    assert.ok(Math.abs(Date.parse(stored[0]!.expiresAt!) - until) < 60_000, stored[0]!.expiresAt!);
    assert.deepEqual(await visible(), [garage.siteId], 'the installer sees the granted site');

    // A second installer org without an end.
    await admin.getByLabel('Installer organisation').selectOption({ label: 'Amp Team' });
    await admin.getByRole('button', { name: 'Grant', exact: true }).click();
    await table
      .locator(`tr[data-org="${orgs['Amp Team']}"][data-state="active"]`)
      .getByText('no end')
      .waitFor();
    await admin.screenshot({ path: join(SCREENSHOTS, 'grants.png'), fullPage: true });

    await row.getByRole('button', { name: 'Revoke Volt Crew' }).click();
    await table.locator(`tr[data-org="${orgs['Volt Crew']}"][data-state="revoked"]`).waitFor();
    assert.equal(await table.locator('tr[data-state="active"]').count(), 1, 'the other grant stays');
    assert.deepEqual(await visible(), [], 'revoked: the site is gone for the installer');
    const revoked = await apiGet(base, `/api/v1/sites/${garage.siteId}`, installerToken);
    assert.equal(revoked.status, 404);
  });

  it('creates an enrollment code shown once with the enroll command, lists it, and lists it as used after the agent enrolls', async () => {
    await admin.getByRole('link', { name: 'Enrollment' }).click();
    await admin.getByRole('heading', { name: 'Enrollment codes' }).waitFor();
    await admin.getByLabel('Site').selectOption({ label: 'Gamma Garage' });
    await admin.getByLabel('Node name (optional)').fill('Garage inverter');
    await admin.getByLabel('Valid for').selectOption({ label: '1 hour' });
    await admin.getByRole('button', { name: 'Create code' }).click();
    const code = ((await admin.getByTestId('enrollment-code').textContent()) ?? '').trim();
    assert.ok(code.length >= 8, `a code is shown (${code})`);
    const command = (await admin.getByTestId('new-code').locator('pre').textContent()) ?? '';
    assert.ok(command.includes(`--code '${code}'`) && command.includes(`--hub '${base}'`), command);
    assert.ok(command.includes("--name 'Garage inverter'"), command);

    const codes = admin.getByTestId('codes-table');
    const pending = codes.locator('tr[data-state="pending"]', { hasText: 'Garage inverter' });
    await pending.waitFor();
    assert.equal(await codes.getByText(code).count(), 0, 'the list never shows the code itself');
    const listed = await hub.admin('GET', '/api/v1/fleet/enrollment-codes?state=pending');
    const entry = (listed.json() as { nodeName: string; expiresAt: string; createdAt: string }[]).find(
      (c) => c.nodeName === 'Garage inverter',
    );
    assert.ok(entry, listed.body);
    const ttl = Date.parse(entry.expiresAt) - Date.parse(entry.createdAt);
    assert.ok(Math.abs(ttl - 3_600_000) < 5_000, `valid for one hour (${ttl} ms)`);

    // The agent's own enrollment code uses it.
    const identity = await enroll({ hubUrl: base, code, identityPath: join(dir, 'identity.json') });
    assert.equal(identity.siteId, garage.siteId);
    await admin.getByLabel('Show').selectOption('used');
    const used = codes.locator('tr[data-state="used"]', { hasText: 'Garage inverter' });
    await used.waitFor();
    assert.match((await used.textContent()) ?? '', new RegExp(identity.nodeId.slice(0, 8)));
    await admin.screenshot({ path: join(SCREENSHOTS, 'enrollment.png'), fullPage: true });
    await assert.rejects(
      enroll({ hubUrl: base, code, identityPath: join(dir, 'again.json') }),
      /code already used/,
    );
  });

  it('revokes a pending enrollment code from the list: shown revoked, refused to the agent, audited; a used code has no revoke button', async () => {
    await admin.getByRole('link', { name: 'Enrollment' }).click();
    await admin.getByRole('heading', { name: 'Enrollment codes' }).waitFor();
    await admin.getByLabel('Show').selectOption('all');
    await admin.getByLabel('Site').selectOption({ label: 'Gamma Garage' });
    await admin.getByLabel('Node name (optional)').fill('Shed sensor');
    await admin.getByRole('button', { name: 'Create code' }).click();
    // The panel still shows the previous test's code until this one arrives.
    await admin.getByTestId('new-code').locator('pre', { hasText: "--name 'Shed sensor'" }).waitFor();
    const code = ((await admin.getByTestId('enrollment-code').textContent()) ?? '').trim();

    const codes = admin.getByTestId('codes-table');
    const row = codes.locator('tr', { hasText: 'Shed sensor' });
    await codes.locator('tr[data-state="pending"]', { hasText: 'Shed sensor' }).waitFor();
    await row.getByRole('button', { name: 'Revoke code for Shed sensor' }).click();
    await codes.locator('tr[data-state="revoked"]', { hasText: 'Shed sensor' }).waitFor();
    assert.equal(await row.getByRole('button').count(), 0, 'a revoked code has no button');
    // The code used earlier by the agent is listed without one too.
    const used = codes.locator('tr[data-state="used"]', { hasText: 'Garage inverter' });
    await used.waitFor();
    assert.equal(await used.getByRole('button').count(), 0, 'a used code cannot be revoked');

    await assert.rejects(
      enroll({ hubUrl: base, code, identityPath: join(dir, 'revoked.json') }),
      /code revoked/,
    );
    const listed = await hub.admin('GET', '/api/v1/fleet/enrollment-codes?state=revoked');
    const revoked = (listed.json() as { id: string; nodeName: string }[]).find(
      (c) => c.nodeName === 'Shed sensor',
    );
    assert.ok(revoked, listed.body);
    const trail = await hub.admin('GET', '/api/v1/audit?action=enrollment_code.revoke');
    const entry = (
      trail.json().items as { actorId: string; result: string; details: { codeId: string } }[]
    ).find((e) => e.details.codeId === revoked.id);
    assert.equal(entry?.result, 'ok', trail.body);
    assert.equal(entry?.actorId, users['admin@example.org']);
    await admin.getByLabel('Show').selectOption('revoked');
    await codes.locator('tr[data-state="revoked"]', { hasText: 'Shed sensor' }).waitFor();
    assert.equal(await codes.locator('tr[data-state="pending"]').count(), 0);
    await admin.screenshot({ path: join(SCREENSHOTS, 'enrollment-revoked.png'), fullPage: true });
  });

  it("admin disables a user: that user's open session stops working and signing in is refused until enabled again", async () => {
    const victim = await signInAs(browser, base, 'victim@example.org', PASSWORD, 'Gamma Garage');
    const accessToken = accessTokenOf(victim);
    const refreshCookie = await refreshCookieOf(victim);
    assert.ok(refreshCookie, 'the refresh token is a cookie');
    await admin.getByRole('link', { name: 'Users' }).click();
    const users = admin.getByTestId('users-table');
    await users.locator('tr[data-email="victim@example.org"][data-state="active"]').waitFor();
    await users.getByRole('button', { name: 'Disable victim@example.org' }).click();
    await users.locator('tr[data-email="victim@example.org"][data-state="disabled"]').waitFor();

    // The hub closes the victim's realtime socket (4401) at once; the portal asks the hub why and
    // lands on the login page by itself: no click, no reload.
    await victim.getByTestId('session-ended').waitFor();
    assert.equal((await apiGet(base, '/api/v1/auth/me', accessToken)).status, 401);
    const refresh = await fetch(`${base}/api/v1/auth/refresh`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie: `wf_refresh=${refreshCookie}` },
      body: '{}',
    });
    assert.ok(refresh.status === 401 || refresh.status === 403, `refresh answered ${refresh.status}`);

    await victim.getByLabel('Email').fill('victim@example.org');
    await victim.getByLabel('Password').fill(PASSWORD);
    await victim.getByRole('button', { name: 'Sign in', exact: true }).click();
    // A sentence saying what to do, the code only as data: never "WF_USER_DISABLED" on screen.
    const refused = victim.locator('[role="alert"][data-code="WF_USER_DISABLED"]');
    await refused.filter({ hasText: 'This account is disabled. Ask an administrator' }).waitFor();
    assert.doesNotMatch((await refused.textContent()) ?? '', /WF_/);
    await victim.screenshot({ path: join(SCREENSHOTS, 'login-disabled.png'), fullPage: true });

    await users.getByRole('button', { name: 'Enable victim@example.org' }).click();
    await users.locator('tr[data-email="victim@example.org"][data-state="active"]').waitFor();
    await victim.getByRole('button', { name: 'Sign in', exact: true }).click();
    await victim.getByRole('heading', { name: 'Gamma Garage' }).waitFor();
    await victim.context().close();
  });

  it('audit filters by action, actor and time narrow the list', async () => {
    await admin.getByRole('link', { name: 'Audit' }).click();
    const table = admin.getByTestId('audit-table');
    const rows = table.locator('tbody tr[data-action]');
    await rows.first().waitFor();
    const filter = () => admin.getByRole('button', { name: 'Filter', exact: true }).click();
    /** Waits until the table shows exactly what `ok` accepts, then returns the rows' attributes. */
    const settled = async (ok: (r: { action: string; actor: string; at: string }[]) => boolean) => {
      let last: { action: string; actor: string; at: string }[] = [];
      for (let i = 0; i < 200; i++) {
        last = await rows.evaluateAll((trs) =>
          trs.map((tr) => ({
            action: tr.getAttribute('data-action') ?? '',
            actor: tr.getAttribute('data-actor') ?? '',
            at: tr.getAttribute('data-at') ?? '',
          })),
        );
        if (ok(last)) return last;
        await admin.waitForTimeout(50);
      }
      throw new Error(`audit table never settled: ${JSON.stringify(last)}`);
    };
    const everything = (await hub.admin('GET', '/api/v1/audit?limit=500')).json().items as {
      action: string;
      actorId: string | null;
    }[];
    assert.ok(everything.length < 50, 'one page holds the whole log of this test');
    await settled((r) => r.length === everything.length);

    await admin.getByLabel('Action (e.g. user.*)').fill('grant.*');
    await filter();
    const grants = await settled((r) => r.length > 0 && r.every((x) => x.action.startsWith('grant.')));
    assert.deepEqual(grants.map((r) => r.action).sort(), ['grant.create', 'grant.create', 'grant.revoke']);

    await admin.getByLabel('Action (e.g. user.*)').fill('');
    await admin.getByLabel('Actor').selectOption({ label: 'victim@example.org' });
    await filter();
    const victims = await settled(
      (r) => r.length > 0 && r.every((x) => x.actor === users['victim@example.org']),
    );
    const expected = everything.filter((e) => e.actorId === users['victim@example.org']);
    assert.equal(victims.length, expected.length);
    assert.ok(victims.length < everything.length, 'the actor filter narrowed the list');
    assert.ok(victims.some((r) => r.action === 'auth.login'));

    await admin.getByLabel('Actor').selectOption({ label: 'anyone' });
    await admin.getByLabel('Action (e.g. user.*)').fill('user.*');
    await filter();
    const userActions = await settled((r) => r.length > 0 && r.every((x) => x.action.startsWith('user.')));
    assert.deepEqual(
      userActions.map((r) => r.action).sort(),
      ['user.create', 'user.create', 'user.create', 'user.create', 'user.disable', 'user.enable'],
      'four users created in setup, one disabled and enabled again',
    );
    await admin.getByLabel('Action (e.g. user.*)').fill('');

    // Time: a cut at a whole second (the filter's resolution), one new entry after it.
    const cut = Math.ceil((Date.now() + 1) / 1000) * 1000;
    while (Date.now() <= cut) await admin.waitForTimeout(cut - Date.now() + 20);
    await apiLogin(base, 'installer@example.org', PASSWORD);
    await admin.getByLabel('From').fill(await localInput(admin, cut, true));
    await filter();
    const after = await settled((r) => r.length === 1);
    assert.equal(after[0]!.action, 'auth.login');
    assert.equal(after[0]!.actor, users['installer@example.org']);
    assert.ok(Date.parse(after[0]!.at) >= cut);
    await admin.screenshot({ path: join(SCREENSHOTS, 'audit-filtered.png'), fullPage: true });

    await admin.getByLabel('From').fill('');
    await admin.getByLabel('Until').fill(await localInput(admin, cut, true));
    await filter();
    const before = await settled((r) => r.length > 0 && r.every((x) => Date.parse(x.at) < cut));
    assert.equal(before.length, everything.length, 'until the cut: everything that was there before it');
  });

  it('a user changes their password: a wrong current one is refused in the form, other devices are signed out, this one stays', async () => {
    // Created by an admin with a (temporary) password: the portal goes straight to the form, and
    // the hub answers nothing else until it is changed.
    const here = await signInAs(browser, base, 'owner@example.org', PASSWORD, 'Account', { live: false });
    const elsewhere = await signInAs(browser, base, 'owner@example.org', PASSWORD, 'Account', {
      live: false,
    });
    await here.getByTestId('must-change').waitFor();
    const refused = await apiGet<{ code: string }>(base, '/api/v1/sites', accessTokenOf(here));
    assert.equal(refused.status, 403);
    assert.equal(refused.body.code, 'WF_PASSWORD_CHANGE_REQUIRED');
    await here.goto(`${base}/home`);
    await here.getByTestId('must-change').waitFor();
    assert.equal(new URL(here.url()).pathname, '/account');
    const NEW = 'a much better passphrase 7';

    await here.getByLabel('Current password').fill('not my password');
    await here.getByLabel('New password', { exact: true }).fill(NEW);
    await here.getByLabel('Repeat new password').fill(`${NEW}x`);
    assert.equal(await here.getByRole('button', { name: 'Change password' }).isDisabled(), true);
    await here.getByLabel('Repeat new password').fill(NEW);
    await here.getByRole('button', { name: 'Change password' }).click();
    await here.getByRole('alert').filter({ hasText: 'The current password is wrong' }).waitFor();
    assert.equal(await here.getByTestId('who').count(), 1, 'a wrong current password does not sign out');

    await here.getByLabel('Current password').fill(PASSWORD);
    await here.getByRole('button', { name: 'Change password' }).click();
    await here.getByTestId('password-changed').waitFor();
    assert.equal(await here.getByTestId('must-change').count(), 0);
    await here.screenshot({ path: join(SCREENSHOTS, 'account-password.png'), fullPage: true });

    await here.getByRole('link', { name: 'My home' }).click();
    await here.getByRole('heading', { name: 'Gamma Garage' }).waitFor();
    // The other device's session ended (it had no live socket yet: it learns on its next load).
    await elsewhere.reload();
    await elsewhere.getByTestId('session-ended').waitFor();

    const login = (password: string) =>
      fetch(`${base}/api/v1/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: 'owner@example.org', password }),
      });
    assert.equal((await login(PASSWORD)).status, 401, 'the old password is gone');
    const fresh = await login(NEW);
    assert.equal(fresh.status, 200);
    assert.equal(
      ((await fresh.json()) as { user: { mustChangePassword: boolean } }).user.mustChangePassword,
      false,
    );
    await here.context().close();
    await elsewhere.context().close();
  });
});
