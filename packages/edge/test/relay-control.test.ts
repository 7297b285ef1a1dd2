// Manual control end to end with nothing stood in but the devices: the real agent bundle against
// the real hub (PGlite, embedded broker) and Modbus TCP relay boards served by the stand-in. The
// agent registers its channels (an eight-coil board from the modbus-relay-board-8 template, a
// second board whose contacts ignore every write, the simulator's relay); a switch through the hub
// API is written by the agent, read back from the device and confirmed; the stuck board's read-back
// disagrees and the hub shows the switch failed with the mismatch as the reason.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BUILTIN_TEMPLATES_DIR } from '../src/sources/modbus/source.ts';
import { type StandIn, startStandIn } from '../src/sources/modbus/standin.ts';
import { loadTemplate } from '../src/sources/modbus/template.ts';
import { agent, ctx, until, useAgentHub } from './helpers/agent-hub.ts';

useAgentHub();

interface ChannelView {
  id: string;
  equipment: string;
  channel: string;
  status: string;
  desiredState: string | null;
  reportedState: string | null;
  failureReason: string | null;
}

describe('manual relay control with the real agent', () => {
  it('confirms a switch by reading the device back, and fails a switch the device did not follow', async () => {
    const board = await loadTemplate(BUILTIN_TEMPLATES_DIR, 'modbus-relay-board-8');
    const good: StandIn = await startStandIn({ templates: [board], values: () => ({}) });
    const stuck: StandIn = await startStandIn({ templates: [board], values: () => ({}), ignoreWrites: true });
    try {
      const a = await agent(
        'relays',
        () => `hub: { url: "${ctx.hubUrl}", mqttUrl: "${ctx.brokerUrl}" }
sources:
  - { type: modbus-tcp, key: board, host: 127.0.0.1, port: ${good.port}, templates: [modbus-relay-board-8], timeoutMs: 2000 }
  - { type: modbus-tcp, key: stuck, host: 127.0.0.1, port: ${stuck.port}, templates: [modbus-relay-board-8], timeoutMs: 2000 }
  - { type: simulator, key: heater, seed: relay-control, relay: { loadW: 2000 } }
poll: { intervalS: 1 }
`,
      );
      a.start();
      const list = async () => {
        const res = await ctx.hub.admin('GET', `/api/v1/sites/${a.siteId}/channels`);
        assert.equal(res.statusCode, 200, res.body);
        return res.json().items as ChannelView[];
      };
      const channels = await until(
        'the agent registered its channels',
        async () => {
          const items = await list();
          return items.length === 17 && items;
        },
        a.log,
        90_000,
      );
      const find = (equipment: string, channel: string) =>
        channels.find((c) => c.equipment === equipment && c.channel === channel)!;
      assert.deepEqual(
        channels.filter((c) => c.equipment === 'board').map((c) => c.channel),
        ['ch1', 'ch2', 'ch3', 'ch4', 'ch5', 'ch6', 'ch7', 'ch8'],
      );
      assert.equal(find('board', 'ch3').reportedState, 'off', 'state read from the board at registration');
      await until(
        'node online',
        async () => (await ctx.hub.admin('GET', `/api/v1/nodes/${a.nodeId}`)).json().status === 'online',
        a.log,
      );

      const settle = (id: string) =>
        until(
          'switch settled',
          async () => {
            const c = (await ctx.hub.admin('GET', `/api/v1/channels/${id}`)).json() as ChannelView;
            return c.status !== 'pending' && c;
          },
          a.log,
        );
      const switchTo = async (c: ChannelView, state: 'on' | 'off') => {
        const res = await ctx.hub.admin('POST', `/api/v1/channels/${c.id}/switch`, { state });
        assert.equal(res.statusCode, 202, res.body);
        return settle(c.id);
      };

      // A coil of the board: written, read back, confirmed; the board really switched.
      const ch3 = await switchTo(find('board', 'ch3'), 'on');
      assert.equal(ch3.status, 'confirmed', JSON.stringify(ch3));
      assert.equal(ch3.reportedState, 'on');
      assert.equal(good.relayState('ch3'), 'on');
      assert.equal(good.relayState('ch2'), 'off', 'only the addressed channel switched');
      const back = await switchTo(find('board', 'ch3'), 'off');
      assert.equal(back.status, 'confirmed');
      assert.equal(good.relayState('ch3'), 'off');

      // The simulator's relay (single channel, addressed without a channel).
      const heater = await switchTo(find('heater', ''), 'on');
      assert.equal(heater.status, 'confirmed', JSON.stringify(heater));
      assert.equal(heater.reportedState, 'on');

      // The stuck board acknowledges the write but its read-back still says off.
      const failed = await switchTo(find('stuck', 'ch1'), 'on');
      assert.equal(failed.status, 'failed', JSON.stringify(failed));
      assert.equal(failed.desiredState, 'on');
      assert.equal(failed.reportedState, 'off');
      assert.match(failed.failureReason ?? '', /State mismatch: asked on, device reports off/);
      assert.equal(stuck.relayState('ch1'), 'off');
    } finally {
      await good.close();
      await stuck.close();
    }
  });
});
