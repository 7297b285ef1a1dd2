// NATS as the clustered broker tier (BROKER=nats, issue #16 item 2). Nodes keep speaking MQTT
// 3.1.1 to NATS's MQTT listener, which maps topic `nodes/X/telemetry` to subject
// `nodes.X.telemetry`. The hub speaks core NATS:
//  - batches (telemetry, events, daily) are captured by a JetStream stream (created/updated here
//    at start, replicas configurable) and consumed through one durable pull consumer shared by
//    every hub: each message goes to one hub and is acknowledged only after the ingest handler
//    (database commit) resolved; a hub that dies leaves it unacknowledged and it is redelivered
//    after ack_wait (the ingest pipeline is idempotent by batch id / seq);
//  - statuses and command responses: a core queue subscription (one hub each), live snapshots:
//    a plain subscription (every hub serves its own browsers), cluster topic: plain subscription;
//  - commands are core publishes on `nodes.X.commands`, which NATS delivers to the node's MQTT
//    subscription (at QoS 0; unanswered commands are re-sent by the control plane anyway).

import { type NodeChannel, parseNodeTopic } from '@wattfleet/protocol';
import {
  AckPolicy,
  type ConsumerMessages,
  connect,
  type NatsConnection,
  RetentionPolicy,
  StorageType,
  type Subscription,
} from 'nats';
import type { ControlBroker, MessageHandler, PublishOptions } from './broker.ts';

export interface NatsBrokerOptions {
  /** Core NATS servers (nats://host:port), any of the cluster. */
  servers: string[];
  /** Where nodes connect (the MQTT listener), reported at enrollment. */
  mqttUrl: string;
  user: string | undefined;
  password: string | undefined;
  stream: string;
  replicas: number;
  /** The durable consumer shared by all hubs. */
  durable: string;
  /** Queue group for statuses and responses. */
  queueGroup: string;
  /** Concurrent ingest workers per hub (each handles one batch at a time). */
  workers: number;
  /** Seconds before an unacknowledged batch is handed out again. */
  ackWaitS: number;
  log: { warn: (obj: object, msg: string) => void; info: (obj: object, msg: string) => void };
}

const BATCH_CHANNELS: readonly NodeChannel[] = ['telemetry', 'events', 'daily'];

export const toSubject = (topic: string): string => topic.replaceAll('/', '.').replaceAll('+', '*');
export const toTopic = (subject: string): string => subject.replaceAll('.', '/');

export class NatsBroker implements ControlBroker {
  // The control plane treats it as an external broker (no embedded-only features).
  readonly kind = 'external' as const;
  private nc: NatsConnection | undefined;
  private readonly handlers = new Map<NodeChannel, MessageHandler>();
  private readonly subs: Subscription[] = [];
  private readonly consumers: ConsumerMessages[] = [];
  private readonly loops: Promise<void>[] = [];
  private stopping = false;

  constructor(private readonly opts: NatsBrokerOptions) {}

  get url(): string {
    return this.opts.mqttUrl;
  }

  get connected(): boolean {
    return !!this.nc && !this.nc.isClosed();
  }

  async start(): Promise<void> {
    this.nc = await connect({
      servers: this.opts.servers,
      ...(this.opts.user ? { user: this.opts.user } : {}),
      ...(this.opts.password ? { pass: this.opts.password } : {}),
      maxReconnectAttempts: -1,
      reconnectTimeWait: 500,
      name: 'wattfleet-hub',
    });
    await this.ensureStream();
  }

  /** Creates or updates the stream and the shared durable consumer (idempotent, every hub). */
  private async ensureStream(): Promise<void> {
    const jsm = await this.mustNc().jetstreamManager();
    const subjects = BATCH_CHANNELS.map((c) => `nodes.*.${c}`);
    const config = {
      name: this.opts.stream,
      subjects,
      retention: RetentionPolicy.Workqueue,
      storage: StorageType.File,
      num_replicas: this.opts.replicas,
    };
    try {
      await jsm.streams.info(this.opts.stream);
      await jsm.streams.update(this.opts.stream, config);
    } catch (err) {
      if (!String((err as Error).message).includes('not found')) throw err;
      try {
        await jsm.streams.add(config);
      } catch (e) {
        // Another hub created it at the same moment.
        if (!String((e as Error).message).includes('already in use')) throw e;
      }
    }
    await jsm.consumers.add(this.opts.stream, {
      durable_name: this.opts.durable,
      ack_policy: AckPolicy.Explicit,
      ack_wait: this.opts.ackWaitS * 1e9,
      max_ack_pending: 10_000,
    });
  }

  async subscribeNodes(channel: NodeChannel, handler: MessageHandler): Promise<void> {
    this.handlers.set(channel, handler);
    if (BATCH_CHANNELS.includes(channel)) return; // consumed from JetStream in openIngest
    const nc = this.mustNc();
    const subject = `nodes.*.${channel}`;
    const sub =
      channel === 'live' ? nc.subscribe(subject) : nc.subscribe(subject, { queue: this.opts.queueGroup });
    this.subs.push(sub);
    void (async () => {
      for await (const m of sub) {
        void handler({ topic: toTopic(m.subject), payload: Buffer.from(m.data), retain: false }).catch(
          () => {},
        );
      }
    })();
  }

  async openIngest(): Promise<void> {
    if (this.consumers.length > 0) return;
    const js = this.mustNc().jetstream();
    for (let i = 0; i < Math.max(1, this.opts.workers); i++) {
      const consumer = await js.consumers.get(this.opts.stream, this.opts.durable);
      const messages = await consumer.consume({ max_messages: 8 });
      this.consumers.push(messages);
      this.loops.push(
        (async () => {
          for await (const m of messages) {
            const parsed = parseNodeTopic(toTopic(m.subject));
            const handler = parsed && this.handlers.get(parsed.channel);
            if (!handler) {
              m.term();
              continue;
            }
            try {
              await handler({ topic: toTopic(m.subject), payload: Buffer.from(m.data), retain: false });
              if (!this.stopping) m.ack();
            } catch (err) {
              this.opts.log.warn({ err, subject: m.subject }, 'nats ingest failed; redelivering');
              if (!this.stopping) m.nak(1000);
            }
          }
        })(),
      );
    }
  }

  async subscribeCluster(topic: string, handler: (payload: Buffer) => void): Promise<void> {
    const sub = this.mustNc().subscribe(toSubject(topic));
    this.subs.push(sub);
    void (async () => {
      for await (const m of sub) handler(Buffer.from(m.data));
    })();
  }

  async publish(topic: string, payload: Buffer | string, _opts: PublishOptions): Promise<void> {
    // Core NATS has no retained messages; subscribers needing state get it from the hub's API.
    const nc = this.mustNc();
    nc.publish(toSubject(topic), typeof payload === 'string' ? Buffer.from(payload) : payload);
  }

  onNodeDisconnect(): void {
    // Nodes publish an offline status or their last will; silence is caught by the sweep.
  }

  async stop(): Promise<void> {
    this.stopping = true;
    const nc = this.nc;
    this.nc = undefined;
    for (const c of this.consumers.splice(0)) c.stop();
    for (const s of this.subs.splice(0)) s.unsubscribe();
    await Promise.allSettled(this.loops.splice(0));
    if (nc) await nc.drain().catch(() => nc.close());
  }

  private mustNc(): NatsConnection {
    if (!this.nc) throw new Error('nats is not connected');
    return this.nc;
  }
}
