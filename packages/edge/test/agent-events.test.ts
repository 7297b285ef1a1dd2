// The real agent bundle (started as systemd starts it) against the real hub (PGlite, embedded
// broker), feeding the hub's alert rules and reconciliation with nothing but what the agent itself
// sends — no event posted by the test, no SQL writes (the hub's tables are only read, to check):
//   - a Modbus stand-in stops answering → equipment_unreachable opens; it answers again → resolved
//   - SIGKILL / SIGTERM → the next start says why (crash / stopped)
//   - SELF_UPDATE to a tag that does not build → update_failed opens
//   (clock skew and the daily report: agent-events-clock.test.ts)
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { EVENT_KINDS } from '@wattfleet/protocol';
import { run } from '../src/ops/exec.ts';
import { type StandIn, startStandIn } from '../src/sources/modbus/standin.ts';
import { loadTemplate } from '../src/sources/modbus/template.ts';
import { simulatedDevice } from '../src/sources/simulator/device.ts';
import {
  agent,
  alertIn,
  ctx,
  dir,
  events,
  localStatus,
  samples,
  TEMPLATES,
  TZ,
  until,
  useAgentHub,
} from './helpers/agent-hub.ts';
import { killAgent } from './helpers/agent-process.ts';
import { TEMPLATES_DIR } from './sources/fixtures.ts';

useAgentHub();

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
      () => `hub: { url: "${ctx.hubUrl}", mqttUrl: "${ctx.brokerUrl}" }
sources:
  - { type: modbus-tcp, key: inverter, host: 127.0.0.1, port: ${port}, templates: [${TEMPLATES.join(', ')}], timeoutMs: 1000 }
poll: { intervalS: 0.5 }
health: { unreachableAfter: 3 }
`,
    );
    try {
      let child = a.start();
      await until('samples from the stand-in', async () => (await samples(a.nodeId)) > 0, a.log);
      const node = await ctx.hub.admin('GET', `/api/v1/nodes/${a.nodeId}`);
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
      const reach: string[] = [EVENT_KINDS.equipmentReachable, EVENT_KINDS.equipmentUnreachable];
      const said = (await events(a.nodeId)).map((e) => e.kind).filter((k) => reach.includes(k));
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
      (d) => `hub: { url: "${ctx.hubUrl}", mqttUrl: "${ctx.brokerUrl}" }
sources: [{ type: simulator, key: sim, seed: update }]
poll: { intervalS: 1 }
update: { repo: "file://${bare}", releasesDir: ${join(d, 'opt')} }
`,
    );
    const child = a.start();
    await until(
      'node online over MQTT',
      async () => (await ctx.hub.admin('GET', `/api/v1/nodes/${a.nodeId}`)).json().status === 'online',
      a.log,
    );
    const cmd = await ctx.hub.admin('POST', `/api/v1/nodes/${a.nodeId}/commands`, {
      type: 'SELF_UPDATE',
      args: { tag: 'v9.9.9-broken' },
    });
    assert.equal(cmd.statusCode, 201, cmd.body);
    const done = await until(
      'the command finished',
      async () => {
        const c = (await ctx.hub.admin('GET', `/api/v1/nodes/${a.nodeId}/commands/${cmd.json().id}`)).json();
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
});
