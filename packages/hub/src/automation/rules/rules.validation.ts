// Validation of a rule definition against its site, listing every problem at once with the field
// path (unknown metric, a threshold the metric can never reach, a hysteresis band the value can
// never leave, channels/scenes/nodes of another site), and loop detection between the site's
// rules: rule A switches X, X is an input (trigger or condition) of rule B, and B switches X to
// the other state → refused, naming both rules.
import { isAcceptedMetric, metricDefinition } from '@wattfleet/protocol';
import { switchesOf } from './rules.evaluator.ts';
import type { RuleDefinition } from './rules.schema.ts';

export interface Problem {
  path: string;
  message: string;
}

/** Physical ranges of catalogue metrics that have one (others are unbounded). */
const RANGES: Record<string, [number, number]> = {
  battery_soc: [0, 100],
  power_factor: [-1, 1],
  relay_state: [0, 1],
  frequency_hz: [0, 100],
  solar_w: [0, Number.POSITIVE_INFINITY],
  temperature_c: [-273.15, Number.POSITIVE_INFINITY],
};
function rangeOf(metric: string): [number, number] {
  const r = RANGES[metric];
  if (r) return r;
  const def = metricDefinition(metric);
  if (def?.kind === 'energy' || def?.unit === 'V' || def?.unit === 'Hz') return [0, Number.POSITIVE_INFINITY];
  return [Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY];
}

export interface SiteChannel {
  id: string;
  nodeId: string;
  equipment: string;
  switchable: boolean;
}

export interface SiteFacts {
  channels: Map<string, SiteChannel>;
  nodes: Set<string>;
  scenes: Map<string, { name: string; targets: { channelId: string; state: 'on' | 'off' }[] }>;
  /** Whether the author may switch on the site (the same check as a manual switch). */
  mayControl: boolean;
  mayControlReason?: string;
}

export function validateDefinition(def: RuleDefinition, site: SiteFacts): Problem[] {
  const problems: Problem[] = [];
  const add = (path: string, message: string) => problems.push({ path: `/body${path}`, message });
  const t = def.trigger;
  if (t.type === 'metric') {
    if (!isAcceptedMetric(t.metric))
      add(
        '/trigger/metric',
        `Unknown metric "${t.metric}" (not in the catalogue; custom metrics start with x_)`,
      );
    else {
      const [min, max] = rangeOf(t.metric);
      if (t.op === 'above' && t.threshold > max)
        add('/trigger/threshold', `${t.metric} never exceeds ${max}: the rule could never fire`);
      if (t.op === 'below' && t.threshold < min)
        add('/trigger/threshold', `${t.metric} is never below ${min}: the rule could never fire`);
      if (t.hysteresis >= max - min)
        add('/trigger/hysteresis', `Hysteresis ${t.hysteresis} is not smaller than the range of ${t.metric}`);
      else if (t.op === 'above' && t.threshold - t.hysteresis < min)
        add(
          '/trigger/hysteresis',
          `${t.metric} never falls below ${t.threshold - t.hysteresis}: it could never re-arm`,
        );
      else if (t.op === 'below' && t.threshold + t.hysteresis > max)
        add(
          '/trigger/hysteresis',
          `${t.metric} never rises above ${t.threshold + t.hysteresis}: it could never re-arm`,
        );
    }
    if (t.nodeId && !site.nodes.has(t.nodeId)) add('/trigger/nodeId', 'Not a node of this site');
  }
  if (t.type === 'node' && t.nodeId && !site.nodes.has(t.nodeId))
    add('/trigger/nodeId', 'Not a node of this site');
  (def.conditions ?? []).forEach((c, i) => {
    if (c.type === 'battery_soc') {
      if (c.min === undefined && c.max === undefined) add(`/conditions/${i}`, 'Give min, max or both');
      if (c.min !== undefined && c.max !== undefined && c.min > c.max)
        add(`/conditions/${i}/min`, `min ${c.min} is above max ${c.max}: never true`);
    }
    if (c.type === 'time_window' && c.from === c.to)
      add(`/conditions/${i}/to`, 'An empty window: never true');
    if (c.type === 'channel_state' && !site.channels.has(c.channelId))
      add(`/conditions/${i}/channelId`, 'Not a channel of this site');
  });
  const setTo = new Map<string, string>();
  def.actions.forEach((a, i) => {
    if (a.type === 'set_channel') {
      const ch = site.channels.get(a.channelId);
      if (!ch) add(`/actions/${i}/channelId`, 'Not a channel of this site: you may not control it');
      else if (!ch.switchable) add(`/actions/${i}/channelId`, 'This channel cannot be switched');
      else if (!site.mayControl)
        add(`/actions/${i}/channelId`, `You may not control this channel: ${site.mayControlReason ?? ''}`);
      const prev = setTo.get(a.channelId);
      if (prev && prev !== a.state)
        add(`/actions/${i}/state`, 'The same channel is set on and off by this rule');
      setTo.set(a.channelId, a.state);
    }
    if (a.type === 'scene' && !site.scenes.has(a.sceneId))
      add(`/actions/${i}/sceneId`, 'Not a scene of this site');
    if (a.type === 'command' && !site.nodes.has(a.nodeId))
      add(`/actions/${i}/nodeId`, 'Not a node of this site');
  });
  return problems;
}

