// B5: resident memory of the real edge agent over a few minutes, against a bare node process
// (`node -e "setInterval(()=>{},1000)"`) measured in the same run. The agent runs exactly as
// systemd runs it: the bundle built by packages/edge/scripts/build.mjs, started with the node
// flags and Environment= lines of deploy/agent/wattfleet-agent.service (read from the file).
// It is enrolled with a real hub (its own process, PGlite in a temp dir, embedded MQTT broker):
// simulator polled every second, signed HTTP uploads, MQTT control channel with heartbeats and
// live snapshots, local dashboard. Goal (issue #5): ratio <= 1.5, no growth.
//
// Then a second agent (issue #17) runs with four sources at once, each against the stand-in its
// own tests use, started here on loopback: OPC UA (a node-opcua server), Modbus RTU (an RTU bus
// stand-in behind a socat pseudo-terminal), a Shelly Gen2 plug and a Tasmota plug (stand-ins
// publishing their documented payloads through a Mosquitto of their own). The samples the hub
// stored from each source are counted (the run fails if one delivered nothing): an agent that
// read nothing would measure nothing. Same goal: four_sources_ratio <= 1.5, no growth.
//
// `npm run bench -- agent-rss [seconds] [four-sources seconds]` (defaults 180 and 300; the second
// also from AGENT_RSS_FOUR_SOURCES_S, 0 skips it). RSS is VmRSS from /proc/<pid>/status.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { sql } from 'kysely';
import mqtt from 'mqtt';
import { startRtuStandIn } from '../packages/edge/src/sources/modbus/rtu-standin.ts';
import { BUILTIN_TEMPLATES_DIR } from '../packages/edge/src/sources/modbus/source.ts';
import { loadTemplate } from '../packages/edge/src/sources/modbus/template.ts';
import { simulatedDevice } from '../packages/edge/src/sources/simulator/device.ts';
import {
  startShellyStandIn,
  startTasmotaStandIn,
} from '../packages/edge/test/sources/mqtt-device-standins.ts';
import { startTestServer } from '../packages/edge/test/sources/opcua-server.ts';
import { startSerialBridge } from '../packages/edge/test/sources/serial-bridge.ts';
import { openDatabase } from '../packages/hub/src/storage/database.ts';
import { HubProcess } from '../packages/hub/test/helpers/hub-process.ts';
import { localAgentCommand, REPO_ROOT } from './_agent-unit.ts';
import { BENCH_TOKEN, benchSite } from './_fleet.ts';
import { startBenchMosquitto } from './_mqtt.ts';

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

/** One agent's run: RSS of it and of the baseline every SAMPLE_MS, and what it did meanwhile. */
interface Phase {
  nodeId: string;
  samples: { t: number; ours: number; base: number }[];
  last: { ours: Record<string, number>; base: Record<string, number> };
  status: AgentStatus;
  heap: string | undefined;
  cpu: number;
  seconds: number;
}

const running = new Set<ChildProcess>();

/**
 * Enrolls an agent with `sources` (YAML lines under `sources:`) in its own directory, starts it
 * as the unit does, samples its RSS and the baseline's for `seconds`, and leaves it running (the
 * caller stops it once it has checked what it delivered).
 */
