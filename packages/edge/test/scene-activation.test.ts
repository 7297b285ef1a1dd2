// A scene across two real agents (the agent bundle against the real hub, PGlite and the embedded
// broker) switching Modbus TCP relay boards served by the stand-in: with one agent stopped, the
// activation answers at once with the running agent's target confirmed and the stopped one's
// pending; when that agent starts again it gets the switch, writes it, reads it back, and the
// activation settles as succeeded — the boards really switched.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BUILTIN_TEMPLATES_DIR } from '../src/sources/modbus/source.ts';
import { startStandIn } from '../src/sources/modbus/standin.ts';
import { loadTemplate } from '../src/sources/modbus/template.ts';
import { agent, ctx, until, useAgentHub } from './helpers/agent-hub.ts';
import { killAgent } from './helpers/agent-process.ts';

useAgentHub();

interface Target {
  channelId: string;
  outcome: string;
  reason: string | null;
}

describe('scene activation with real agents', () => {
  it('a stopped agent: its target waits, then is delivered and confirmed when it returns', async () => {
    const board = await loadTemplate(BUILTIN_TEMPLATES_DIR, 'modbus-relay-board-8');
    const boardA = await startStandIn({ templates: [board], values: () => ({}) });
    const boardB = await startStandIn({ templates: [board], values: () => ({}) });
    try {
      const config = (port: number) => () =>
        `hub: { url: "${ctx.hubUrl}", mqttUrl: "${ctx.brokerUrl}" }
sources:
  - { type: modbus-tcp, key: board, host: 127.0.0.1, port: ${port}, templates: [modbus-relay-board-8], timeoutMs: 2000 }
poll: { intervalS: 1 }
`;
      const a = await agent('scene-a', config(boardA.port));
      const b = await agent('scene-b', config(boardB.port), a.siteId);
      a.start();
      let childB = b.start();
      const channels = await until(
        'both agents registered their channels',
        async () => {
          const res = await ctx.hub.admin('GET', `/api/v1/sites/${a.siteId}/channels`);
          const items = res.json().items as { id: string; nodeId: string; channel: string }[];
          return items?.length === 16 && items;
        },
        a.log,
        90_000,
      );
      const find = (nodeId: string, channel: string) =>
        channels.find((c) => c.nodeId === nodeId && c.channel === channel)!.id;
      const status = async (nodeId: string) =>
        (await ctx.hub.admin('GET', `/api/v1/nodes/${nodeId}`)).json().status;
      await until('agent A online', async () => (await status(a.nodeId)) === 'online', a.log);
      await until('agent B online', async () => (await status(b.nodeId)) === 'online', b.log);

      const created = await ctx.hub.admin('POST', `/api/v1/sites/${a.siteId}/scenes`, {
        name: 'Morning',
        targets: [
          { channelId: find(a.nodeId, 'ch1'), state: 'on' },
          { channelId: find(b.nodeId, 'ch2'), state: 'on' },
        ],
      });
      assert.equal(created.statusCode, 201, created.body);

      await killAgent(childB, 'SIGTERM');
      await until('agent B offline', async () => (await status(b.nodeId)) === 'offline', b.log);
      const res = await ctx.hub.admin('POST', `/api/v1/scenes/${created.json().id}/activate`);
      assert.equal(res.statusCode, 202, res.body);
      const get = async () =>
        (await ctx.hub.admin('GET', `/api/v1/scene-activations/${res.json().id}`)).json();
      const outcome = (act: { targets: Target[] }, id: string) =>
        act.targets.find((t) => t.channelId === id)!;
      const partial = await until(
        "agent A's target confirmed",
        async () => {
          const act = await get();
          return outcome(act, find(a.nodeId, 'ch1')).outcome === 'confirmed' && act;
        },
        a.log,
      );
      assert.equal(partial.status, 'pending');
      assert.equal(outcome(partial, find(b.nodeId, 'ch2')).outcome, 'pending');
      assert.equal(boardA.relayState('ch1'), 'on');
      assert.equal(boardB.relayState('ch2'), 'off');

      childB = b.start();
      const done = await until(
        'activation settled',
        async () => {
          const act = await get();
          return act.status !== 'pending' && act;
        },
        b.log,
        90_000,
      );
      assert.equal(done.status, 'succeeded', JSON.stringify(done));
      assert.equal(boardB.relayState('ch2'), 'on', 'the returning agent switched its board');
      assert.equal(boardB.relayState('ch1'), 'off', 'only the addressed channel');
    } finally {
      await boardA.close();
      await boardB.close();
    }
  });
});