export interface NamedRule {
  id: string | undefined;
  name: string;
  definition: RuleDefinition;
}

/** Channels a rule reads: its channel-state conditions, and a metric trigger on a channel's equipment. */
export function inputsOf(def: RuleDefinition, channels: Map<string, SiteChannel>): Set<string> {
  const inputs = new Set<string>();
  for (const c of def.conditions ?? []) if (c.type === 'channel_state') inputs.add(c.channelId);
  const t = def.trigger;
  if (t.type === 'metric' && t.nodeId && t.equipment !== undefined)
    for (const ch of channels.values())
      if (ch.nodeId === t.nodeId && ch.equipment === t.equipment) inputs.add(ch.id);
  return inputs;
}

/** Loops between the candidate and the site's other enabled rules, as problems naming both rules. */
export function findLoops(candidate: NamedRule, others: readonly NamedRule[], site: SiteFacts): Problem[] {
  const scene = (id: string) => site.scenes.get(id)?.targets ?? [];
  const label = (id: string) => {
    const ch = site.channels.get(id);
    return ch ? `channel ${id} (${ch.equipment})` : `channel ${id}`;
  };
  const problems: Problem[] = [];
  const mine = switchesOf(candidate.definition.actions, scene);
  const myInputs = inputsOf(candidate.definition, site.channels);
  const actionIndex = (channelId: string) =>
    candidate.definition.actions.findIndex(
      (a) =>
        (a.type === 'set_channel' && a.channelId === channelId) ||
        (a.type === 'scene' && scene(a.sceneId).some((x) => x.channelId === channelId)),
    );
  for (const other of others) {
    if (other.id !== undefined && other.id === candidate.id) continue;
    const theirs = switchesOf(other.definition.actions, scene);
    const theirInputs = inputsOf(other.definition, site.channels);
    // Candidate switches X, X feeds the other rule, which switches X back.
    for (const s of mine)
      if (
        theirInputs.has(s.channelId) &&
        theirs.some((o) => o.channelId === s.channelId && o.state !== s.state)
      )
        problems.push({
          path: `/body/actions/${actionIndex(s.channelId)}`,
          message: `Loop: rule "${candidate.name}" switches ${label(s.channelId)} ${s.state}, which is an input of rule "${other.name}", which switches it back`,
        });
    // The other rule switches X, X feeds the candidate, which switches X back.
    for (const o of theirs)
      if (myInputs.has(o.channelId) && mine.some((s) => s.channelId === o.channelId && s.state !== o.state))
        problems.push({
          path: `/body/actions/${actionIndex(o.channelId)}`,
          message: `Loop: rule "${other.name}" switches ${label(o.channelId)} ${o.state}, which is an input of rule "${candidate.name}", which switches it back`,
        });
  }
  return problems;
}