async function runAgent(o: {
  name: string;
  dir: string;
  hub: HubProcess;
  mqttPort: number;
  code: string;
  sources: string;
  seconds: number;
  baseline: () => ChildProcess;
  /** Called every sample (the stand-ins change their values meanwhile). */
  tick?: () => Promise<void>;
}): Promise<{ phase: Phase; agent: ChildProcess; dashboard: string }> {
  const dir = join(o.dir, o.name);
  mkdirSync(dir);
  const dashboardPort = await freePort();
  const configPath = join(dir, 'agent.yaml');
  // What an installer writes (deploy/agent/agent.example.yaml), with every path in the temp dir.
  writeFileSync(
    configPath,
    `version: 2
hub: { url: "${o.hub.url}", transport: http, mqttUrl: "mqtt://127.0.0.1:${o.mqttPort}" }
identity: { path: ${join(dir, 'identity.json')} }
site: { lat: 52.52, lon: 13.40, timezone: Europe/Berlin }
sources:
${o.sources}
poll: { intervalS: 1 }
outbox: { path: ${join(dir, 'outbox.db')} }
uplink: { batchMaxSamples: 500, batchMaxAgeMs: 1000, liveIntervalS: 5 }
dashboard: { port: ${dashboardPort}, host: 127.0.0.1 }
logging: { level: info, file: ${join(dir, 'agent.log')} }
`,
  );
  const unit = localAgentCommand();
  const [node, ...nodeArgs] = unit.argv;
  // Only the unit's NODE_OPTIONS (if any) count, not whatever this shell has.
  const { NODE_OPTIONS: _ours, ...inherited } = process.env;
  const env = { ...inherited, ...unit.env, WATTFLEET_CONFIG: configPath };
  console.log(
    `${o.name}: ${unit.argv.join(' ').replaceAll(REPO_ROOT, '')} (env ${JSON.stringify(unit.env)})`,
  );
  const [bundle] = nodeArgs.filter((a) => a.endsWith('.mjs'));
  await promisify(execFile)(
    node!,
    [bundle!, 'enroll', '--hub', o.hub.url, '--code', o.code, '--config', configPath],
    {
      env,
    },
  );
  const nodeId = JSON.parse(readFileSync(join(dir, 'identity.json'), 'utf8')).nodeId as string;

  const agent = spawn(node!, [...nodeArgs, '--config', configPath], { env, cwd: REPO_ROOT, stdio: 'ignore' });
  running.add(agent);
  agent.once('exit', () => running.delete(agent));
  const dashboard = `http://127.0.0.1:${dashboardPort}`;
  const readyBy = Date.now() + 60_000;
  while (!(await agentStatus(dashboard))?.node) {
    if (agent.exitCode !== null) throw new Error(`agent exited (${agent.exitCode}) during start`);
    if (Date.now() > readyBy) throw new Error('agent dashboard did not answer within 60 s');
    await sleep(250);
  }
  const baseline = o.baseline();

  const samples: Phase['samples'] = [];
  const cpuAtStart = cpuSeconds(agent.pid!);
  const started = performance.now();
  let last: Phase['last'] | undefined;
  for (let i = 0; (i * SAMPLE_MS) / 1000 <= o.seconds; i++) {
    await sleep(Math.max(0, started + i * SAMPLE_MS - performance.now()));
    const ours = procStatus(agent.pid!);
    const base = procStatus(baseline.pid!);
    if (!ours) throw new Error(`agent exited (${agent.exitCode ?? agent.signalCode}) during the run`);
    if (!base) throw new Error('baseline process exited during the run');
    samples.push({ t: (performance.now() - started) / 1000, ours: ours.VmRSS!, base: base.VmRSS! });
    last = { ours, base };
    await o.tick?.();
  }
  // The agent must have done its job meanwhile, or the figure means nothing.
  const status = await agentStatus(dashboard);
  if (!status?.outbox?.acked) throw new Error(`agent uploaded nothing: ${JSON.stringify(status)}`);
  if (!status.controlConnected) console.warn('warning: agent control channel (MQTT) not connected');
  const heap = await agentHeap(dashboard);
  const cpu = (cpuSeconds(agent.pid!) - cpuAtStart) / ((performance.now() - started) / 1000);
  return { phase: { nodeId, samples, last: last!, status, heap, cpu, seconds: o.seconds }, agent, dashboard };
}

const mb = (kb: number) => kb / 1024;

