// CONFIG_PUSH, end to end: the real agent bundle (started as systemd starts it) against the real hub
// (PGlite, embedded broker), commands sent through the hub's API and nothing written by the test
// into the hub's tables (they are only read, to check):
//   - a config whose source cannot be read fails its health check → the agent restores its file,
//     re-applies the old config, answers ROLLED_BACK and sends a config.rolled_back event through
//     its durable outbox → the hub's config_rolled_back alert opens
//   - a later push that applies → config.applied → the alert resolves
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { describe, it } from 'node:test';
import { EVENT_KINDS } from '@wattfleet/protocol';
import {
  agent,
  alertIn,
  ctx,
  events,
  localStatus,
  TEMPLATES,
  until,
  useAgentHub,
} from './helpers/agent-hub.ts';
import { killAgent } from './helpers/agent-process.ts';

useAgentHub();

/** A loopback port nothing listens on (bound, then closed). */
async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('CONFIG_PUSH against the real agent, through the hub', () => {
  it('a push that fails its health check is rolled back, the hub hears of it and alerts; a good push clears it', async () => {
    const SOURCES = 'sources: [{ type: simulator, key: sim, seed: config }]';
    const a = await agent(
      'config',
      () => `hub: { url: "${ctx.hubUrl}", mqttUrl: "${ctx.brokerUrl}" }
${SOURCES}
poll: { intervalS: 0.5 }
`,
    );
    const original = readFileSync(a.configPath, 'utf8');
    const child = a.start();
    await until(
      'node online over MQTT',
      async () => (await ctx.hub.admin('GET', `/api/v1/nodes/${a.nodeId}`)).json().status === 'online',
      a.log,
    );
    const push = async (config: string) => {
      const cmd = await ctx.hub.admin('POST', `/api/v1/nodes/${a.nodeId}/commands`, {
        type: 'CONFIG_PUSH',
        args: { config, healthTimeoutS: 5 },
      });
      assert.equal(cmd.statusCode, 201, cmd.body);
      return until(
        'the push finished',
        async () => {
          const c = (
            await ctx.hub.admin('GET', `/api/v1/nodes/${a.nodeId}/commands/${cmd.json().id}`)
          ).json();
          return ['succeeded', 'failed', 'expired'].includes(c.state) && c;
        },
        a.log,
        90_000,
      );
    };

    // Valid YAML and schema, but the inverter it names does not answer: only the health check
    // (every source reading since the apply) can tell.
    const port = await deadPort();
    const bad = original.replace(
      SOURCES,
      `sources:
  - { type: modbus-tcp, key: inverter, host: 127.0.0.1, port: ${port}, templates: [${TEMPLATES.join(', ')}], timeoutMs: 500 }`,
    );
    assert.notEqual(bad, original);
    const failed = await push(bad);
    assert.equal(failed.state, 'failed', JSON.stringify(failed));
    assert.equal(failed.error?.code, 'ROLLED_BACK', JSON.stringify(failed.error));
    assert.match(failed.error.message, /health check failed: inverter/);
    assert.equal(readFileSync(a.configPath, 'utf8'), original, 'the old config is back on disk');

    const open = await until(
      'config_rolled_back open',
      alertIn(a.siteId, 'config_rolled_back', 'open'),
      a.log,
    );
    assert.equal(open.length, 1);
    assert.equal(open[0]!.target_id, a.nodeId);
    assert.match(open[0]!.message, /rolled back/);
    const [rolledBack] = await events(a.nodeId, EVENT_KINDS.configRolledBack);
    assert.equal(rolledBack!.severity, 'error');
    assert.match(
      String(rolledBack!.data!.reason),
      /health check failed: inverter: .*; restored config\.yaml\.bak and re-applied it/,
    );
    // The old config runs again: only the simulator, reading (the poller is new after a reload).
    await until(
      'the simulator reads again',
      async () => {
        const s = await localStatus(a.log).catch(() => undefined);
        const keys = (s?.sources ?? []).map((x: { key: string }) => x.key).join();
        return keys === 'sim' && s!.sources[0].lastOkAt !== null;
      },
      a.log,
    );

    const good = `${original}# pushed from the hub\n`;
    const applied = await push(good);
    assert.equal(applied.state, 'succeeded', JSON.stringify(applied));
    assert.equal(readFileSync(a.configPath, 'utf8'), good);
    await until('config_rolled_back resolved', alertIn(a.siteId, 'config_rolled_back', 'resolved'), a.log);
    const kinds = (await events(a.nodeId)).map((e) => e.kind).filter((k) => k.startsWith('config.'));
    assert.deepEqual(kinds, [EVENT_KINDS.configRolledBack, EVENT_KINDS.configApplied]);
    await killAgent(child, 'SIGTERM');
  });
});
