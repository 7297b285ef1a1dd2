// B5: resident memory of the real edge agent over a few minutes, against a bare node process
// (`node -e "setInterval(()=>{},1000)"`) measured in the same run. The agent runs exactly as
// systemd runs it: the bundle built by packages/edge/scripts/build.mjs, started with the node
// flags and Environment= lines of deploy/agent/wattfleet-agent.service (read from the file).
// It is enrolled with a real hub (its own process, PGlite in a temp dir, embedded MQTT broker):
// simulator polled every second, signed HTTP uploads, MQTT control channel with heartbeats and
// live snapshots, local dashboard.
// `npm run bench -- agent-rss [seconds]` (default 180). RSS is VmRSS from /proc/<pid>/status.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { HubProcess } from '../packages/hub/test/helpers/hub-process.ts';
import { localAgentCommand, REPO_ROOT } from './_agent-unit.ts';
import { BENCH_TOKEN, benchSite } from './_fleet.ts';

const BUILD = fileURLToPath(new URL('../packages/edge/scripts/build.mjs', import.meta.url));
const SAMPLE_MS = 5_000;

/** A port nobody listens on right now (the hub's broker and the dashboard need one known upfront). */
async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

/** kB figures from /proc/<pid>/status (VmRSS, RssAnon, RssFile, RssShmem), or undefined once gone. */
function procStatus(pid: number): Record<string, number> | undefined {
  try {
    const out: Record<string, number> = {};
    for (const line of readFileSync(`/proc/${pid}/status`, 'utf8').split('\n')) {
      const m = /^(VmRSS|VmHWM|RssAnon|RssFile|RssShmem):\s+(\d+) kB/.exec(line);
      if (m) out[m[1]!] = Number(m[2]);
    }
    return out.VmRSS === undefined ? undefined : out;
  } catch {
    return undefined;
  }
}

/** CPU seconds (user + system) a process has used so far, from /proc/<pid>/stat (100 ticks/s). */
function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

async function stopChild(child: ChildProcess | undefined, graceMs = 10_000): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

