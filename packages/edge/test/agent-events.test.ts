// The real agent bundle (started as systemd starts it) against the real hub (PGlite, embedded
// broker), feeding the hub's alert rules and reconciliation with nothing but what the agent itself
// sends — no event posted by the test, no SQL writes (the hub's tables are only read, to check):
//   - a Modbus stand-in stops answering → equipment_unreachable opens; it answers again → resolved
//   - SIGKILL / SIGTERM → the next start says why (crash / stopped)
//   - SELF_UPDATE to a tag that does not build → update_failed opens
//   - the agent's clock 10 min behind → refused, clock_skew opens, the agent shows its offset;
//     clock fixed → backlog delivered, alert resolved
//   - the agent's clock pinned just before a local midnight (WATTFLEET_CLOCK_OFFSET_MS), over
//     MQTT → the device daily report arrives and reconciliation compares it with the hub's figure
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { EVENT_KINDS } from '@wattfleet/protocol';
import { sql } from 'kysely';
import { startControlPlane } from '../../hub/src/mqtt/control-plane.ts';
import { createSite, startTestHub, type TestHub } from '../../hub/test/helpers/hub.ts';
import { run } from '../src/ops/exec.ts';
import { type StandIn, startStandIn } from '../src/sources/modbus/standin.ts';
import { loadTemplate } from '../src/sources/modbus/template.ts';
import { simulatedDevice } from '../src/sources/simulator/device.ts';
import { localDate, localDayStart } from '../src/time/zone.ts';
import { buildBundle, bundleCli, killAgent, startAgent } from './helpers/agent-process.ts';
import { TEMPLATES_DIR } from './sources/fixtures.ts';

const dir = mkdtempSync(join(tmpdir(), 'wf-agent-events-'));
const TZ = 'Europe/Berlin';
const TEMPLATES = ['sunspec-common', 'sunspec-inverter-103'];

let hub: TestHub;
let hubUrl: string;
let brokerUrl: string;
const running = new Set<ChildProcess>();

async function until<T>(
  what: string,
  get: () => Promise<T | undefined | false> | T | undefined | false,
  log?: string,
  timeoutMs = 60_000,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await get();
    if (v) return v;
    if (Date.now() > end) {
      const tail = log ? readFileSync(log, 'utf8').split('\n').slice(-15).join('\n') : '';
      throw new Error(`${what}: not within ${timeoutMs} ms\n${tail}`);
    }
    await sleep(200);
  }
}

interface AgentUnderTest {
  nodeId: string;
  siteId: string;
  configPath: string;
  log: string;
  start(env?: Record<string, string>): ChildProcess;
}

/** A site, an enrollment code, and an agent enrolled with `enroll` (over HTTP, as an installer does). */
async function agent(name: string, body: (d: string) => string): Promise<AgentUnderTest> {
  const d = join(dir, name);
  mkdirSync(d);
  const { siteId } = await createSite(hub, { timezone: TZ, name });
  const code = await hub.admin('POST', `/api/v1/sites/${siteId}/enrollment-codes`, {});
  assert.equal(code.statusCode, 201, code.body);
  const configPath = join(d, 'agent.yaml');
  const log = join(d, 'agent.log');
  writeFileSync(
    configPath,
    `version: 2
identity: { path: ${join(d, 'identity.json')} }
site: { lat: 52.5, lon: 13.4, timezone: ${TZ} }
outbox: { path: ${join(d, 'state.db')} }
dashboard: { port: 0, host: 127.0.0.1 }
logging: { level: info, file: ${log} }
${body(d)}`,
  );
  await bundleCli(configPath, ['enroll', '--hub', hubUrl, '--code', code.json().code]);
  const nodeId = JSON.parse(readFileSync(join(d, 'identity.json'), 'utf8')).nodeId as string;
  return {
    nodeId,
    siteId,
    configPath,
    log,
    start(env = {}) {
      const child = startAgent(configPath, join(d, 'agent.out'), env);
      running.add(child);
      child.on('exit', () => running.delete(child));
      return child;
    },
  };
}