/** Prints a phase's figures (each line prefixed, the first phase's as they always were). */
function report(p: Phase, prefix = ''): { ratio: number; ours: number; base: number; growth: number } {
  const second = p.samples.filter((s) => s.t >= p.seconds / 2);
  const ours = median(second.map((s) => mb(s.ours)));
  const base = median(second.map((s) => mb(s.base)));
  const growth = slope(second.map((s) => ({ x: s.t / 3600, y: mb(s.ours) })));
  const fmt = (r: Record<string, number>) =>
    `anon ${mb(r.RssAnon ?? 0).toFixed(1)} file ${mb(r.RssFile ?? 0).toFixed(1)} ` +
    `shmem ${mb(r.RssShmem ?? 0).toFixed(1)} peak ${mb(r.VmHWM ?? 0).toFixed(1)} MB`;
  const all = p.samples.map((s) => s.ours);
  console.log(`${prefix}samples: ${p.samples.length} every ${SAMPLE_MS / 1000} s over ${p.seconds} s`);
  console.log(
    `${prefix}agent rss MB: first ${mb(all[0]!).toFixed(1)}, last ${mb(all.at(-1)!).toFixed(1)}, ` +
      `min ${mb(Math.min(...all)).toFixed(1)}, max ${mb(Math.max(...all)).toFixed(1)}`,
  );
  console.log(`${prefix}agent at end: ${fmt(p.last.ours)}; baseline: ${fmt(p.last.base)}`);
  if (p.heap) console.log(`${prefix}agent V8 (its /metrics): ${p.heap}`);
  console.log(
    `${prefix}agent work: ${p.status.outbox!.acked} readings acknowledged by the hub, control channel ${p.status.controlConnected ? 'up' : 'down'}, ` +
      `agent CPU ${(p.cpu * 100).toFixed(2)} % of one core`,
  );
  return { ratio: ours / base, ours, base, growth };
}

/** The hub's equipment list (GET /sites/{siteId}/equipment) for one node's equipment. */
async function hubEquipment(hub: HubProcess, nodeId: string) {
  const get = async <T>(path: string) => {
    const r = await fetch(`${hub.url}/api/v1${path}`, {
      headers: { authorization: `Bearer ${BENCH_TOKEN}` },
    });
    if (!r.ok) throw new Error(`${path}: ${r.status} ${await r.text()}`);
    return (await r.json()) as T;
  };
  const node = await get<{ site_id: string }>(`/nodes/${nodeId}`);
  const list = await get<{ equipment: { nodeId: string; key: string; state: string; reason: string }[] }>(
    `/sites/${node.site_id}/equipment`,
  );
  return list.equipment.filter((e) => e.nodeId === nodeId);
}

/**
 * The four sources' devices on loopback, each the stand-in its own tests use: a node-opcua server
 * (OPC UA meter), an RTU bus stand-in behind a socat pseudo-terminal (SunSpec inverter at unit 1),
 * and a Shelly Gen2 plug and a Tasmota plug publishing their documented payloads through a LAN
 * broker (a Mosquitto of their own, with a password, as a site's broker has).
 */
