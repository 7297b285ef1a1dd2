// External broker (MQTT_URL set): Mosquitto, EMQX, HiveMQ… The hub logs in with MQTT_USERNAME /
// MQTT_PASSWORD and subscribes through shared subscriptions ($share/{group}/nodes/+/{channel}) so
// N hubs split the node traffic and each message is handled by one of them. Node authentication
// and ACLs are the broker's job (see mosquitto-files.ts for Mosquitto).
//
// Batches (telemetry, events, daily) come in on persistent sessions with stable client ids
// (`wattfleet-hub-{MQTT_SESSION_ID}-ingest-{n}`, clean start off, MQTT 5 session expiry): the
// broker acknowledges a node's QoS 1 batch before any hub has it, so while this hub is away
// (restart, crash) its sessions must keep their subscriptions and queue their share, handed over
// when the hub reconnects with the same ids. The connection for statuses, live snapshots, command
// responses and the cluster topic stays a clean session: those are snapshots or are re-sent.
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
  /** Stable, per-hub part of the ingest client ids (see ControlPlaneConfig.sessionId). */
  sessionId: string;
  /** Session expiry interval (s) of the ingest sessions; 0 = clean sessions. */
  sessionExpiryS: number;
  log: { warn: (obj: object, msg: string) => void; info: (obj: object, msg: string) => void };
  /** Called on every reconnect attempt (metrics). */
  onReconnect?: () => void;
}

const EARLY_ACK = new Set<NodeChannel>(['status', 'live']);
/** Batches are independent of each other: any connection may take any of them. */
const ORDER_FREE = new Set<NodeChannel>(['telemetry', 'events', 'daily']);
const MAX_EARLY_IN_FLIGHT = 2000;
/** MQTT 5 DISCONNECT reason: another connection with this client id took the session. */
const SESSION_TAKEN_OVER = 0x8e;

export class ExternalBroker implements ControlBroker {
  readonly kind = 'external' as const;
  private client: MqttClient | undefined;
  private readonly handlers = new Map<NodeChannel, MessageHandler>();
  private earlyInFlight = 0;
  /** The persistent-session connections that take the ORDER_FREE channels. */
  private readonly consumers: MqttClient[] = [];
  /** ORDER_FREE subscriptions, made on the consumers once every handler is known (openIngest). */
  private readonly ingestFilters: { filter: string; qos: 0 | 1 }[] = [];
  /** Messages that arrived before their channel's handler wait here (never acknowledged unhandled). */
  private readonly handlerWaiters = new Map<NodeChannel, (() => void)[]>();

  constructor(private readonly opts: ExternalBrokerOptions) {}

  get url(): string {
    return this.opts.url;
  }

  get connected(): boolean {
    return this.client?.connected ?? false;
  }

  /** Connects the clean control connection; the ingest sessions follow in openIngest. */
  async start(): Promise<void> {
    this.client = await this.connect(`wattfleet-hub-${randomBytes(6).toString('hex')}`, 0);
  }

  /** The client ids of this hub's ingest sessions (one without shared subscriptions). */
  ingestClientIds(): string[] {
    const n = this.opts.sharedSubscriptions ? Math.max(1, this.opts.ingestConnections ?? 4) : 1;
    return Array.from({ length: n }, (_, i) => `wattfleet-hub-${this.opts.sessionId}-ingest-${i}`);
  }

  /**
   * Opens the ingest sessions. Called once every channel has its handler: a resumed session gets
   * its queued batches right after CONNACK, before any SUBSCRIBE of ours, and mqtt.js reads the
   * next packet (a SUBACK too) only once a message is handled — so the handlers must already be
   * there. A new session needs its subscriptions before anything reaches it, so the SUBACK is
   * waited for. A resumed session has them already (subscribing again changes nothing), and its
   * SUBACK is queued behind the batches the broker hands over first: waiting for it would hold
   * the hub's start back for as long as a backlog takes to store, so it is only checked.
   */
  async openIngest(): Promise<void> {
    if (this.ingestFilters.length === 0 || this.consumers.length > 0) return;
    const subscriptions = Object.fromEntries(this.ingestFilters.map((f) => [f.filter, { qos: f.qos }]));
    const refused = (granted: { qos: number }[]) =>
      granted.some((g) => g.qos >= 0x80)
        ? new Error(`broker refused the subscriptions ${Object.keys(subscriptions).join(', ')}`)
        : undefined;
    await Promise.all(
      this.ingestClientIds().map(async (id) => {
        const { client, sessionPresent } = await this.connectSession(id, this.opts.sessionExpiryS);
        this.consumers.push(client);
        const subscribed = client.subscribeAsync(subscriptions);
        if (!sessionPresent) {
          const err = refused(await subscribed);
          if (err) throw err;
          return;
        }
        void subscribed.then(
          (granted) => {
            const err = refused(granted);
            if (err)
              this.opts.log.warn({ err, clientId: id }, 'mqtt ingest session kept its old subscriptions');
          },
          (err) => this.opts.log.warn({ err, clientId: id }, 'mqtt ingest subscribe failed'),
        );
      }),
    );
  }