const alerts = async (siteId: string, rule: string) => {
  const res = await hub.admin('GET', `/api/v1/alerts?siteId=${siteId}&rule=${rule}`);
  assert.equal(res.statusCode, 200, res.body);
  return res.json() as { state: string; target_id: string; message: string }[];
};
const alertIn = (siteId: string, rule: string, state: 'open' | 'resolved') => async () => {
  const list = await alerts(siteId, rule);
  return list.length > 0 && list.every((a) => a.state === state) && list;
};
/** What the hub stored from the node: read only. */
const events = async (nodeId: string, kind?: string) =>
  (
    await sql<{
      kind: string;
      severity: string;
      equipment: string | null;
      data: Record<string, unknown> | null;
    }>`
      SELECT kind, severity, equipment, data FROM node_events
      WHERE node_id = ${nodeId} ${kind ? sql`AND kind = ${kind}` : sql``} ORDER BY ts, id`.execute(
      hub.tdb.database.db,
    )
  ).rows.map((e) => ({ ...e, data: typeof e.data === 'string' ? JSON.parse(e.data) : e.data }));
const samples = async (nodeId: string) =>
  (
    await sql<{ n: number }>`SELECT count(*)::int AS n FROM samples s JOIN series r ON r.id = s.series_id
      WHERE r.node_id = ${nodeId}`.execute(hub.tdb.database.db)
  ).rows[0]!.n;
/** The local dashboard's status, at the URL the agent logged. */
// biome-ignore lint/suspicious/noExplicitAny: the status page is read loosely; the asserts check it.
async function localStatus(log: string): Promise<Record<string, any>> {
  const line = readFileSync(log, 'utf8')
    .split('\n')
    .filter((l) => l.includes('"agent running"'))
    .at(-1);
  const url = JSON.parse(line!).url as string;
  // biome-ignore lint/suspicious/noExplicitAny: as above.
  return (await fetch(new URL('/api/status', url))).json() as Promise<Record<string, any>>;
}

before(async () => {
  await buildBundle();
  hub = await startTestHub('pglite', { mqttPort: 0 });
  const cp = await startControlPlane(hub.app);
  brokerUrl = cp.brokerUrl!;
  hubUrl = await hub.app.listen({ port: 0, host: '127.0.0.1' });
});

