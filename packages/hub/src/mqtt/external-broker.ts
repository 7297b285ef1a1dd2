// External broker (MQTT_URL set): Mosquitto, EMQX, HiveMQ… The hub logs in with MQTT_USERNAME /
// MQTT_PASSWORD and subscribes through shared subscriptions ($share/{group}/nodes/+/{channel}) so
// N hubs split the node traffic and each message is handled by one of them. Node authentication
// and ACLs are the broker's job (see mosquitto-files.ts for Mosquitto).
import { randomBytes } from 'node:crypto';
import { type NodeChannel, parseNodeTopic, topics } from '@wattfleet/protocol';
import mqtt, { type MqttClient } from 'mqtt';
import type { ControlBroker, MessageHandler, PublishOptions } from './broker.ts';

export interface ExternalBrokerOptions {
  url: string;
  username: string | undefined;
  password: string | undefined;
  sharedGroup: string;
  sharedSubscriptions: boolean;
  /**
   * Extra connections that consume the order-free channels (telemetry, events, daily) through the
   * shared subscription: each connection handles one message at a time (ack after store), so N
   * connections store N batches at once. Ignored without shared subscriptions.
   */
  ingestConnections?: number;
  log: { warn: (obj: object, msg: string) => void; info: (obj: object, msg: string) => void };
  /** Called on every reconnect attempt (metrics). */
  onReconnect?: () => void;
}

const EARLY_ACK = new Set<NodeChannel>(['status', 'live']);
/** Batches are independent of each other: any connection may take any of them. */
const ORDER_FREE = new Set<NodeChannel>(['telemetry', 'events', 'daily']);
const MAX_EARLY_IN_FLIGHT = 2000;

export class ExternalBroker implements ControlBroker {
  readonly kind = 'external' as const;
  private client: MqttClient | undefined;
  private readonly handlers = new Map<NodeChannel, MessageHandler>();
  private earlyInFlight = 0;
  /** Additional members of the shared subscription for ORDER_FREE channels. */
  private readonly consumers: MqttClient[] = [];

  constructor(private readonly opts: ExternalBrokerOptions) {}

  get url(): string {
    return this.opts.url;
  }

  get connected(): boolean {
    return this.client?.connected ?? false;
  }

  async start(): Promise<void> {
    this.client = await this.connect();
    const extra = this.opts.sharedSubscriptions ? Math.max(0, (this.opts.ingestConnections ?? 4) - 1) : 0;
    for (let i = 0; i < extra; i++) this.consumers.push(await this.connect());
  }

  private async connect(): Promise<MqttClient> {
    const client = await mqtt.connectAsync(this.opts.url, {
      clientId: `wattfleet-hub-${randomBytes(6).toString('hex')}`,
      protocolVersion: 5,
      clean: true,
      reconnectPeriod: 2000,
      connectTimeout: 10_000,
      ...(this.opts.username ? { username: this.opts.username } : {}),
      ...(this.opts.password ? { password: this.opts.password } : {}),
    });
    // Acknowledge a QoS 1 message only once it is handled: a hub that dies mid-ingest leaves the
    // message unacknowledged and the broker hands it out again. mqtt.js reads the next message
    // only after that, so handling is one at a time per connection. Heartbeats and live snapshots
    // are periodic snapshots (the next one replaces a lost one, and the last will is retained by
    // the broker), so they are acknowledged at once and handled concurrently, up to a bound; the
    // control plane still applies each node's statuses in order.
    // Acknowledgements are corked until the packets parsed from one socket read are handled, then
    // leave in one write: one syscall per read instead of one per message (10 k heartbeats/s).
    let corked = false;
    const ack = (done: () => void) => {
      const stream = client.stream as unknown as { cork?: () => void; uncork?: () => void };
      if (!corked && stream.cork && stream.uncork) {
        stream.cork();
        corked = true;
        setImmediate(() => {
          corked = false;
          stream.uncork!();
        });
      }
      done();
    };
    client.handleMessage = (packet, callback) => {
      const done = () => ack(callback);
      if (packet.topic === this.clusterTopic) {
        const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
        this.clusterHandler?.(payload);
        return done();
      }
      const parsed = parseNodeTopic(packet.topic);
      const handler = parsed && this.handlers.get(parsed.channel);
      if (!handler) return done();
      const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
      const work = handler({ topic: packet.topic, payload, retain: !!packet.retain }).catch(() => {});
      if (EARLY_ACK.has(parsed.channel) && this.earlyInFlight < MAX_EARLY_IN_FLIGHT) {
        this.earlyInFlight++;
        void work.finally(() => {
          this.earlyInFlight--;
        });
        return done();
      }
      void work.then(() => done());
    };
    client.on('error', (err) => this.opts.log.warn({ err }, 'mqtt client error'));
    client.on('reconnect', () => {
      this.opts.onReconnect?.();
      this.opts.log.info({ url: this.opts.url }, 'mqtt reconnecting');
    });
    return client;
  }

  private clusterTopic: string | undefined;
  private clusterHandler: ((payload: Buffer) => void) | undefined;

  async subscribeCluster(topic: string, handler: (payload: Buffer) => void): Promise<void> {
    this.clusterTopic = topic;
    this.clusterHandler = handler;
    const granted = await this.mustClient().subscribeAsync(topic, { qos: 0 });
    if (granted.some((g) => g.qos >= 0x80)) throw new Error(`broker refused the subscription ${topic}`);
  }

  async subscribeNodes(channel: NodeChannel, handler: MessageHandler): Promise<void> {
    const client = this.mustClient();
    this.handlers.set(channel, handler);
    // Live snapshots go to every hub (each serves its own browsers); the rest is shared out.
    const filter =
      this.opts.sharedSubscriptions && channel !== 'live'
        ? topics.shared(this.opts.sharedGroup, channel)
        : topics.allNodes(channel);
    // Statuses and live snapshots are snapshots: the next one replaces a lost one, a lost last will
    // is caught by the silence sweep, and this clean session loses its queue on a reconnect anyway.
    // QoS 0 spares the acknowledgement of 10 k heartbeats a second. Batches and command responses
    // stay QoS 1, acknowledged only once stored.
    const qos = channel === 'live' || channel === 'status' ? 0 : 1;
    const subscribers = ORDER_FREE.has(channel) ? [client, ...this.consumers] : [client];
    for (const c of subscribers) {
      const granted = await c.subscribeAsync(filter, { qos });
      if (granted.some((g) => g.qos >= 0x80)) throw new Error(`broker refused the subscription ${filter}`);
    }
  }

  async publish(topic: string, payload: Buffer | string, opts: PublishOptions): Promise<void> {
    await this.mustClient().publishAsync(topic, payload, { qos: opts.qos, retain: opts.retain ?? false });
  }

  onNodeDisconnect(): void {
    // An external broker does not tell its clients who left; nodes publish an offline status
    // (clean) or their last will, and silence is caught by the sweep.
  }

  async stop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    const consumers = this.consumers.splice(0);
    await Promise.all([client, ...consumers].map((c) => c?.endAsync()));
  }

  private mustClient(): MqttClient {
    if (!this.client) throw new Error('mqtt client is not connected');
    return this.client;
  }
}