  private async connect(clientId: string, sessionExpiryS: number): Promise<MqttClient> {
    return (await this.connectSession(clientId, sessionExpiryS)).client;
  }

  private async connectSession(
    clientId: string,
    sessionExpiryS: number,
  ): Promise<{ client: MqttClient; sessionPresent: boolean }> {
    const persistent = sessionExpiryS > 0;
    // connect(), not connectAsync(): a resumed session's queued batches follow CONNACK at once,
    // and mqtt.js's default handler would acknowledge (and so drop) any that arrived before ours
    // is installed. The handler goes in first; then we wait for the CONNACK.
    const client = mqtt.connect(this.opts.url, {
      clientId,
      protocolVersion: 5,
      clean: !persistent,
      ...(persistent ? { properties: { sessionExpiryInterval: sessionExpiryS } } : {}),
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
      if (!parsed) return done();
      const handler = this.handlers.get(parsed.channel);
      if (!handler) {
        // A batch is never acknowledged unhandled: it waits for its handler (openIngest makes
        // this the exception). Anything else without a handler is not ours to keep.
        if (!ORDER_FREE.has(parsed.channel) || packet.qos === 0) return done();
        void this.handlerFor(parsed.channel).then((h) => {
          const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
          void h({ topic: packet.topic, payload, retain: !!packet.retain })
            .catch(() => {})
            .then(() => done());
        });
        return;
      }
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
    const sessionPresent = await new Promise<boolean>((resolve, reject) => {
      const settle = (err?: Error, connack?: { sessionPresent?: boolean }) => {
        client.off('connect', onConnect);
        client.off('error', settle);
        if (!err) return resolve(!!connack?.sessionPresent);
        client.end(true);
        reject(err);
      };
      const onConnect = (connack: { sessionPresent?: boolean }) => settle(undefined, connack);
      client.once('connect', onConnect);
      client.once('error', settle);
    });
    client.on('error', (err) => this.opts.log.warn({ err }, 'mqtt client error'));
    client.on('disconnect', (packet) => {
      if (packet.reasonCode === SESSION_TAKEN_OVER)
        this.opts.log.warn(
          { clientId },
          'mqtt session taken over by another connection with this client id: give every hub its own HUB_ID or MQTT_SESSION_ID',
        );
    });
    client.on('reconnect', () => {
      this.opts.onReconnect?.();
      this.opts.log.info({ url: this.opts.url }, 'mqtt reconnecting');
    });
    return { client, sessionPresent };
  }

  private handlerFor(channel: NodeChannel): Promise<MessageHandler> {
    const ready = this.handlers.get(channel);
    if (ready) return Promise.resolve(ready);
    return new Promise((resolve) => {
      const waiting = this.handlerWaiters.get(channel) ?? [];
      waiting.push(() => resolve(this.handlers.get(channel)!));
      this.handlerWaiters.set(channel, waiting);
    });
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
    for (const wake of this.handlerWaiters.get(channel) ?? []) wake();
    this.handlerWaiters.delete(channel);
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
    if (ORDER_FREE.has(channel)) {
      this.ingestFilters.push({ filter, qos });
      return;
    }
    const granted = await client.subscribeAsync(filter, { qos });
    if (granted.some((g) => g.qos >= 0x80)) throw new Error(`broker refused the subscription ${filter}`);
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
    this.ingestFilters.length = 0;
    await Promise.all([client, ...consumers].map((c) => c?.endAsync()));
  }

  private mustClient(): MqttClient {
    if (!this.client) throw new Error('mqtt client is not connected');
    return this.client;
  }
}
