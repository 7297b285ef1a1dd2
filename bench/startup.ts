// Issue 15.4: start-up is not a freeze. `npm start` (the real CLI, `start --demo`, PGlite in a
// fresh data directory, embedded broker) backfills 30 days of demo history after it starts
// listening. A client then asks the portal's first questions (login, fleet overview) every
// 100 ms; we record when the first answer came (`first_answer_ms`, after "listening") and the
// slowest answer while the backfill runs. Then the same data directory is started again (data
// already there: the restart case). Baseline, same run: the same requests against the same data
// with the demo off (no backfill, no live demo nodes).
// `npm run bench -- startup [rounds]` (default 2).
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { DEMO_PASSWORD, DEMO_USERS } from '../packages/hub/src/demo/demo-fleet.ts';

const CLI = fileURLToPath(new URL('../packages/hub/src/cli.ts', import.meta.url));
const WATCH_MS = 20_000;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

interface Started {
  child: ChildProcess;
  url: string;
  listeningAt: number;
  backfilledAt: () => number | undefined;
}

async function startHub(dataDir: string, demo: boolean): Promise<Started> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'start', ...(demo ? ['--demo'] : [])], {
    env: {
      ...process.env,
      WATTFLEET_DATA_DIR: dataDir,
      PORT: String(port),
      HOST: '127.0.0.1',
      MQTT_PORT: String(await freePort()),
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let backfilled: number | undefined;
  const listeningAt = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`hub did not start: ${out.slice(-4000)}`)), 120_000);
    const onData = (d: Buffer) => {
      out += d.toString();
      if (/running at http/.test(out)) {
        clearTimeout(timer);
        resolve(Date.now());
      }
      if (backfilled === undefined && /demo history backfilled/.test(out)) backfilled = Date.now();
      if (out.length > 200_000) out = out.slice(-100_000);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`hub exited (${code}): ${out.slice(-4000)}`)));
  });
  return { child, url: `http://127.0.0.1:${port}`, listeningAt, backfilledAt: () => backfilled };
}

async function stopHub(h: Started): Promise<void> {
  if (h.child.exitCode !== null) return;
  const exited = new Promise((r) => h.child.once('exit', r));
  h.child.kill('SIGTERM');
  await Promise.race([exited, sleep(20_000).then(() => h.child.kill('SIGKILL'))]);
  await exited;
}

/** One "portal open": log in as the demo admin, then the fleet overview. */
async function portalOpen(url: string): Promise<boolean> {
  const admin = DEMO_USERS.find((u) => u.role === 'admin')!;
  const login = await fetch(`${url}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: admin.email, password: DEMO_PASSWORD }),
    signal: AbortSignal.timeout(WATCH_MS),
  });
  if (!login.ok) return false;
  const { accessToken } = (await login.json()) as { accessToken: string };
  const fleet = await fetch(`${url}/api/v1/fleet/sites`, {
    headers: { authorization: `Bearer ${accessToken}` },
    signal: AbortSignal.timeout(WATCH_MS),
  });
  return fleet.ok;
}

interface Watch {
  firstAnswerMs: number;
  worstMs: number;
  p50Ms: number;
  answers: number;
}

/** Opens the portal every 100 ms (one at a time) for WATCH_MS after listening. */
async function watch(h: Started): Promise<Watch> {
  const lat: number[] = [];
  let first = Number.NaN;
  while (Date.now() - h.listeningAt < WATCH_MS) {
    const t0 = Date.now();
    const ok = await portalOpen(h.url).catch(() => false);
    const ms = Date.now() - t0;
    if (ok) {
      lat.push(ms);
      if (Number.isNaN(first)) first = Date.now() - h.listeningAt;
    }
    await sleep(100);
  }
  lat.sort((a, b) => a - b);
  return {
    firstAnswerMs: first,
    worstMs: lat.at(-1) ?? Number.NaN,
    p50Ms: lat[Math.floor(lat.length / 2)] ?? Number.NaN,
    answers: lat.length,
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function main(args: string[]): Promise<void> {
  const rounds = Number(args[0] ?? 2);
  const fresh: Watch[] = [];
  const again: Watch[] = [];
  const base: Watch[] = [];
  for (let r = 1; r <= rounds; r++) {
    const dir = mkdtempSync(join(tmpdir(), 'wf-bench-startup-'));
    try {
      let h = await startHub(dir, true);
      const a = await watch(h);
      // Let the backfill finish before the restart, so the restart finds a month of history.
      while (!h.backfilledAt() && Date.now() - h.listeningAt < 300_000) await sleep(500);
      const backfillMs = (h.backfilledAt() ?? Number.NaN) - h.listeningAt;
      await stopHub(h);
      h = await startHub(dir, true);
      const b = await watch(h);
      await stopHub(h);
      h = await startHub(dir, false);
      const c = await watch(h);
      await stopHub(h);
      fresh.push(a);
      again.push(b);
      base.push(c);
      console.log(
        `round ${r}: fresh first_answer_ms=${a.firstAnswerMs} worst_ms=${a.worstMs} p50_ms=${a.p50Ms} answers=${a.answers} backfill_ms=${backfillMs} | ` +
          `restart first_answer_ms=${b.firstAnswerMs} worst_ms=${b.worstMs} answers=${b.answers} | ` +
          `no demo first_answer_ms=${c.firstAnswerMs} worst_ms=${c.worstMs} answers=${c.answers}`,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const m = (xs: Watch[], k: keyof Watch) => median(xs.map((x) => x[k]));
  const ratio = Math.max(m(fresh, 'worstMs'), m(again, 'worstMs')) / m(base, 'worstMs');
  console.log(
    `startup: first_answer_ms=${m(fresh, 'firstAnswerMs')} restart_first_answer_ms=${m(again, 'firstAnswerMs')} ` +
      `worst_ms=${m(fresh, 'worstMs')} restart_worst_ms=${m(again, 'worstMs')} baseline_worst_ms=${m(base, 'worstMs')} ` +
      `ratio=${ratio.toFixed(2)} rounds=${rounds}`,
  );
}