async function startFourDevices(dir: string) {
  const LAN = { username: 'lan', password: 'lan-bench-secret' };
  const started: { close(): Promise<unknown> }[] = [];
  const close = async () => {
    for (const d of started.reverse()) await d.close().catch(() => {});
  };
  try {
    const opcua = await startTestServer({ pkiDir: join(dir, 'opcua-server') });
    started.push({ close: () => opcua.stop() });
    const device = simulatedDevice(
      { key: 'sim', seed: 'bench-rtu', pv: { peakW: 6000 } },
      { latitude: 52.52, longitude: 13.4, timezone: 'Europe/Berlin' },
    );
    const rtuTemplates = await Promise.all(RTU_TEMPLATES.map((n) => loadTemplate(BUILTIN_TEMPLATES_DIR, n)));
    const bus = await startRtuStandIn({
      slaves: [
        {
          unitId: 1,
          templates: rtuTemplates,
          values: (now) => device.values(now),
          identity: { vendor: 'Wattfleet', model: 'Bench RTU 103', serial: 'WF-RTU-0001' },
        },
      ],
    });
    started.push(bus);
    const tty = await startSerialBridge(bus.port);
    started.push(tty);
    const broker = await startBenchMosquitto([LAN], `user ${LAN.username}\ntopic readwrite #\n`);
    started.push({ close: () => broker.stop() });
    const shellyPrefix = 'shellyplusplugs-bench01';
    const tasmotaTopic = 'tasmota_bench01';
    const device0 = { url: broker.url, channels: 1, ...LAN };
    const shelly = await startShellyStandIn({ ...device0, prefix: shellyPrefix });
    started.push(shelly);
    const tasmota = await startTasmotaStandIn({ ...device0, prefix: tasmotaTopic });
    started.push(tasmota);
    const brokerYaml = `broker: { url: "${broker.url}", username: ${LAN.username}, password: ${LAN.password} }`;
    const sources = [
      `  - { type: opcua, key: ${FOUR.opcua}, endpoint: "${opcua.endpoint}", securityMode: None, template: example-meter, samplingIntervalMs: 1000 }`,
      `  - { type: modbus-rtu, key: ${FOUR.rtu}, path: ${tty.path}, baudRate: 19200, unitId: 1, templates: [${RTU_TEMPLATES.join(', ')}], timeoutMs: 1000 }`,
      `  - { type: mqtt-device, key: ${FOUR.shelly}, template: shelly-gen2, prefix: ${shellyPrefix}, ${brokerYaml} }`,
      `  - { type: mqtt-device, key: ${FOUR.tasmota}, template: tasmota, prefix: ${tasmotaTopic}, ${brokerYaml} }`,
    ].join('\n');
    let round = 0;
    /** Every sample: the meter's power moves, and every 10 s (Tasmota's shortest TelePeriod) the plugs report. */
    const tick = async () => {
      round++;
      opcua.values.powerKw = 1.5 + Math.sin(round / 7);
      opcua.values.energyKwh += 0.01;
      if (round % 2 === 0) {
        shelly.setLoad(0, 1800 + (round % 10) * 20);
        tasmota.setLoad(0, 600 + (round % 10) * 10);
        await shelly.report();
        await tasmota.report();
      }
    };
    // The plugs' relays switched on with their documented commands (as the owner's app would),
    // so their meters measure the load the ticks move.
    const app = await mqtt.connectAsync(broker.url, {
      ...LAN,
      clientId: 'bench-owner-app',
      reconnectPeriod: 0,
    });
    await app.publishAsync(
      `${shellyPrefix}/rpc`,
      JSON.stringify({ id: 1, src: 'bench-owner-app', method: 'Switch.Set', params: { id: 0, on: true } }),
      { qos: 1 },
    );
    await app.publishAsync(`cmnd/${tasmotaTopic}/POWER`, 'ON', { qos: 1 });
    await app.endAsync();
    for (let i = 0; !(shelly.output(0) && tasmota.output(0)); i++) {
      if (i > 100) throw new Error('the plug stand-ins did not switch on');
      await sleep(50);
    }
    return { sources, tick, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/** Source keys of the four-sources config. */
const FOUR = { opcua: 'meter', rtu: 'inverter', shelly: 'plug', tasmota: 'socket' } as const;
const RTU_TEMPLATES = ['sunspec-common', 'sunspec-inverter-103'];

/** Samples the hub stored for a node, by equipment key (a channel's `key.channel` counts for `key`). */
async function storedByEquipment(hubDataDir: string, nodeId: string): Promise<Map<string, number>> {
  const database = await openDatabase({ dataDir: hubDataDir });
  try {
    const rows = await sql<{ equipment: string; n: number }>`
      SELECT r.equipment, count(*)::int AS n FROM samples s JOIN series r ON r.id = s.series_id
      WHERE r.node_id = ${nodeId} GROUP BY r.equipment`.execute(database.db);
    const out = new Map<string, number>();
    for (const r of rows.rows) {
      const key = r.equipment.split('.')[0]!;
      out.set(key, (out.get(key) ?? 0) + Number(r.n));
    }
    return out;
  } finally {
    await database.close();
  }
}

export async function main(args: string[]): Promise<void> {
  const seconds = Number(args[0] ?? 180);
  // The four-sources run: second argument or AGENT_RSS_FOUR_SOURCES_S (0 skips it), 5 min by default.
  const fourSeconds = Number(args[1] ?? process.env.AGENT_RSS_FOUR_SOURCES_S ?? 300);
  if (!(seconds >= 20)) throw new Error('duration must be at least 20 s');
  if (!(fourSeconds === 0 || fourSeconds >= 20))
    throw new Error('four-sources duration must be 0 (skip) or at least 20 s');
  const dir = mkdtempSync(join(tmpdir(), 'wf-bench-agent-rss-'));
  const hubDir = join(dir, 'hub');
  const mqttPort = await freePort();
  const hub = new HubProcess({
    WATTFLEET_DATA_DIR: hubDir,
    PORT: '0',
    HOST: '127.0.0.1',
    MQTT_PORT: String(mqttPort),
    WATTFLEET_ADMIN_TOKEN: BENCH_TOKEN,
    LOG_LEVEL: 'warn',
    WATTFLEET_DEMO: '0',
  });
  let baseline: ChildProcess | undefined;
  let devices: Awaited<ReturnType<typeof startFourDevices>> | undefined;
  const interrupted = () => {
    for (const agent of running) agent.kill('SIGKILL');
    baseline?.kill('SIGKILL');
    hub.child?.kill('SIGKILL');
    void devices?.close();
    rmSync(dir, { recursive: true, force: true });
    process.exit(130);
  };
  process.once('SIGINT', interrupted);
  try {
    // A fresh PGlite takes a while on a busy machine (the other sessions' tests share the cores).
    hub.startTimeoutMs = 180_000;
    await hub.start();
    const code = await benchSite(hub);
    // Built as install.sh and SELF_UPDATE build it, then started as the unit starts it.
    await promisify(execFile)(process.execPath, [BUILD]);
    // Spawned once the first agent answers (as it always was), then kept for the second run.
    const base = () => {
      baseline ??= spawn(process.execPath, ['-e', 'setInterval(()=>{},1000)'], { stdio: 'ignore' });
      return baseline;
    };
    const common = { dir, hub, mqttPort, baseline: base };

    const simulator = await runAgent({
      ...common,
      name: 'agent',
      code: await code(),
      sources: '  - { type: simulator, key: demo, seed: bench-site }',
      seconds,
    });
    await stopChild(simulator.agent);
    const first = report(simulator.phase);
    let line = `agent-rss: ratio=${first.ratio.toFixed(2)} ours_mb=${first.ours.toFixed(1)} baseline_mb=${first.base.toFixed(1)} growth_mb_per_h=${first.growth.toFixed(1)}`;

    if (fourSeconds > 0) {
      devices = await startFourDevices(dir);
      console.log(
        `four sources: opcua (${FOUR.opcua}), modbus-rtu over a socat pty (${FOUR.rtu}), shelly-gen2 (${FOUR.shelly}) and tasmota (${FOUR.tasmota}) over a LAN Mosquitto`,
      );
      const four = await runAgent({
        ...common,
        name: 'four-sources',
        code: await code(),
        sources: devices.sources,
        seconds: fourSeconds,
        tick: devices.tick,
      });
      // What the hub's equipment list makes of them while the agent still runs.
      const equipment = await hubEquipment(hub, four.phase.nodeId);
      console.log(
        `four sources: hub equipment list: ${equipment.map((e) => `${e.key} ${e.state} (${e.reason})`).join('; ')}`,
      );
      await stopChild(four.agent);
      const second = report(four.phase, 'four sources: ');
      // Counted where they ended up: the hub's own tables, read once it has stopped.
      await hub.stop();
      const stored = await storedByEquipment(hubDir, four.phase.nodeId);
      const counts = Object.entries(FOUR).map(([type, key]) => ({ type, key, n: stored.get(key) ?? 0 }));
      console.log(
        `four sources: samples stored by the hub: ${counts.map((c) => `${c.type} (${c.key}) ${c.n}`).join(', ')}`,
      );
      const missing = counts.filter((c) => c.n === 0);
      if (missing.length > 0)
        throw new Error(`no samples reached the hub from: ${missing.map((c) => c.type).join(', ')}`);
      line +=
        ` four_sources_ratio=${second.ratio.toFixed(2)} four_sources_rss_mb=${second.ours.toFixed(1)}` +
        ` four_sources_baseline_mb=${second.base.toFixed(1)} four_sources_growth_mb_per_h=${second.growth.toFixed(1)}` +
        ` four_sources_min_samples=${Math.min(...counts.map((c) => c.n))}`;
    }
    console.log(line);
  } finally {
    process.off('SIGINT', interrupted);
    for (const agent of [...running]) await stopChild(agent);
    await stopChild(baseline);
    await devices?.close();
    await hub.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}
