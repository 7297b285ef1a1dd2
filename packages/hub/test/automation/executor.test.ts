// Who executes a schedule or rule (issue 13.7): the pure decision, one executor each.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type ChannelOwner,
  localRuleNode,
  type NodeKind,
  ruleExecutor,
  scheduleExecutor,
} from '../../src/automation/executor.ts';
import type { RuleDefinition } from '../../src/automation/rules/rules.schema.ts';

const A = '00000000-0000-4000-8000-00000000000a';
const B = '00000000-0000-4000-8000-00000000000b';
const PLUG = '00000000-0000-4000-8000-00000000000c';
const chA1 = '10000000-0000-4000-8000-000000000001';
const chA2 = '10000000-0000-4000-8000-000000000002';
const chB1 = '20000000-0000-4000-8000-000000000001';
const chP = '30000000-0000-4000-8000-000000000001';
const channels = new Map<string, ChannelOwner>([
  [chA1, { id: chA1, nodeId: A, nodeKind: 'agent', edgeAutomation: true }],
  [chA2, { id: chA2, nodeId: A, nodeKind: 'agent', edgeAutomation: true }],
  [chB1, { id: chB1, nodeId: B, nodeKind: 'agent', edgeAutomation: true }],
  [chP, { id: chP, nodeId: PLUG, nodeKind: 'plug', edgeAutomation: false }],
]);
const kinds = new Map<string, NodeKind>([
  [A, 'agent'],
  [B, 'agent'],
  [PLUG, 'plug'],
]);
const metric = (nodeId?: string) =>
  ({
    type: 'metric',
    metric: 'grid_w',
    ...(nodeId ? { nodeId } : {}),
    op: 'below',
    threshold: -2000,
    forS: 300,
    hysteresis: 200,
  }) as RuleDefinition['trigger'];

describe('executor decision', () => {
  it("a schedule on an edge agent's channel is that agent's; on a plug or virtual node the hub's", () => {
    assert.equal(scheduleExecutor(channels.get(chA1)!).nodeId, A);
    const plug = scheduleExecutor(channels.get(chP)!);
    assert.equal(plug.nodeId, null);
    assert.match(plug.reason, /plug node/);
    assert.equal(
      scheduleExecutor({ id: 'v', nodeId: 'v', nodeKind: 'virtual', edgeAutomation: false }).nodeId,
      null,
    );
    const older = scheduleExecutor({ id: chA1, nodeId: A, nodeKind: 'agent', edgeAutomation: false });
    assert.equal(older.nodeId, null, 'an agent that does not say it runs bundles');
    assert.match(older.reason, /older agent/);
  });

  it("a rule whose trigger, conditions and actions are all one agent's is local to it", () => {
    const def: RuleDefinition = {
      trigger: metric(A),
      conditions: [
        { type: 'time_window', from: '10:00', to: '16:00' },
        { type: 'channel_state', channelId: chA2, state: 'off' },
      ],
      actions: [{ type: 'set_channel', channelId: chA1, state: 'on' }],
    };
    assert.equal(localRuleNode(def, channels, kinds).nodeId, A);
    // Agents do not evaluate rules yet: the hub keeps it and says who could take it.
    const now = ruleExecutor(def, channels, kinds);
    assert.equal(now.nodeId, null);
    assert.match(now.reason, new RegExp(`could run on node ${A}`));
    assert.equal(ruleExecutor(def, channels, kinds, true).nodeId, A);
  });

  it('anything of another node or of the whole site keeps a rule on the hub, with the reason', () => {
    const base: RuleDefinition = {
      trigger: metric(A),
      conditions: [],
      actions: [{ type: 'set_channel', channelId: chA1, state: 'on' }],
    };
    const cases: [string, RuleDefinition, RegExp][] = [
      ['any node of the site', { ...base, trigger: metric() }, /any node/],
      ['a time trigger', { ...base, trigger: { type: 'time', at: '07:00' } }, /time trigger/],
      ['a plug metric', { ...base, trigger: metric(PLUG) }, /runs no bundle/],
      ['site SoC', { ...base, conditions: [{ type: 'battery_soc', min: 50 }] }, /battery_soc condition/],
      ['the pause', { ...base, conditions: [{ type: 'automation_active' }] }, /automation_active/],
      [
        "another node's channel state",
        { ...base, conditions: [{ type: 'channel_state', channelId: chB1, state: 'on' }] },
        /another node's channel/,
      ],
      [
        "another node's channel",
        { ...base, actions: [{ type: 'set_channel', channelId: chB1, state: 'on' }] },
        /switches another node's channel/,
      ],
      ['a notification', { ...base, actions: [{ type: 'notify' }] }, /notify action/],
      [
        'a scene',
        { ...base, actions: [{ type: 'scene', sceneId: '40000000-0000-4000-8000-000000000001' }] },
        /scene action/,
      ],
    ];
    for (const [what, def, why] of cases) {
      const d = ruleExecutor(def, channels, kinds, true);
      assert.equal(d.nodeId, null, what);
      assert.match(d.reason, why, what);
    }
  });
});
