// Browser tests: a fresh production build when sources changed, a real hub listening on a
// loopback port, and headless Debian Chromium driven by playwright-core.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { type Browser, chromium, type Page } from 'playwright-core';

export const WEB_ROOT = new URL('../../', import.meta.url).pathname;
export const SCREENSHOTS = join(WEB_ROOT, '../../.artifacts/screenshots');

function newest(dir: string): number {
  let t = 0;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const s = statSync(p);
    t = Math.max(t, s.isDirectory() ? newest(p) : s.mtimeMs);
  }
  return t;
}

function isFresh(): boolean {
  const index = join(WEB_ROOT, 'dist/index.html');
  const sourcesAt = Math.max(newest(join(WEB_ROOT, 'src')), statSync(join(WEB_ROOT, 'index.html')).mtimeMs);
  return existsSync(index) && statSync(index).mtimeMs >= sourcesAt;
}

const BUILD_LOCK = join(
  tmpdir(),
  `wattfleet-web-build-${createHash('sha1').update(WEB_ROOT).digest('hex').slice(0, 8)}.lock`,
);
const STALE_LOCK_MS = 5 * 60_000;

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * Runs `vite build` when dist is missing or older than any source file. Test files run in
 * parallel, so one builds under a lock (mkdir is atomic) while the others wait and then find a
 * fresh dist, instead of several builds emptying the same folder under each other.
 */
export function ensureBuilt(): void {
  if (isFresh()) return;
  for (;;) {
    try {
      mkdirSync(BUILD_LOCK);
      break;
    } catch {
      // A lock left by a killed run must not block every later run.
      if (
        Date.now() - (statSync(BUILD_LOCK, { throwIfNoEntry: false })?.mtimeMs ?? Date.now()) >
        STALE_LOCK_MS
      )
        rmSync(BUILD_LOCK, { recursive: true, force: true });
      else sleepSync(200);
    }
  }
  try {
    if (isFresh()) return;
    const vite = join(WEB_ROOT, '../../node_modules/vite/bin/vite.js');
    const r = spawnSync(process.execPath, [vite, 'build', '--logLevel', 'warn'], {
      cwd: WEB_ROOT,
      stdio: 'inherit',
    });
    if (r.status !== 0) throw new Error(`vite build failed (${r.status})`);
  } finally {
    rmSync(BUILD_LOCK, { recursive: true, force: true });
  }
}

export async function launchBrowser(): Promise<Browser> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
    ],
  });
}

/** Starts the hub's HTTP server on a free loopback port; returns its base URL. */
export async function listen(app: FastifyInstance): Promise<string> {
  await app.listen({ port: 0, host: '127.0.0.1' });
  const addr = app.server.address();
  if (!addr || typeof addr !== 'object') throw new Error('hub is not listening on a TCP port');
  return `http://127.0.0.1:${addr.port}`;
}

const accessTokens = new WeakMap<Page, string>();

/**
 * The portal keeps its access token in memory only (never in storage), so tests that need it for
 * a direct API call take it from the page's own login/refresh answers as they pass by.
 */
function recordAccessTokens(page: Page): void {
  page.on('response', async (res) => {
    if (!/\/api\/v1\/auth\/(login|refresh)$/.test(new URL(res.url()).pathname) || !res.ok()) return;
    const body = (await res.json().catch(() => null)) as { accessToken?: string } | null;
    if (body?.accessToken) accessTokens.set(page, body.accessToken);
  });
}

/** The access token the page is currently using (from its last login or refresh). */
export function accessTokenOf(page: Page): string {
  const token = accessTokens.get(page);
  if (!token) throw new Error('this page has not signed in');
  return token;
}

/** The page's refresh cookie (httpOnly: the page's scripts cannot read it, the browser can). */
export async function refreshCookieOf(page: Page): Promise<string | undefined> {
  return (await page.context().cookies()).find((c) => c.name === 'wf_refresh')?.value;
}

