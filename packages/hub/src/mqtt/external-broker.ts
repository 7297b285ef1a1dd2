// External broker (MQTT_URL set): Mosquitto, EMQX, HiveMQ… The hub logs in with MQTT_USERNAME /
// MQTT_PASSWORD and subscribes through shared subscriptions ($share/{group}/nodes/+/{channel}) so
// N hubs split the node traffic and each message is handled by one of them. Node authentication
// and ACLs are the broker's job (see mosquitto-files.ts for Mosquitto).
//
// Every connection is a persistent session under a stable client id (`wattfleet-hub-{HUB_ID}`,
// `…-ingest-{i}`), so a broker keeps queueing the QoS 1 batches it has already acknowledged to a
// node while no hub is connected (rolling restart, crash) and hands them over when the same
// connection returns. With a clean session it would discard them: a loss window. Each hub must
// have its own HUB_ID — two hubs under one id would take each other's sessions over.
// Limit: Mosquitto 2.0 drops $share messages while no member of the group is connected, so with
// shared subscriptions the window stays open for the moments when every hub is away; plain
// subscriptions (MQTT_SHARED_SUBSCRIPTIONS=0) are queued (docs/hub-configuration.md).
import { type NodeChannel, parseNodeTopic, topics } from '@wattfleet/protocol';
import mqtt, { type IConnackPacket, type ISubscriptionGrant, type MqttClient } from 'mqtt';
import type { ControlBroker, InboundMessage, MessageHandler, PublishOptions } from './broker.ts';

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
  /** Stable identity of this hub at the broker (HUB_ID); the client ids are derived from it. */
  hubId: string;
  /** How long the broker keeps this hub's sessions (and queues for them) while it is away. */
  sessionExpiryS: number;
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

  /** Client ids of this hub's connections: the control connection first, then the ingest ones. */
  clientIds(): string[] {
    const base = `wattfleet-hub-${this.opts.hubId}`;
    const extra = this.opts.sharedSubscriptions ? Math.max(0, (this.opts.ingestConnections ?? 4) - 1) : 0;
    return [base, ...Array.from({ length: extra }, (_, i) => `${base}-ingest-${i + 1}`)];
  }

  async start(): Promise<void> {
    const [main, ...ingest] = this.clientIds();
    this.client = await this.connect(main!);
    for (const id of ingest) this.consumers.push(await this.connect(id));
  }

  /** Clients whose broker session was still there: their subscriptions are too. */
  private readonly resumed = new WeakSet<MqttClient>();

  private async connect(clientId: string): Promise<MqttClient> {
    const client = mqtt.connect(this.opts.url, {
      clientId,
      protocolVersion: 5,
      // Persistent: the broker keeps the subscriptions and queues QoS 1 messages while we are away.
      clean: false,
      properties: { sessionExpiryInterval: this.opts.sessionExpiryS },
      reconnectPeriod: 2000,
      connectTimeout: 10_000,
      ...(this.opts.username ? { username: this.opts.username } : {}),
      ...(this.opts.password ? { password: this.opts.password } : {}),
    });
    // As mqtt.connectAsync, but keeping the CONNACK: it says whether the session was resumed.
    const connack = await new Promise<IConnackPacket>((resolve, reject) => {
      const onError = (err: Error) => {
        client.off('connect', onConnect);
        client.end();
        reject(err);
      };
      const onConnect = (packet: IConnackPacket) => {
        client.off('error', onError);
        resolve(packet);
      };
      client.once('connect', onConnect);
      client.once('error', onError);
    });
    if (connack.sessionPresent) this.resumed.add(client);
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
      if (!parsed) return done();
      const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
      const handler = this.handlers.get(parsed.channel);
      if (!handler) {
        // A message for a channel nobody prepared (see prepare): hold it unacknowledged until its
        // handler is here. This connection reads nothing else meanwhile (not even a SUBACK), so
        // the control plane prepares every channel before it connects.
        const message = { topic: packet.topic, payload, retain: !!packet.retain };
        void this.handlerFor(parsed.channel).then((h) => this.handleUntilDone(client, h, message, done));
        return;
      }
      const message = { topic: packet.topic, payload, retain: !!packet.retain };
      if (EARLY_ACK.has(parsed.channel) && this.earlyInFlight < MAX_EARLY_IN_FLIGHT) {
        this.earlyInFlight++;
        void handler(message)
          .catch(() => {})
          .finally(() => {
            this.earlyInFlight--;
          });
        return done();
      }
      this.handleUntilDone(client, handler, message, done);
    };
    client.on('error', (err) => this.opts.log.warn({ err }, 'mqtt client error'));
    client.on('reconnect', () => {
      this.opts.onReconnect?.();
      this.opts.log.info({ url: this.opts.url }, 'mqtt reconnecting');
    });
    return client;
  }

  /**
   * Acknowledges once the handler succeeded. A handler that fails (the hub could not store the
   * batch: database away, shutting down) is tried again with backoff, the message still
   * unacknowledged; this connection takes nothing new meanwhile. After a reconnect or stop the
   * broker hands the message over again itself, so the old attempt must not acknowledge anything.
   */
  private handleUntilDone(
    client: MqttClient,
    handler: MessageHandler,
    message: InboundMessage,
    done: () => void,
  ) {
    const stream = client.stream;
    const attempt = (delayMs: number) => {
      handler(message).then(done, (err) => {
        if (this.stopping || client.stream !== stream) return;
        this.opts.log.warn(
          { err, topic: message.topic, retryInMs: delayMs },
          'mqtt message not stored; retrying',
        );
        setTimeout(() => attempt(Math.min(delayMs * 2, 30_000)), delayMs).unref();
      });
    };
    attempt(500);
  }

  private stopping = false;

  private readonly awaited = new Map<
    NodeChannel,
    { ready: Promise<MessageHandler>; set: (h: MessageHandler) => void }
  >();

  private handlerFor(channel: NodeChannel): Promise<MessageHandler> {
    let w = this.awaited.get(channel);
    if (!w) {
      let set!: (h: MessageHandler) => void;
      const ready = new Promise<MessageHandler>((resolve) => {
        set = resolve;
      });
      w = { ready, set };
      this.awaited.set(channel, w);
    }
    return w.ready;
  }

  private clusterTopic: string | undefined;
  private clusterHandler: ((payload: Buffer) => void) | undefined;

  async subscribeCluster(topic: string, handler: (payload: Buffer) => void): Promise<void> {
    this.clusterTopic = topic;
    this.clusterHandler = handler;
    await this.subscribe(this.mustClient(), topic, 0);
  }

  prepare(channel: NodeChannel, handler: MessageHandler): void {
    this.handlers.set(channel, handler);
    this.awaited.get(channel)?.set(handler);
  }

  async subscribeNodes(channel: NodeChannel, handler: MessageHandler): Promise<void> {
    const client = this.mustClient();
    this.prepare(channel, handler);
    // Live snapshots go to every hub (each serves its own browsers); the rest is shared out.
    const filter =
      this.opts.sharedSubscriptions && channel !== 'live'
        ? topics.shared(this.opts.sharedGroup, channel)
        : topics.allNodes(channel);
    // Statuses and live snapshots are snapshots: the next one replaces a lost one, a lost last will
    // is caught by the silence sweep, and a QoS 0 subscription is not queued for us while we are
    // away (a stale heartbeat replayed minutes later would be wrong news). QoS 0 spares the acknowledgement of 10 k heartbeats a second. Batches and command responses
    // stay QoS 1, acknowledged only once stored.
    const qos = channel === 'live' || channel === 'status' ? 0 : 1;
    const subscribers = ORDER_FREE.has(channel) ? [client, ...this.consumers] : [client];
    for (const c of subscribers) await this.subscribe(c, filter, qos);
  }

  /**
   * A fresh session waits for the SUBACK (a refusal is a configuration error worth failing on). A
   * resumed one already holds the subscription, and its SUBACK would only be read after every
   * message queued for it while the hub was away (one at a time, each stored first): waiting for
   * it would hold the hub's start for as long as the backlog takes, so it is sent and checked later.
   */
  private async subscribe(c: MqttClient, filter: string, qos: 0 | 1): Promise<void> {
    const refused = (granted: ISubscriptionGrant[] | undefined) => granted?.some((g) => g.qos >= 0x80);
    if (this.resumed.has(c)) {
      c.subscribe(filter, { qos }, (err, granted) => {
        if (err || refused(granted))
          this.opts.log.warn({ err, filter }, 'broker refused a resumed subscription');
      });
      return;
    }
    if (refused(await c.subscribeAsync(filter, { qos })))
      throw new Error(`broker refused the subscription ${filter}`);
  }

  async publish(topic: string, payload: Buffer | string, opts: PublishOptions): Promise<void> {
    await this.mustClient().publishAsync(topic, payload, { qos: opts.qos, retain: opts.retain ?? false });
  }

  onNodeDisconnect(): void {
    // An external broker does not tell its clients who left; nodes publish an offline status
    // (clean) or their last will, and silence is caught by the sweep.
  }

  async stop(): Promise<void> {
    this.stopping = true;
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
