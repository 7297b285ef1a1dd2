import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { generateNodeKeyPair, privateKeyFromPem } from '@wattfleet/protocol';
import type { AgentConfig } from '../src/config/schema.ts';
import { configPushHandler } from '../src/control/handlers/config-push.ts';
import { diagnosticsHandler } from '../src/control/handlers/diagnostics.ts';
import { fetchLogsHandler } from '../src/control/handlers/fetch-logs.ts';
import { relaySetHandler } from '../src/control/handlers/relay-set.ts';
import { restartHandler, restartResumer } from '../src/control/handlers/restart.ts';
import { FileLogSource } from '../src/ops/logs.ts';
import { StandInSupervisor } from '../src/ops/supervisor.ts';
import type { RelayState, Source } from '../src/sources/types.ts';
import { dir, envelope, harness } from './helpers/dispatch-harness.ts';
import { startHubStandIn } from './hub-standin.ts';

class TestRelay implements Source {
  readonly type = 'test-relay';
  state: RelayState = 'off';
  stuck = false;
  constructor(readonly key: string) {}
  info() {
    return { key: this.key, kind: 'relay' as const };
  }
  async read(now: number) {
    return [{ metric: 'relay_state', value: this.state === 'on' ? 1 : 0, ts: now, equipment: this.key }];
  }
  async getRelay() {
    return this.state;
  }
  async setRelay(s: RelayState) {
    if (!this.stuck) this.state = s;
    return this.state;
  }
  async probe() {
    return { ok: true, latencyMs: 1, detail: 'relay answers' };
  }
}

describe('RESTART', () => {
  it('asks the supervisor and reports success from the restarted process', async () => {
    const supervisor = new StandInSupervisor();
    const h = harness({ RESTART: restartHandler(supervisor) });
    const env = envelope('RESTART', { reason: 'test' });
    await h.dispatcher.handle(env);
    assert.deepEqual(supervisor.restarts, ['test']);
    assert.deepEqual(h.states(), ['delivered', 'running'], 'no verdict before the restart happened');
    h.outbox.close();
    // The "next process": same state file, resumes unfinished commands.
    const next = harness({}, h.dbPath);
    await next.dispatcher.resumeInterrupted({ RESTART: restartResumer(123) });
    assert.deepEqual(
      next.replies.map((r) => [r.id, r.state, r.data]),
      [[env.id, 'succeeded', { restartedAt: 123 }]],
    );
    next.outbox.close();
  });

  it('fails when the supervisor cannot restart, and a command interrupted by a crash fails on return', async () => {
    const supervisor = new StandInSupervisor();
    supervisor.onRestart = async () => {
      throw new Error('systemctl: access denied');
    };
    const h = harness({ RESTART: restartHandler(supervisor), DIAGNOSTICS: () => new Promise(() => {}) });
    await h.dispatcher.handle(envelope('RESTART'));
    assert.equal(h.replies.at(-1)?.error?.message, 'systemctl: access denied');
    const hanging = envelope('DIAGNOSTICS');
    void h.dispatcher.handle(hanging);
    await new Promise((r) => setTimeout(r, 20));
    h.outbox.close();
    const next = harness({}, h.dbPath);
    await next.dispatcher.resumeInterrupted({});
    assert.deepEqual(
      next.replies.map((r) => [r.id, r.state, r.error?.code]),
      [[hanging.id, 'failed', 'INTERRUPTED']],
    );
    next.outbox.close();
  });
});