after(async () => {
  for (const child of running) await killAgent(child);
  await hub?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('the real agent feeds the hub its events', () => {
  it('equipment_unreachable opens when a Modbus device stops answering and resolves when it is back; restarts say why', async () => {
    const device = simulatedDevice(
      { key: 'sim', seed: 'events', pv: { peakW: 6000 } },
      {
        latitude: 52.5,
        longitude: 13.4,
        timezone: TZ,
      },
    );
    const templates = await Promise.all(TEMPLATES.map((n) => loadTemplate(TEMPLATES_DIR, n)));
    const serve = (port?: number) =>
      startStandIn({ templates, values: (now) => device.values(now), ...(port ? { port } : {}) });
    let standIn: StandIn = await serve();
    const port = standIn.port;
    const a = await agent(
      'modbus',
      () => `hub: { url: "${hubUrl}", mqttUrl: "${brokerUrl}" }
sources:
  - { type: modbus-tcp, key: inverter, host: 127.0.0.1, port: ${port}, templates: [${TEMPLATES.join(', ')}], timeoutMs: 1000 }
poll: { intervalS: 0.5 }
health: { unreachableAfter: 3 }
`,
    );
    try {
      let child = a.start();
      await until('samples from the stand-in', async () => (await samples(a.nodeId)) > 0, a.log);
      const node = await hub.admin('GET', `/api/v1/nodes/${a.nodeId}`);
      assert.equal(node.json().sample_interval_s, 0.5, 'the agent reported its poll interval');

      await standIn.close();
      const open = await until(
        'equipment_unreachable open',
        alertIn(a.siteId, 'equipment_unreachable', 'open'),
        a.log,
      );
      assert.deepEqual(
        open.map((x) => x.target_id),
        [`${a.nodeId}/inverter`],
      );
      const [down] = await events(a.nodeId, EVENT_KINDS.equipmentUnreachable);
      assert.equal(down!.equipment, 'inverter');
      assert.equal(down!.data!.failures, 3);
      assert.match(String(down!.data!.error), /ECONNREFUSED|connect|closed|answer/i);

      standIn = await serve(port);
      await until(
        'equipment_unreachable resolved',
        alertIn(a.siteId, 'equipment_unreachable', 'resolved'),
        a.log,
      );
      // Said when it changed, not per failed read (a loaded machine may time a read out and flap
      // once more; the kinds still alternate and the last word is "reachable").
      const said = (await events(a.nodeId)).map((e) => e.kind).filter((k) => k.startsWith('equipment.'));
      assert.ok(
        said.every(
          (k, i) => k === (i % 2 ? EVENT_KINDS.equipmentReachable : EVENT_KINDS.equipmentUnreachable),
        ),
        said.join(', '),
      );
      assert.equal(said.at(-1), EVENT_KINDS.equipmentReachable);
      const errors = (await localStatus(a.log)).sources[0].errors as number;
      assert.ok(
        errors >= 3 * (said.length / 2),
        `${errors} failed reads, ${said.length / 2} unreachable events`,
      );

      // Restarts: a SIGKILL is a crash, a SIGTERM a clean stop; the next process says which.
      await killAgent(child, 'SIGKILL');
      child = a.start();
      const crash = await until(
        'restart after SIGKILL reported',
        async () => (await events(a.nodeId, EVENT_KINDS.agentRestarted))[0],
        a.log,
      );
      assert.equal(crash.data!.reason, 'crash');
      assert.equal(crash.severity, 'error');
      await until(
        'the restarted agent reads',
        async () => (await localStatus(a.log).catch(() => undefined))?.sources?.[0]?.lastOkAt,
        a.log,
      );
      await killAgent(child, 'SIGTERM');
      child = a.start();
      const stopped = await until(
        'restart after SIGTERM reported',
        async () => (await events(a.nodeId, EVENT_KINDS.agentRestarted))[1],
        a.log,
      );
      assert.equal(stopped.data!.reason, 'stopped');
      await killAgent(child, 'SIGTERM');
    } finally {
      await standIn.close().catch(() => {});
    }
  });

  it('a SELF_UPDATE to a tag that does not build opens update_failed', async () => {
    const work = join(dir, 'repo');
    const bare = join(dir, 'agent.git');
    mkdirSync(work);
    const git = async (args: string[], cwd = work) => {
      const r = await run('git', ['-c', 'user.name=test', '-c', 'user.email=test@example.org', ...args], {
        cwd,
      });
      assert.equal(r.code, 0, r.stderr);
    };
    await git(['init', '-q', '-b', 'main']);
    // A release without the agent's build script: `node packages/edge/scripts/build.mjs` fails in it.
    writeFileSync(join(work, 'package.json'), JSON.stringify({ name: 'agent', version: '9.9.9' }));
    writeFileSync(
      join(work, 'package-lock.json'),
      JSON.stringify({
        name: 'agent',
        version: '9.9.9',
        lockfileVersion: 3,
        requires: true,
        packages: { '': { name: 'agent', version: '9.9.9' } },
      }),
    );
    await git(['add', '-A']);
    await git(['commit', '-q', '-m', 'broken']);
    await git(['tag', 'v9.9.9-broken']);
    await git(['clone', '-q', '--bare', work, bare], dir);

    const a = await agent(
      'update',
      (d) => `hub: { url: "${hubUrl}", mqttUrl: "${brokerUrl}" }
sources: [{ type: simulator, key: sim, seed: update }]
poll: { intervalS: 1 }
update: { repo: "file://${bare}", releasesDir: ${join(d, 'opt')} }
`,
    );
    const child = a.start();
    await until(
      'node online over MQTT',
      async () => (await hub.admin('GET', `/api/v1/nodes/${a.nodeId}`)).json().status === 'online',
      a.log,
    );
    const cmd = await hub.admin('POST', `/api/v1/nodes/${a.nodeId}/commands`, {
      type: 'SELF_UPDATE',
      args: { tag: 'v9.9.9-broken' },
    });
    assert.equal(cmd.statusCode, 201, cmd.body);
    const done = await until(
      'the command finished',
      async () => {
        const c = (await hub.admin('GET', `/api/v1/nodes/${a.nodeId}/commands/${cmd.json().id}`)).json();
        return ['succeeded', 'failed'].includes(c.state) && c;
      },
      a.log,
      180_000,
    );
    assert.equal(done.state, 'failed', JSON.stringify(done));
    const open = await until('update_failed open', alertIn(a.siteId, 'update_failed', 'open'), a.log);
    assert.match(open[0]!.message, /v9\.9\.9-broken/);
    const kinds = (await events(a.nodeId)).map((e) => e.kind);
    assert.deepEqual(
      kinds.filter((k) => k.startsWith('update.')),
      [EVENT_KINDS.updateStarted, EVENT_KINDS.updateFailed],
    );
    const [failed] = await events(a.nodeId, EVENT_KINDS.updateFailed);
    assert.equal(failed!.data!.to, 'v9.9.9-broken');
    assert.equal(failed!.data!.code, 'BUILD_FAILED');
    assert.ok(failed!.data!.from, 'says what it was updating from');
    await killAgent(child, 'SIGTERM');
  });

  it('a clock 10 min behind is refused, raises clock_skew and shows on the agent; fixed, the backlog arrives', async () => {
    const a = await agent(
      'skew',
      () => `hub: { url: "${hubUrl}" }
sources: [{ type: simulator, key: sim, seed: skew }]
poll: { intervalS: 1 }
`,
    );
    let child = a.start({ WATTFLEET_CLOCK_OFFSET_MS: String(-10 * 60_000) });
    const open = await until('clock_skew open', alertIn(a.siteId, 'clock_skew', 'open'), a.log);
    assert.match(open[0]!.message, /-60\d s off/);
    const local = await until(
      'the agent knows its offset',
      async () => {
        const s = await localStatus(a.log).catch(() => undefined);
        return typeof s?.clock?.offsetMs === 'number' && s;
      },
      a.log,
    );
    assert.ok(
      Math.abs(local.clock.offsetMs + 600_000) < 5_000,
      `offset on the local status: ${local.clock.offsetMs}`,
    );
    assert.equal(local.clock.synchronised, false);
    assert.ok(local.outbox.depth > 0, 'readings kept on the node');
    assert.match(readFileSync(a.log, 'utf8'), /clock is -60\d s off the hub's/);
    assert.equal(await samples(a.nodeId), 0, 'nothing accepted from a clock outside the window');

    await killAgent(child, 'SIGTERM');
    child = a.start();
    await until('clock_skew resolved', alertIn(a.siteId, 'clock_skew', 'resolved'), a.log);
    await until(
      'the backlog delivered',
      async () => (await localStatus(a.log).catch(() => undefined))?.outbox?.depth === 0,
      a.log,
    );
    assert.ok((await samples(a.nodeId)) >= local.outbox.depth);
    const clockEvents = await until(
      'both clock events delivered',
      async () => {
        const kinds = (await events(a.nodeId)).map((e) => e.kind).filter((k) => k.startsWith('clock.'));
        return kinds.length >= 2 && kinds;
      },
      a.log,
    );
    assert.deepEqual(clockEvents, [EVENT_KINDS.clockUnsynchronised, EVENT_KINDS.clockSynchronised]);
    await killAgent(child, 'SIGTERM');
  });

  it('sends one daily report at local midnight over MQTT, and reconciliation compares it with the hub figure', async () => {
    const a = await agent(
      'daily',
      () => `hub: { url: "${hubUrl}", mqttUrl: "${brokerUrl}", transport: mqtt }
sources: [{ type: simulator, key: sim, seed: daily }]
poll: { intervalS: 0.25 }
`,
    );
    // The agent's clock starts 20 s before the last local midnight at the site, whatever the time
    // of day the test runs at: the day it finishes is in the past for the hub (no clock limit).
    const now = Date.now();
    const midnight = localDayStart(TZ, localDate(TZ, now));
    const day = localDate(TZ, midnight - 1);
    const child = a.start({ WATTFLEET_CLOCK_OFFSET_MS: String(midnight - 20_000 - now) });
    const rows = await until(
      'reconciliation of the reported day',
      async () => {
        const res = await hub.admin('GET', `/api/v1/sites/${a.siteId}/reconciliation?from=${day}&to=${day}`);
        assert.equal(res.statusCode, 200, res.body);
        const list = (
          res.json() as {
            nodeId: string;
            metric: string;
            reportedWh: number;
            computedWh: number;
            diffPct: number;
            flagged: boolean;
          }[]
        ).filter((r) => r.nodeId === a.nodeId);
        return list.some((r) => r.metric === 'load_kwh') && list;
      },
      a.log,
      90_000,
    );
    const load = rows.find((r) => r.metric === 'load_kwh')!;
    assert.ok(load.reportedWh > 0, `the agent counted some load before midnight: ${load.reportedWh} Wh`);
    for (const r of rows) {
      assert.equal(
        r.flagged,
        false,
        `${r.metric}: device ${r.reportedWh} Wh vs hub ${r.computedWh} Wh (${r.diffPct} %)`,
      );
    }
    assert.ok(hub.app.controlPlane.stats.daily.handled >= 1, 'the report came over MQTT');
    const local = await localStatus(a.log);
    assert.equal(local.reports.lastDailyReport, day);
    await killAgent(child, 'SIGTERM');
  });
});
