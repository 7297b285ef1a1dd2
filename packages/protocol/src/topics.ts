// MQTT topic map. One place builds and parses every topic so hub, agent and tests agree.

export const TOPIC_ROOT = 'nodes';
export const BROADCAST_TOPIC = 'hub/broadcast';
/** Site-level topics, outside any node's namespace: only the hub publishes there. */
export const SITE_TOPIC_ROOT = 'sites';

export type NodeChannel = 'telemetry' | 'live' | 'status' | 'commands' | 'responses' | 'events' | 'daily';
export const NODE_CHANNELS: readonly NodeChannel[] = [
  'telemetry',
  'live',
  'status',
  'commands',
  'responses',
  'events',
  'daily',
];

export const topics = {
  telemetry: (nodeId: string) => `${TOPIC_ROOT}/${nodeId}/telemetry`,
  live: (nodeId: string) => `${TOPIC_ROOT}/${nodeId}/live`,
  status: (nodeId: string) => `${TOPIC_ROOT}/${nodeId}/status`,
  commands: (nodeId: string) => `${TOPIC_ROOT}/${nodeId}/commands`,
  responses: (nodeId: string) => `${TOPIC_ROOT}/${nodeId}/responses`,
  events: (nodeId: string) => `${TOPIC_ROOT}/${nodeId}/events`,
  daily: (nodeId: string) => `${TOPIC_ROOT}/${nodeId}/daily`,
  broadcast: () => BROADCAST_TOPIC,
  /**
   * A site's live readings for home automation (opt-in per vendor account): the hub republishes
   * each snapshot of the site's virtual nodes here, JSON `SiteLiveMessage`, QoS 0, not retained.
   */
  siteLive: (siteId: string) => `${SITE_TOPIC_ROOT}/${siteId}/live`,
  /** Subscription filter for one channel of every node. */
  allNodes: (channel: NodeChannel) => `${TOPIC_ROOT}/+/${channel}`,
  /** Shared subscription (MQTT 5 / Mosquitto 2 / EMQX) so N hubs split the load. */
  shared: (group: string, channel: NodeChannel) => `$share/${group}/${TOPIC_ROOT}/+/${channel}`,
} as const;

export interface ParsedNodeTopic {
  nodeId: string;
  channel: NodeChannel;
}

/** Parses `nodes/{id}/{channel}`; returns undefined for anything else. */
export function parseNodeTopic(topic: string): ParsedNodeTopic | undefined {
  const parts = topic.split('/');
  if (parts.length !== 3 || parts[0] !== TOPIC_ROOT) return undefined;
  const [, nodeId, channel] = parts as [string, string, string];
  if (!nodeId || !(NODE_CHANNELS as readonly string[]).includes(channel)) return undefined;
  return { nodeId, channel: channel as NodeChannel };
}

/** True when `topic` lies inside the node's own namespace, `nodes/{nodeId}/#`. */
export function isOwnTopic(nodeId: string, topic: string): boolean {
  return topic === `${TOPIC_ROOT}/${nodeId}` || topic.startsWith(`${TOPIC_ROOT}/${nodeId}/`);
}

/** Payload on `sites/{siteId}/live`: one node's snapshot, saying which node and account it is. */
export interface SiteLiveMessage {
  siteId: string;
  nodeId: string;
  /** The vendor account behind the virtual node. */
  accountId: string;
  /** Reading time, epoch ms. */
  ts: number;
  values: Record<string, number>;
}