/** Least-squares slope of y over x. */
function slope(points: { x: number; y: number }[]): number {
  const n = points.length;
  if (n < 2) return 0;
  const mx = points.reduce((a, p) => a + p.x, 0) / n;
  const my = points.reduce((a, p) => a + p.y, 0) / n;
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.x - mx) * (p.y - my);
    den += (p.x - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

interface AgentStatus {
  outbox?: { acked?: number; depth?: number };
  controlConnected?: boolean;
  node?: { nodeId: string } | null;
}

async function agentStatus(dashboard: string): Promise<AgentStatus | undefined> {
  const res = await fetch(`${dashboard}/api/status`, { signal: AbortSignal.timeout(2_000) }).catch(
    () => undefined,
  );
  return res?.ok ? ((await res.json()) as AgentStatus) : undefined;
}

/** V8 heap figures from the agent's own Prometheus endpoint (prom-client default metrics). */
async function agentHeap(dashboard: string): Promise<string | undefined> {
  const res = await fetch(`${dashboard}/metrics`, { signal: AbortSignal.timeout(2_000) }).catch(
    () => undefined,
  );
  if (!res?.ok) return undefined;
  const text = await res.text();
  const value = (name: string) => {
    const m = new RegExp(`^wattfleet_agent_${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text);
    return m ? `${(Number(m[1]) / 2 ** 20).toFixed(1)}` : '?';
  };
  return (
    `heap used ${value('nodejs_heap_size_used_bytes')} of ${value('nodejs_heap_size_total_bytes')} MB, ` +
    `external ${value('nodejs_external_memory_bytes')} MB`
  );
}

export async function main(args: string[]): Promise<void> {
  const seconds = Number(args[0] ?? 180);
  if (!(seconds >= 20)) throw new Error('duration must be at least 20 s');
  const dir = mkdtempSync(join(tmpdir(), 'wf-bench-agent-rss-'));
  const [mqttPort, dashboardPort] = [await freePort(), await freePort()];
  const hub = new HubProcess({
    WATTFLEET_DATA_DIR: join(dir, 'hub'),
    PORT: '0',
    HOST: '127.0.0.1',
    MQTT_PORT: String(mqttPort),
    WATTFLEET_ADMIN_TOKEN: BENCH_TOKEN,
    LOG_LEVEL: 'warn',
    WATTFLEET_DEMO: '0',
  });
  let agent: ChildProcess | undefined;
  let baseline: ChildProcess | undefined;
  const interrupted = () => {
    agent?.kill('SIGKILL');
    baseline?.kill('SIGKILL');
    hub.child?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    process.exit(130);
  };
  process.once('SIGINT', interrupted);
  try {
    await hub.start();
    const code = await (await benchSite(hub))();
    const configPath = join(dir, 'agent.yaml');
    // What an installer writes (deploy/agent/agent.example.yaml), with every path in the temp dir.
    writeFileSync(
      configPath,
      `version: 2
hub: { url: "${hub.url}", transport: http, mqttUrl: "mqtt://127.0.0.1:${mqttPort}" }
identity: { path: ${join(dir, 'identity.json')} }
site: { lat: 52.52, lon: 13.40, timezone: Europe/Berlin }
sources:
  - { type: simulator, key: demo, seed: bench-site }
poll: { intervalS: 1 }
outbox: { path: ${join(dir, 'outbox.db')} }
uplink: { batchMaxSamples: 500, batchMaxAgeMs: 1000, liveIntervalS: 5 }
dashboard: { port: ${dashboardPort}, host: 127.0.0.1 }
logging: { level: info, file: ${join(dir, 'agent.log')} }
`,
    );
    // Built as install.sh and SELF_UPDATE build it, then started as the unit starts it.
    await promisify(execFile)(process.execPath, [BUILD]);
    const unit = localAgentCommand();
    const [node, ...nodeArgs] = unit.argv;
    // Only the unit's NODE_OPTIONS (if any) count, not whatever this shell has.
    const { NODE_OPTIONS: _ours, ...inherited } = process.env;
    const env = { ...inherited, ...unit.env, WATTFLEET_CONFIG: configPath };
    console.log(`agent: ${unit.argv.join(' ').replaceAll(REPO_ROOT, '')} (env ${JSON.stringify(unit.env)})`);
    const [bundle] = nodeArgs.filter((a) => a.endsWith('.mjs'));
    await promisify(execFile)(
      node!,
      [bundle!, 'enroll', '--hub', hub.url, '--code', code, '--config', configPath],
      {
        env,
      },
    );

    agent = spawn(node!, [...nodeArgs, '--config', configPath], { env, cwd: REPO_ROOT, stdio: 'ignore' });
    const dashboard = `http://127.0.0.1:${dashboardPort}`;
    const readyBy = Date.now() + 60_000;
    while (!(await agentStatus(dashboard))?.node) {
      if (agent.exitCode !== null) throw new Error(`agent exited (${agent.exitCode}) during start`);
      if (Date.now() > readyBy) throw new Error('agent dashboard did not answer within 60 s');
      await sleep(250);
    }
    baseline = spawn(process.execPath, ['-e', 'setInterval(()=>{},1000)'], { stdio: 'ignore' });

    const samples: { t: number; ours: number; base: number }[] = [];
    const cpuAtStart = cpuSeconds(agent.pid!);
    const started = performance.now();
    let last: { ours: Record<string, number>; base: Record<string, number> } | undefined;
    for (let i = 0; (i * SAMPLE_MS) / 1000 <= seconds; i++) {
      await sleep(Math.max(0, started + i * SAMPLE_MS - performance.now()));
      const ours = procStatus(agent.pid!);
      const base = procStatus(baseline.pid!);
      if (!ours) throw new Error(`agent exited (${agent.exitCode ?? agent.signalCode}) during the run`);
      if (!base) throw new Error('baseline process exited during the run');
      samples.push({ t: (performance.now() - started) / 1000, ours: ours.VmRSS!, base: base.VmRSS! });
      last = { ours, base };
    }
    // The agent must have done its job meanwhile, or the figure means nothing.
    const status = await agentStatus(dashboard);
    if (!status?.outbox?.acked) throw new Error(`agent uploaded nothing: ${JSON.stringify(status)}`);
    if (!status.controlConnected) console.warn('warning: agent control channel (MQTT) not connected');
    const heap = await agentHeap(dashboard);
    const cpu = (cpuSeconds(agent.pid!) - cpuAtStart) / ((performance.now() - started) / 1000);

    const second = samples.filter((s) => s.t >= seconds / 2);
    const mb = (kb: number) => kb / 1024;
    const ours = median(second.map((s) => mb(s.ours)));
    const base = median(second.map((s) => mb(s.base)));
    const growth = slope(second.map((s) => ({ x: s.t / 3600, y: mb(s.ours) })));
    const fmt = (r: Record<string, number>) =>
      `anon ${mb(r.RssAnon ?? 0).toFixed(1)} file ${mb(r.RssFile ?? 0).toFixed(1)} ` +
      `shmem ${mb(r.RssShmem ?? 0).toFixed(1)} peak ${mb(r.VmHWM ?? 0).toFixed(1)} MB`;
    console.log(`samples: ${samples.length} every ${SAMPLE_MS / 1000} s over ${seconds} s`);
    console.log(
      `agent rss MB: first ${mb(samples[0]!.ours).toFixed(1)}, last ${mb(samples.at(-1)!.ours).toFixed(1)}, ` +
        `min ${mb(Math.min(...samples.map((s) => s.ours))).toFixed(1)}, max ${mb(Math.max(...samples.map((s) => s.ours))).toFixed(1)}`,
    );
    console.log(`agent at end: ${fmt(last!.ours)}; baseline: ${fmt(last!.base)}`);
    if (heap) console.log(`agent V8 (its /metrics): ${heap}`);
    console.log(
      `agent work: ${status.outbox.acked} readings acknowledged by the hub, control channel ${status.controlConnected ? 'up' : 'down'}, ` +
        `agent CPU ${(cpu * 100).toFixed(2)} % of one core`,
    );
    console.log(
      `agent-rss: ratio=${(ours / base).toFixed(2)} ours_mb=${ours.toFixed(1)} baseline_mb=${base.toFixed(1)} growth_mb_per_h=${growth.toFixed(1)}`,
    );
  } finally {
    process.off('SIGINT', interrupted);
    await stopChild(agent);
    await stopChild(baseline);
    await hub.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}
