// Who executes a schedule or rule (issue 13.7): every one has exactly one executor, the hub or one
// named node, so nothing ever runs twice. Pure decisions, unit-tested; the services store the
// answer (`executor_node_id`, null = the hub) and the hub's runners skip what a node executes.
//
// - A schedule is the node's when its channel belongs to an edge agent (kind 'agent') that says
//   in its channel inventory that it runs bundles (`edgeAutomation`): plug firmware, the hub's
//   virtual vendor-cloud nodes and older agents cannot hold one.
// - A rule could be the node's when everything it reads and does is that node's: a metric trigger
//   naming the node, conditions that are time windows or that node's channel states, actions
//   that set that node's channels. Anything site-wide (battery SoC of the site, the pause, scenes,
//   notifications, commands, node/alert/tariff triggers) needs the hub. The agent does not
//   evaluate rules yet, so `ruleExecutor` keeps every rule on the hub and says which node could
//   take it (EDGE_RULES switches that on once the agent can).
import type { RuleDefinition } from './rules/rules.schema.ts';

export type NodeKind = 'agent' | 'plug' | 'virtual';

export interface ChannelOwner {
  id: string;
  nodeId: string;
  nodeKind: NodeKind;
  /** The node said (channel inventory) that it runs this channel's schedules itself. */
  edgeAutomation: boolean;
}

export interface ExecutorDecision {
  /** The executing node's id; null = the hub. */
  nodeId: string | null;
  reason: string;
}

/** Whether the agent evaluates bundle rules; until it does, rules stay on the hub. */
export const EDGE_RULES = false;

export function scheduleExecutor(channel: ChannelOwner): ExecutorDecision {
  if (channel.nodeKind !== 'agent')
    return { nodeId: null, reason: `the channel's node is a ${channel.nodeKind} node, which runs no bundle` };
  if (!channel.edgeAutomation)
    return { nodeId: null, reason: 'the agent does not run automation bundles (older agent)' };
  return {
    nodeId: channel.nodeId,
    reason: "the channel belongs to one edge agent: it runs on the agent's clock",
  };
}

/** The one node a rule's inputs and outputs all belong to, if there is one (a candidate). */
export function localRuleNode(
  def: RuleDefinition,
  channels: ReadonlyMap<string, ChannelOwner>,
  nodeKinds: ReadonlyMap<string, NodeKind>,
): ExecutorDecision {
  const t = def.trigger;
  if (t.type !== 'metric') return { nodeId: null, reason: `a ${t.type} trigger is seen by the hub` };
  if (!t.nodeId) return { nodeId: null, reason: 'the trigger watches a metric of any node of the site' };
  const node = t.nodeId;
  if (nodeKinds.get(node) !== 'agent')
    return { nodeId: null, reason: 'the metric comes from a node that runs no bundle' };
  const own = (channelId: string) => {
    const c = channels.get(channelId);
    return c?.nodeId === node && c.edgeAutomation;
  };
  for (const c of def.conditions) {
    if (c.type === 'time_window') continue;
    if (c.type === 'channel_state' && own(c.channelId)) continue;
    return {
      nodeId: null,
      reason:
        c.type === 'channel_state'
          ? "a condition reads another node's channel"
          : `a ${c.type} condition needs the site's data on the hub`,
    };
  }
  for (const a of def.actions) {
    if (a.type === 'set_channel' && own(a.channelId)) continue;
    return {
      nodeId: null,
      reason:
        a.type === 'set_channel'
          ? "an action switches another node's channel"
          : `a ${a.type} action needs the hub`,
    };
  }
  return { nodeId: node, reason: "the trigger, conditions and actions are all the node's own" };
}

export function ruleExecutor(
  def: RuleDefinition,
  channels: ReadonlyMap<string, ChannelOwner>,
  nodeKinds: ReadonlyMap<string, NodeKind>,
  edgeRules = EDGE_RULES,
): ExecutorDecision {
  const local = localRuleNode(def, channels, nodeKinds);
  if (local.nodeId && !edgeRules)
    return {
      nodeId: null,
      reason: `could run on node ${local.nodeId}, but agents do not evaluate rules yet`,
    };
  return local;
}
