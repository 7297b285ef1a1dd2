// MQTT client ids of nodes. A broker keeps one session per client id: whoever connects with an id
// takes over that session (the previous holder is disconnected, its last will fires, its queued
// QoS 1 messages are delivered to the newcomer). So a node may only use ids bound to its own
// username (= node id): the agent's `wf-node-{id}`, that id with a `-suffix` (tools that need a
// second connection, e.g. `wattfleet-agent doctor`), or the bare node id (what Mosquitto assigns
// with `use_username_as_clientid`, and what a smart plug's firmware can be configured to send).
// Node ids are UUIDs of fixed length, so one node's prefix can never cover another node's id.

const PREFIX = 'wf-node-';

/** The client id the agent uses for its control channel. */
export function nodeClientId(nodeId: string): string {
  return `${PREFIX}${nodeId}`;
}

/** True when `clientId` is one `nodeId` may use; every other id is refused at CONNECT. */
export function clientIdBelongsTo(nodeId: string, clientId: string): boolean {
  if (!nodeId) return false;
  const own = nodeClientId(nodeId);
  return clientId === nodeId || clientId === own || clientId.startsWith(`${own}-`);
}