export interface BrowserSetup {
  viewport?: { width: number; height: number };
  /** The browser's own zone, e.g. one far from the site's, to prove charts use the site's. */
  timezoneId?: string;
  colorScheme?: 'light' | 'dark';
  /** Pins the page's clock (see pinClock). */
  now?: number;

  /** false for a user who is not let through to live updates (a temporary password). */
  live?: boolean;
}

/**
 * A fresh browser context (own storage, so own session) signed in with email and password.
 * `live: false` for a user who is not let through to live updates (a temporary password).
 */
export async function signInAs(
  browser: Browser,
  base: string,
  email: string,
  password: string,
  landing: string,
  setup: BrowserSetup = {},
): Promise<Page> {
  const context = await browser.newContext({
    viewport: setup.viewport ?? { width: 1280, height: 900 },
    acceptDownloads: true,
    ...(setup.timezoneId ? { timezoneId: setup.timezoneId } : {}),
    ...(setup.colorScheme ? { colorScheme: setup.colorScheme } : {}),
  });
  const page = await context.newPage();
  recordAccessTokens(page);
  if (setup.now !== undefined) await pinClock(page, setup.now);
  await page.goto(`${base}/`);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.getByRole('heading', { name: landing }).first().waitFor();
  if (setup.live !== false) await page.getByTestId('connection').filter({ hasText: 'live' }).waitFor();
  return page;
}

/** Logs in over the API (not the browser) and returns the access token. */
export async function apiLogin(base: string, email: string, password: string): Promise<string> {
  const res = await fetch(`${base}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password }),
  });
  if (!res.ok) throw new Error(`login ${email}: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { accessToken: string }).accessToken;
}

/** GET with a bearer token; the status and the parsed body. */
export async function apiGet<T = unknown>(
  base: string,
  path: string,
  token: string,
): Promise<{ status: number; body: T }> {
  const res = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, body: (await res.json().catch(() => null)) as T };
}

/** A datetime-local value ("YYYY-MM-DDTHH:MM") for an instant on a site's clock, by Intl. */
export function siteWallTime(ms: number, timeZone: string): string {
  const p = Object.fromEntries(
    new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
    })
      .formatToParts(ms)
      .map((x) => [x.type, x.value]),
  );
  return `${p.year}-${p.month}-${p.day}T${p.hour}:${p.minute}`;
}

/** A datetime-local value for an instant, in the browser's own zone (to the second if asked). */
export function localInput(page: Page, ms: number, seconds = false): Promise<string> {
  return page.evaluate(
    ([t, s]) => {
      const d = new Date(t);
      return new Date(d.getTime() - d.getTimezoneOffset() * 60_000).toISOString().slice(0, s ? 19 : 16);
    },
    [ms, seconds] as const,
  );
}

export { testNow } from '../../../hub/test/helpers/clock.ts';

/**
 * Pins the page's clock (Date.now / new Date) at `ms` before any script runs, timers still real:
 * the portal's "today" and its period navigation then start from the test's "now".
 */
export async function pinClock(page: Page, ms: number): Promise<void> {
  await page.clock.setFixedTime(ms);
}

/** The two layouts every browser test of issue 14 runs in: desktop light and phone dark. */
export const LAYOUTS = [
  { name: 'desktop-light', viewport: { width: 1440, height: 900 }, colorScheme: 'light' as const },
  { name: 'phone-dark', viewport: { width: 390, height: 844 }, colorScheme: 'dark' as const },
];

const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

/** Serious and critical axe-core violations of the page as it is now. */
export async function axeViolations(page: Page): Promise<string[]> {
  await page.addScriptTag({ path: AXE });
  const result = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run: (ctx: Document) => Promise<unknown> } }).axe;
    return (await axe.run(document)) as {
      violations: { id: string; impact: string | null; nodes: { target: string[] }[] }[];
    };
  });
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}