describe('FETCH_LOGS', () => {
  it('uploads the last N lines in signed chunks, and fails when the hub refuses', async () => {
    const keys = generateNodeKeyPair();
    let refuse = false;
    const hub = await startHubStandIn(keys.publicKey, () =>
      refuse ? { status: 503 } : { status: 200, body: {} },
    );
    const file = join(dir, 'agent.log');
    writeFileSync(file, Array.from({ length: 1000 }, (_, i) => `line ${i}`).join('\n') + '\n');
    const client = { hubUrl: hub.url, nodeId: 'node-7', key: privateKeyFromPem(keys.privateKeyPem) };
    const h = harness({
      FETCH_LOGS: fetchLogsHandler({ logs: () => new FileLogSource(file), hub: () => client }),
    });
    const env = envelope('FETCH_LOGS', { lines: 450 });
    await h.dispatcher.handle(env);
    assert.deepEqual(h.replies.at(-1)?.data, { lines: 450, chunks: 3 });
    const uploads = hub.received.map(
      (r) => r.json as { commandId: string; chunk: number; final: boolean; lines: string[] },
    );
    assert.deepEqual(
      uploads.map((u) => [u.chunk, u.final, u.lines.length]),
      [
        [0, false, 200],
        [1, false, 200],
        [2, true, 50],
      ],
    );
    assert.equal(uploads[0]!.lines[0], 'line 550');
    assert.equal(uploads[2]!.lines.at(-1), 'line 999');
    assert.ok(hub.received.every((r) => r.signatureOk && r.path === '/api/v1/nodes/node-7/logs'));
    assert.equal(uploads[0]!.commandId, env.id);
    refuse = true;
    await h.dispatcher.handle(envelope('FETCH_LOGS'));
    assert.equal(h.replies.at(-1)?.error?.code, 'UPLOAD_FAILED');
    await hub.close();
    h.outbox.close();
  });
});

describe('CONFIG_PUSH', () => {
  const base = (port: number) =>
    `version: 2\nhub: { url: "http://127.0.0.1:${port}" }\nsite: { lat: 1, lon: 2, timezone: UTC }\n`;

  function target(path: string) {
    const applied: AgentConfig[] = [];
    return {
      applied,
      t: {
        path,
        apply: async (c: AgentConfig) => void applied.push(c),
        // The health check used here is real: can the agent reach the hub the new config names?
        healthCheck: async (c: AgentConfig) => {
          const ok = await fetch(c.hub.url, { signal: AbortSignal.timeout(2000) }).then(
            () => true,
            () => false,
          );
          return { ok, detail: ok ? 'hub reachable' : `hub ${c.hub.url} unreachable` };
        },
      },
    };
  }

  it('validates, backs up, applies and keeps a healthy config', async () => {
    const hub = await startHubStandIn(generateNodeKeyPair().publicKey, () => ({ status: 200 }));
    const port = Number(new URL(hub.url).port);
    const path = join(dir, 'ok.yaml');
    writeFileSync(path, base(1));
    const { t, applied } = target(path);
    const h = harness({ CONFIG_PUSH: configPushHandler(t) });
    await h.dispatcher.handle(envelope('CONFIG_PUSH', { config: base(port) }));
    assert.equal(h.replies.at(-1)?.state, 'succeeded');
    assert.equal(readFileSync(path, 'utf8'), base(port));
    assert.equal(readFileSync(`${path}.bak`, 'utf8'), base(1));
    assert.equal(applied.length, 1);
    await hub.close();
    h.outbox.close();
  });

  it('refuses an invalid config with every problem listed and leaves the file alone', async () => {
    const path = join(dir, 'invalid.yaml');
    writeFileSync(path, base(1));
    const { t, applied } = target(path);
    const h = harness({ CONFIG_PUSH: configPushHandler(t) });
    await h.dispatcher.handle(
      envelope('CONFIG_PUSH', { config: 'version: 2\nhub: {url: ftp://x}\nsite: {lat: 99}\nbogus: 1\n' }),
    );
    const r = h.replies.at(-1)!;
    assert.equal(r.error?.code, 'WF_VALIDATION');
    const paths = ((r.data?.problems ?? []) as { path: string }[]).map((p) => p.path);
    for (const p of ['/bogus', '/hub/url', '/site/lat', '/site'])
      assert.ok(paths.includes(p), `${p} in ${paths}`);
    assert.equal(readFileSync(path, 'utf8'), base(1));
    assert.equal(existsSync(`${path}.bak`), false);
    assert.equal(applied.length, 0);
    h.outbox.close();
  });

  it('rolls back to the backup when the health check fails, and says why', async () => {
    const hub = await startHubStandIn(generateNodeKeyPair().publicKey, () => ({ status: 200 }));
    const goodPort = Number(new URL(hub.url).port);
    const path = join(dir, 'rollback.yaml');
    writeFileSync(path, base(goodPort));
    const { t, applied } = target(path);
    const h = harness({ CONFIG_PUSH: configPushHandler(t) });
    await hub.close(); // the new config points at a hub that is not there:
    const dead = await startHubStandIn(generateNodeKeyPair().publicKey, () => ({ status: 200 }));
    const deadPort = Number(new URL(dead.url).port);
    await dead.close();
    await h.dispatcher.handle(envelope('CONFIG_PUSH', { config: base(deadPort), healthTimeoutS: 5 }));
    const r = h.replies.at(-1)!;
    assert.equal(r.state, 'failed');
    assert.equal(r.error?.code, 'ROLLED_BACK');
    assert.match(r.error!.message, /unreachable.*restored config.yaml.bak and re-applied it/);
    assert.equal(readFileSync(path, 'utf8'), base(goodPort), 'old file back in place');
    assert.deepEqual(
      applied.map((c) => c.hub.url),
      [`http://127.0.0.1:${deadPort}`, `http://127.0.0.1:${goodPort}`],
      'new applied, then old re-applied',
    );
    h.outbox.close();
  });
});

