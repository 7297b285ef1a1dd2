// The seam between the hub and an MQTT broker: the embedded aedes broker (in-process client) or
// an external one (Mosquitto, EMQX, HiveMQ) reached with mqtt.js. Everything above this file
// speaks in topics and payloads only.
import type { NodeChannel } from '@wattfleet/protocol';

export interface InboundMessage {
  topic: string;
  payload: Buffer;
  /** True only for a retained message replayed on subscribe (old news), not for live ones. */
  retain: boolean;
}

/**
 * Resolves when the message is handled. External brokers acknowledge a QoS 1 message only after
 * this, so a hub that dies mid-ingest gets the message again (ingest is idempotent by batch id).
 */
export type MessageHandler = (message: InboundMessage) => Promise<void>;

export interface PublishOptions {
  qos: 0 | 1;
  retain?: boolean;
}

export interface ControlBroker {
  readonly kind: 'aedes' | 'external';
  /** Where nodes connect (mqtt://host:port); for aedes, the port actually bound. */
  readonly url: string;
  /** True while the hub can exchange messages with the broker (for /readyz and metrics). */
  readonly connected: boolean;
  start(): Promise<void>;
  /** Receives one channel of every node; load-shared between hubs where the broker can. */
  subscribeNodes(channel: NodeChannel, handler: MessageHandler): Promise<void>;
  publish(topic: string, payload: Buffer | string, opts: PublishOptions): Promise<void>;
  /**
   * Receives every message on a hub-only topic, on every hub (not shared). Absent where one hub
   * is all there is (the embedded broker).
   */
  subscribeCluster?(topic: string, handler: (payload: Buffer) => void): Promise<void>;
  /**
   * Called once every channel has its handler: opens what may hand over queued messages at once
   * (the external broker's persistent ingest sessions). Absent where subscribing is enough.
   */
  openIngest?(): Promise<void>;
  /** Called with a node id when the broker itself sees a node leave cleanly (aedes only). */
  onNodeDisconnect(listener: (nodeId: string) => void): void;
  stop(): Promise<void>;
}
