// Issue 16.1: the hub as built JavaScript. Starts the hub on an existing PostgreSQL database
// (migrated before the clock starts; embedded broker) in two ways, each round:
//   - bundle: dist/hub.mjs built by packages/hub/scripts/build.mjs, with plain `node` (production:
//     deploy/hub/wattfleet-hub.service, the Docker image);
//   - tsx: the TypeScript source through the tsx loader (how it ran before, and `npm start`).
// For each: first_answer_ms (spawn → first 200 from GET /healthz, polled every 25 ms) and resident
// memory after the hub has settled, answering a portal request every second (VmRSS, median of the
// samples). Baseline in the same run: a bare node process (`node -e "setInterval(()=>{},1000)"`).
// Last line:
//   hub-rss: ratio=<bundle RSS / bare node> tsx_ratio=… first_answer_ms=<bundle, median> …
// Goals: ratio ≤ 3, first_answer_ms ≤ 3000.
// `npm run bench -- hub-rss [rounds] [settle_seconds]` (default 3 rounds, 20 s).
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { createPgDatabase } from '../packages/hub/test/helpers/engines.ts';
import { HUB_BUILD_SCRIPT, HUB_BUNDLE } from '../packages/hub/test/helpers/hub-process.ts';

const CLI = fileURLToPath(new URL('../packages/hub/src/cli.ts', import.meta.url));
const SAMPLE_MS = 1_000;

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

function rssKb(pid: number): number | undefined {
  try {
    const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
};

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(t);
}

interface Measured {
  firstAnswerMs: number;
  rssMb: number;
}

async function measureHub(mode: 'bundle' | 'tsx', databaseUrl: string, settleS: number): Promise<Measured> {
  const port = await freePort();
  const args = mode === 'bundle' ? [HUB_BUNDLE, 'start'] : ['--import', 'tsx', CLI, 'start'];
  const started = performance.now();
  const child = spawn(process.execPath, args, {
    env: {
      ...process.env,
      DATABASE_URL: databaseUrl,
      PORT: String(port),
      HOST: '127.0.0.1',
      MQTT_PORT: String(await freePort()),
      LOG_LEVEL: 'warn',
      LOG_FORMAT: 'json',
      WATTFLEET_SECRETS_KEY: 'a'.repeat(64),
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => {
    err = (err + d.toString()).slice(-4000);
  });
  try {
    const url = `http://127.0.0.1:${port}`;
    let firstAnswerMs = Number.NaN;
    while (Number.isNaN(firstAnswerMs)) {
      if (child.exitCode !== null) throw new Error(`${mode} hub exited (${child.exitCode}): ${err}`);
      if (performance.now() - started > 60_000) throw new Error(`${mode} hub did not answer in 60 s: ${err}`);
      try {
        const r = await fetch(`${url}/healthz`);
        if (r.ok) firstAnswerMs = performance.now() - started;
        else await r.arrayBuffer();
      } catch {
        // not listening yet
      }
      if (Number.isNaN(firstAnswerMs)) await sleep(25);
    }
    // Settled: a portal's worth of requests (an unauthenticated API read and the OpenAPI document),
    // RSS sampled every second over the second half of the settle time.
    const samples: number[] = [];
    const end = performance.now() + settleS * 1000;
    while (performance.now() < end) {
      await (await fetch(`${url}/healthz`)).arrayBuffer();
      await (await fetch(`${url}/api/docs/json`)).arrayBuffer();
      if (end - performance.now() < (settleS * 1000) / 2) {
        const kb = rssKb(child.pid!);
        if (kb) samples.push(kb);
      }
      await sleep(SAMPLE_MS);
    }
    return { firstAnswerMs, rssMb: median(samples) / 1024 };
  } finally {
    await stop(child);
  }
}

async function bareNodeMb(settleS: number): Promise<number> {
  const child = spawn(process.execPath, ['-e', 'setInterval(()=>{},1000)'], { stdio: 'ignore' });
  try {
    await sleep((settleS * 1000) / 2);
    const samples: number[] = [];
    for (let i = 0; i < 5; i++) {
      const kb = rssKb(child.pid!);
      if (kb) samples.push(kb);
      await sleep(SAMPLE_MS);
    }
    return median(samples) / 1024;
  } finally {
    await stop(child);
  }
}

export async function main(args: string[]): Promise<void> {
  const rounds = Number(args[0] ?? 3);
  const settleS = Number(args[1] ?? 20);
  execFileSync(process.execPath, [HUB_BUILD_SCRIPT], { stdio: 'inherit' });
  const db = await createPgDatabase();
  try {
    // An existing database: migrated (and the first admin created) by one start before the clock.
    await measureHub('tsx', db.url, 1);
    const rows: { bundle: Measured; tsx: Measured; bare: number }[] = [];
    for (let r = 0; r < rounds; r++) {
      const bare = await bareNodeMb(settleS);
      const bundle = await measureHub('bundle', db.url, settleS);
      const tsx = await measureHub('tsx', db.url, settleS);
      rows.push({ bundle, tsx, bare });
      console.log(
        `round ${r + 1}: bare=${bare.toFixed(1)} MB bundle=${bundle.rssMb.toFixed(1)} MB ` +
          `(first answer ${bundle.firstAnswerMs.toFixed(0)} ms) tsx=${tsx.rssMb.toFixed(1)} MB ` +
          `(first answer ${tsx.firstAnswerMs.toFixed(0)} ms)`,
      );
    }
    const bare = median(rows.map((r) => r.bare));
    const bundleMb = median(rows.map((r) => r.bundle.rssMb));
    const tsxMb = median(rows.map((r) => r.tsx.rssMb));
    const first = median(rows.map((r) => r.bundle.firstAnswerMs));
    const tsxFirst = median(rows.map((r) => r.tsx.firstAnswerMs));
    console.log(
      `hub-rss: ratio=${(bundleMb / bare).toFixed(2)} tsx_ratio=${(tsxMb / bare).toFixed(2)} ` +
        `first_answer_ms=${first.toFixed(0)} tsx_first_answer_ms=${tsxFirst.toFixed(0)} ` +
        `rss_mb=${bundleMb.toFixed(1)} tsx_rss_mb=${tsxMb.toFixed(1)} bare_mb=${bare.toFixed(1)} ` +
        `engine=postgres rounds=${rounds}`,
    );
  } finally {
    await db.drop();
  }
}
