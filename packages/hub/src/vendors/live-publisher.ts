// Where a virtual node's live snapshot goes: out on its nodes/{id}/live topic through the broker,
// like an agent's (the hub's own subscription fans it out to browsers), and, for accounts that
// opted in, on the site-level topic sites/{siteId}/live for home automation. Without a running
// broker the snapshot goes straight onto the bus, so browsers still see it.
import { type SiteLiveMessage, topics } from '@wattfleet/protocol';
import type { FastifyInstance } from 'fastify';
import type { ControlBroker } from '../mqtt/broker.ts';

export interface LiveSnapshot {
  ts: number;
  values: Record<string, number>;
}

export interface LiveTarget {
  accountId: string;
  nodeId: string;
  siteId: string;
  /** The account's opt-in for sites/{siteId}/live. */
  siteTopic: boolean;
}

/**
 * The control plane's broker, when one is running. ControlPlane offers publishLive for the node
 * topic but no publish for other topics, and src/mqtt/ is not this concern's to change: the
 * ControlBroker interface is reached through the (TypeScript-private) field until ControlPlane
 * exposes one. Only `publish` of the interface is used.
 */
function brokerOf(app: FastifyInstance): ControlBroker | undefined {
  if (!app.hasDecorator('controlPlane')) return undefined;
  return app.controlPlane['broker'];
}

export function livePublisher(app: FastifyInstance): (target: LiveTarget, snapshot: LiveSnapshot) => void {
  return (target, snapshot) => {
    const { nodeId, siteId } = target;
    if (!app.controlPlane?.publishLive(nodeId, snapshot))
      app.hub.bus.emitEvent('node.live', { nodeId, siteId, snapshot });
    if (!target.siteTopic) return;
    const broker = brokerOf(app);
    if (!broker) return;
    const message: SiteLiveMessage = {
      siteId,
      nodeId,
      accountId: target.accountId,
      ts: snapshot.ts,
      values: snapshot.values,
    };
    // QoS 0 and not retained, like the node topic: live values are worth nothing once stale.
    broker.publish(topics.siteLive(siteId), JSON.stringify(message), { qos: 0 }).catch((err: unknown) => {
      app.log.warn({ err, siteId }, 'site live publish failed');
    });
  };
}
