// Several hubs behind one broker: a status change, command update or alert handled by one hub
// must also reach the browsers connected to the others (and an ended session close their sockets). Each hub publishes those bus events on a
// hub-only topic and re-emits what the others publish, marked `remote` so that work done once
// (alert evaluation) is not done again. Live snapshots need no bridge: every hub subscribes to
// them without sharing (see external-broker.ts).
import { randomBytes } from 'node:crypto';
import type { HubContext, HubEvents } from '../context.ts';
import type { ControlBroker } from './broker.ts';

export const CLUSTER_TOPIC = 'hub/cluster/events';
const BRIDGED = ['node.status', 'command.updated', 'alert.updated', 'node.events', 'session.ended'] as const;
type Bridged = (typeof BRIDGED)[number];

interface ClusterMessage {
  from: string;
  name: Bridged;
  payload: HubEvents[Bridged];
}

/** True for an event another hub handled and this one only relays (to its realtime clients). */
export function isRemote(payload: object): boolean {
  return (payload as { remote?: boolean }).remote === true;
}

export async function bridgeCluster(
  hub: HubContext,
  broker: ControlBroker,
  log: { warn: (obj: object, msg: string) => void },
): Promise<() => void> {
  if (!broker.subscribeCluster) return () => {};
  const hubId = randomBytes(8).toString('hex');
  await broker.subscribeCluster(CLUSTER_TOPIC, (payload) => {
    let msg: ClusterMessage;
    try {
      msg = JSON.parse(payload.toString('utf8')) as ClusterMessage;
    } catch {
      return;
    }
    if (msg.from === hubId || !(BRIDGED as readonly string[]).includes(msg.name)) return;
    if (typeof msg.payload !== 'object' || msg.payload === null) return;
    hub.bus.emitEvent(msg.name, { ...msg.payload, remote: true } as unknown as HubEvents[Bridged]);
  });
  const offs = BRIDGED.map((name) =>
    hub.bus.onEvent(name, (payload) => {
      if (isRemote(payload)) return;
      const msg: ClusterMessage = { from: hubId, name, payload };
      broker
        .publish(CLUSTER_TOPIC, JSON.stringify(msg), { qos: 0 })
        .catch((err) => log.warn({ err, event: name }, 'cluster event not relayed'));
    }),
  );
  return () => {
    for (const off of offs) off();
  };
}