describe('RELAY_SET and DIAGNOSTICS', () => {
  it('switches on/off/toggle and replies with the confirmed state; refuses what it cannot do', async () => {
    const relay = new TestRelay('plug-1');
    const plain: Source = {
      key: 'meter',
      type: 'x',
      info: () => ({ key: 'meter', kind: 'meter' }),
      read: async () => [],
    };
    const sources = new Map<string, Source>([
      ['plug-1', relay],
      ['meter', plain],
    ]);
    const h = harness({ RELAY_SET: relaySetHandler(() => sources) });
    await h.dispatcher.handle(envelope('RELAY_SET', { equipment: 'plug-1', state: 'on' }));
    assert.deepEqual(h.replies.at(-1)?.data, { equipment: 'plug-1', state: 'on' });
    await h.dispatcher.handle(envelope('RELAY_SET', { equipment: 'plug-1', state: 'toggle' }));
    assert.deepEqual(h.replies.at(-1)?.data, { equipment: 'plug-1', state: 'off' });
    assert.equal(relay.state, 'off');
    relay.stuck = true;
    await h.dispatcher.handle(envelope('RELAY_SET', { equipment: 'plug-1', state: 'on' }));
    assert.equal(h.replies.at(-1)?.error?.code, 'NOT_CONFIRMED');
    await h.dispatcher.handle(envelope('RELAY_SET', { equipment: 'meter', state: 'on' }));
    assert.equal(h.replies.at(-1)?.error?.code, 'UNSUPPORTED');
    await h.dispatcher.handle(envelope('RELAY_SET', { equipment: 'nope', state: 'on' }));
    assert.equal(h.replies.at(-1)?.error?.code, 'UNKNOWN_EQUIPMENT');
    h.outbox.close();
  });

  it('reports probes, hub reachability with clock offset, disk and outbox; an unreachable hub is a finding', async () => {
    const hub = await startHubStandIn(generateNodeKeyPair().publicKey, () => ({ status: 404 }));
    const sources = new Map<string, Source>([['plug-1', new TestRelay('plug-1')]]);
    let hubUrl = hub.url;
    const h = harness({});
    const path = h.dbPath;
    const handler = diagnosticsHandler({
      sources: () => sources,
      hubUrl: () => hubUrl,
      outbox: () => h.outbox,
      outboxPath: () => path,
    });
    const h2 = harness({ DIAGNOSTICS: handler });
    await h2.dispatcher.handle(envelope('DIAGNOSTICS'));
    type Diag = {
      equipment: unknown;
      hub: { reachable: boolean; clockOffsetMs: number };
      disk: { freeBytes: number };
      outbox: { depth: number };
    };
    const data = h2.replies.at(-1)!.data as Diag;
    assert.deepEqual(data.equipment, { 'plug-1': { ok: true, latencyMs: 1, detail: 'relay answers' } });
    assert.equal(data.hub.reachable, true);
    assert.ok(Math.abs(data.hub.clockOffsetMs) < 2000);
    assert.ok(data.disk.freeBytes > 0);
    assert.equal(data.outbox.depth, 0);
    await hub.close();
    hubUrl = 'http://127.0.0.1:1';
    await h2.dispatcher.handle(envelope('DIAGNOSTICS'));
    assert.equal((h2.replies.at(-1)!.data as Diag).hub.reachable, false);
    h.outbox.close();
    h2.outbox.close();
  });
});
