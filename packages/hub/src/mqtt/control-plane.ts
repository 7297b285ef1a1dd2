// The control plane: MQTT broker connection, heartbeats, telemetry/events/daily over MQTT, live
// snapshots, commands, broadcast and realtime WebSocket fan-out.
//
// HOW IT STARTS (the choice made for buildHub): `buildHub` registers this plugin, which adds the
// HTTP routes (commands, logs, broadcast, realtime) and the services, but connects to NO broker.
// The server calls `await startControlPlane(app)` after `app.ready()`; `stopControlPlane(app)` or
// `app.close()` ends it. So tests that do not need MQTT use buildHub as before and nothing listens
// on 1883; commands created meanwhile stay pending until a broker is up and the node is online.
// Mode: `config.mqttUrl` unset → embedded aedes on `config.mqttHost`:`config.mqttPort`
// (0 = a free port; `app.controlPlane.brokerUrl` tells which); set → external broker, hub logs in
// with MQTT_USERNAME / MQTT_PASSWORD and subscribes with $share/hub/… shared subscriptions.
import {
  BROADCAST_TOPIC,
  type Broadcast,
  CommandResponse,
  checker,
  DailyBatch,
  EventBatch,
  LiveSnapshot,
  type NodeChannel,
  NodeStatus,
  parseNodeTopic,
  topics,
} from '@wattfleet/protocol';
import type { FastifyInstance } from 'fastify';
import type { TSchema } from 'typebox';
import { commandRoutes } from '../commands/commands.routes.ts';
import { CommandService } from '../commands/commands.service.ts';
import type { HubContext } from '../context.ts';
import { HeartbeatService } from '../heartbeat/heartbeat.service.ts';
import { ingestDaily, ingestEvents } from '../ingest/reports.service.ts';
import { TelemetryIngest } from '../ingest/telemetry.service.ts';
import { runExclusive } from '../jobs/lock.ts';
import { realtimeRoutes } from '../realtime/realtime.routes.ts';
import { retryWhileConnectionLost } from '../storage/database.ts';
import { UnsAccess } from '../uns/uns.access.ts';
import { AedesBroker } from './aedes-broker.ts';
import type { ControlBroker, InboundMessage, PublishOptions } from './broker.ts';
import { bridgeCluster } from './cluster-bridge.ts';
import { type ControlPlaneConfig, controlPlaneConfig } from './config.ts';
import { ExternalBroker } from './external-broker.ts';
import { syncMosquittoFiles } from './mosquitto-files.ts';
import { NodeDirectory } from './node-directory.ts';

const CHANNELS: NodeChannel[] = ['status', 'telemetry', 'responses', 'events', 'daily', 'live'];
const NODE_CACHE_MS = 5_000;
const DONE = Promise.resolve();
/** How old a cached node entry may be for the heartbeat fast path (see heartbeatAtOnce). */
const HEARTBEAT_TRUST_MS = 10 * 60_000;

const checks = {
  status: checker(NodeStatus),
  live: checker(LiveSnapshot),
  responses: checker(CommandResponse),
  events: checker(EventBatch),
  daily: checker(DailyBatch),
};

interface ChannelStats {
  received: number;
  handled: number;
  invalid: number;
  failed: number;
}

export class ControlPlane {
  readonly config: ControlPlaneConfig;
  readonly heartbeats: HeartbeatService;
  readonly commands: CommandService;
  readonly stats: Record<NodeChannel, ChannelStats>;
  readonly realtime = { sent: 0, dropped: 0 };
  private broker: ControlBroker | undefined;
  /** Unified-namespace readers of the embedded broker (an external one reads the ACL file). */
  private unsAccess: UnsAccess | undefined;
  private timers: NodeJS.Timeout[] = [];
  private unbridge: () => void = () => {};
  private readonly nodes: NodeDirectory;
  private readonly hub: HubContext;
  private readonly log: FastifyInstance['log'];

  constructor(private readonly app: FastifyInstance) {
    this.hub = app.hub;
    this.log = app.log;
    this.config = controlPlaneConfig(app.hub.config);
    this.commands = new CommandService(this.hub);
    this.nodes = new NodeDirectory(this.hub.database, NODE_CACHE_MS);
    this.heartbeats = new HeartbeatService(this.hub, {
      offlineAfterS: this.config.offlineAfterS,
      clockDriftMs: this.config.clockDriftMs,
      log: this.log,
      onOnline: (nodes) => {
        for (const n of nodes) {
          this.commands.deliverPending(n.nodeId).catch((err) => this.log.error({ err }, 'redelivery failed'));
        }
      },
    });
    const zero = () => ({ received: 0, handled: 0, invalid: 0, failed: 0 });
    this.stats = Object.fromEntries(
      ['telemetry', 'live', 'status', 'commands', 'responses', 'events', 'daily'].map((c) => [c, zero()]),
    ) as Record<NodeChannel, ChannelStats>;
  }

  get started(): boolean {
    return !!this.broker;
  }

  /** Started and connected to the broker now (readiness). */
  get brokerConnected(): boolean {
    return this.broker?.connected ?? false;
  }

  /** mqtt://host:port nodes connect to (the bound port for aedes with port 0). */
  get brokerUrl(): string | undefined {
    return this.broker?.url;
  }

  /** The address nodes are told at enrollment: the embedded broker's TLS listener when it has one. */
  get nodeBrokerUrl(): string | undefined {
    const b = this.broker;
    return (b instanceof AedesBroker ? b.tlsUrl : undefined) ?? b?.url;
  }

  /** The same service as POST /ingest/telemetry (the HTTP routes may hold their own instance). */
  private get ingest(): TelemetryIngest {
    return this.app.telemetryIngest;
  }

  async start(): Promise<void> {
    if (this.broker) return;
    const { config } = this.hub;
    const cp = this.config;
    let broker: ControlBroker;
    if (cp.nats) {
      // Loaded only for the clustered tier: a single hub does not carry the NATS client.
      const { NatsBroker } = await import('./nats-broker.ts');
      broker = new NatsBroker({
        ...cp.nats,
        queueGroup: cp.sharedGroup,
        workers: cp.ingestConnections,
        log: this.log,
      });
    } else if (config.mqttUrl) {
      if (cp.mosquitto) await this.syncMosquitto();
      broker = new ExternalBroker({
        url: config.mqttUrl,
        username: cp.username,
        password: cp.password,
        sharedGroup: cp.sharedGroup,
        sharedSubscriptions: cp.sharedSubscriptions,
        ingestConnections: cp.ingestConnections,
        sessionId: cp.sessionId,
        sessionExpiryS: cp.sessionExpiryS,
        log: this.log,
        onReconnect: () => this.hub.metrics.mqttReconnects.inc(),
      });
    } else {
      this.unsAccess ??= new UnsAccess(this.hub);
      broker = new AedesBroker({
        uns: this.unsAccess,
        db: this.hub.db,
        host: config.mqttHost,
        port: config.mqttPort,
        fallbackToFreePort: !config.mqttPortExplicit,
        log: this.log,
        tls: config.tls
          ? { cert: config.tls.cert, key: config.tls.key, port: config.tls.mqttPort }
          : undefined,
      });
    }
    await broker.start();
    this.broker = broker;
    try {
      broker.onNodeDisconnect((nodeId) => {
        this.heartbeats
          .markOffline(nodeId, 'clean_disconnect')
          .catch((err) => this.log.error({ err }, 'offline failed'));
      });
      for (const channel of CHANNELS) {
        await broker.subscribeNodes(channel, (m) =>
          this.hub.metrics.trackMqtt(channel, () => this.handle(channel, m)),
        );
      }
      this.unbridge = await bridgeCluster(this.hub, broker, this.log);
      await broker.openIngest?.();
    } catch (err) {
      await this.stop();
      throw err;
    }
    this.commands.publisher = async (nodeId, envelope) => {
      try {
        await broker.publish(topics.commands(nodeId), JSON.stringify(envelope), { qos: 1 });
        return true;
      } catch (err) {
        this.log.warn({ err, nodeId }, 'command publish failed');
        return false;
      }
    };
    this.every(cp.heartbeatFlushMs, () => this.heartbeats.flush());
    this.every(cp.sweepIntervalMs, () => this.heartbeats.sweep());
    this.every(cp.sweepIntervalMs, async () => {
      await runExclusive(this.hub.database, 'commands.expiry', () => this.commands.expireDue());
    });
    this.every(Math.max(cp.sweepIntervalMs, cp.commandRedeliverMs / 4), async () => {
      await runExclusive(this.hub.database, 'commands.redeliver', () =>
        this.commands.redeliverStale(cp.commandRedeliverMs),
      );
    });
    if (config.mqttUrl && cp.mosquitto) this.every(cp.mosquittoSyncMs, () => this.syncMosquitto());
    this.log.info({ broker: broker.kind, url: broker.url }, 'control plane started');
  }

  async stop(): Promise<void> {
    this.unbridge();
    this.unbridge = () => {};
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    this.commands.publisher = undefined;
    const broker = this.broker;
    this.broker = undefined;
    await this.heartbeats.flush().catch((err) => this.log.error({ err }, 'final heartbeat flush failed'));
    if (broker) await broker.stop();
    this.unsAccess?.close();
    this.unsAccess = undefined;
  }

  /** Publishes on any topic as the hub (the unified namespace); false without a running broker. */
  async publish(topic: string, payload: Buffer | string, opts: PublishOptions): Promise<boolean> {
    const broker = this.broker;
    if (!broker) return false;
    await broker.publish(topic, payload, opts);
    return true;
  }

  /** Rewrites the Mosquitto password/ACL files if the fleet changed (one hub at a time). */
  async syncMosquitto(): Promise<boolean> {
    const cp = this.config;
    if (!cp.mosquitto) return false;
    if (!cp.username || !cp.password)
      throw new Error('MQTT_USERNAME and MQTT_PASSWORD are required for Mosquitto files');
    const creds = { username: cp.username, password: cp.password };
    const files = cp.mosquitto;
    const r = await runExclusive(this.hub.database, 'mosquitto.sync', () =>
      syncMosquittoFiles(this.hub.db, files, creds),
    );
    return r.ran && r.value;
  }

  async broadcast(payload: Broadcast): Promise<boolean> {
    if (!this.broker) return false;
    await this.broker.publish(BROADCAST_TOPIC, JSON.stringify(payload), { qos: 1 });
    return true;
  }

  /** A virtual node's live snapshot, published like an agent's (QoS 0); false without a broker. */
  publishLive(nodeId: string, snapshot: unknown): boolean {
    const broker = this.broker;
    if (!broker) return false;
    broker.publish(topics.live(nodeId), JSON.stringify(snapshot), { qos: 0 }).catch((err) => {
      this.log.warn({ err, nodeId }, 'live publish failed');
    });
    return true;
  }

  private every(ms: number, fn: () => Promise<unknown>): void {
    let busy = false;
    const t = setInterval(() => {
      if (busy) return;
      busy = true;
      fn()
        .catch((err) => this.log.error({ err }, 'control plane job failed'))
        .finally(() => {
          busy = false;
        });
    }, ms);
    t.unref();
    this.timers.push(t);
  }

  /** Tail of the per-node chain of ordered messages (status and responses). */
  private readonly ordered = new Map<string, Promise<void>>();

  /**
   * Status and command responses of one node must be applied in the order it sent them (the broker
   * may hand several over at once): running before succeeded, online before offline.
   */
  private handle(channel: NodeChannel, message: InboundMessage): Promise<void> {
    if (channel !== 'status' && channel !== 'responses') return this.handleNow(channel, message);
    const key = parseNodeTopic(message.topic)?.nodeId ?? '';
    const prev = this.ordered.get(key);
    if (!prev && channel === 'status' && this.heartbeatAtOnce(key, message)) return DONE;
    const next = (prev ?? DONE).then(() => this.handleNow(channel, message));
    this.ordered.set(key, next);
    return next.finally(() => {
      if (this.ordered.get(key) === next) this.ordered.delete(key);
    });
  }

  /**
   * The common case of the busiest channel, handled synchronously (no promise, no lookup): an
   * online heartbeat from a known active node with nothing of it still in flight. False when the
   * message needs the general path (which then also counts and logs it).
   */
  private heartbeatAtOnce(nodeId: string, message: InboundMessage): boolean {
    if (message.retain) return false;
    // An older entry is good enough here: the flush writes heartbeats only to rows still active
    // (the database decides), so a node deactivated meanwhile gains nothing from it.
    const node = this.nodes.peek(nodeId, HEARTBEAT_TRUST_MS);
    if (!node?.active) return false;
    const raw = message.payload.toString('utf8');
    let body: unknown;
    try {
      body = JSON.parse(raw);
    } catch {
      return false;
    }
    if (!checks.status.check(body) || body.state !== 'online') return false;
    this.stats.status.received++;
    this.heartbeats.record(nodeId, body, raw);
    this.stats.status.handled++;
    return true;
  }

  /** One inbound message. Never throws: a bad payload is counted and logged, and the hub goes on. */
  private async handleNow(channel: NodeChannel, message: InboundMessage): Promise<void> {
    const stats = this.stats[channel];
    stats.received++;
    const parsed = parseNodeTopic(message.topic);
    if (!parsed || parsed.channel !== channel) return;
    const { nodeId } = parsed;
    let body: unknown;
    try {
      body = JSON.parse(message.payload.toString('utf8'));
    } catch {
      stats.invalid++;
      if (channel === 'telemetry')
        this.hub.metrics.ingestRejects.inc({ transport: 'mqtt', code: 'WF_BAD_JSON' });
      this.log.warn({ nodeId, topic: message.topic }, 'mqtt payload is not JSON');
      return;
    }
    try {
      const node = await retryWhileConnectionLost(() => this.nodes.get(nodeId));
      // The broker let it in, but the node may have been deactivated since (files lag a little).
      if (!node?.active) {
        stats.invalid++;
        return;
      }
      const ref = { nodeId, siteId: node.siteId };
      const valid = <T extends TSchema>(c: ReturnType<typeof checker<T>>) => {
        if (c.check(body)) return true;
        stats.invalid++;
        this.log.warn({ nodeId, channel, problems: c.problems(body).slice(0, 10) }, 'invalid mqtt payload');
        return false;
      };
      switch (channel) {
        case 'status': {
          // A retained status is old news (a will from before this hub subscribed).
          if (message.retain || !valid(checks.status)) return;
          const status = body as NodeStatus;
          if (status.state === 'online')
            this.heartbeats.record(nodeId, status, message.payload.toString('utf8'));
          else {
            const clean = status.reason === 'clean_disconnect' || status.reason === 'shutdown';
            await this.heartbeats.markOffline(nodeId, clean ? 'clean_disconnect' : 'last_will');
          }
          break;
        }
        case 'telemetry':
          // Validated inside (the same checks as HTTP); a duplicate batch id changes nothing.
          // Durable channels retry a lost database connection before returning: the broker
          // acknowledges the node's QoS 1 publish only once this handler is done.
          await retryWhileConnectionLost(() =>
            this.hub.metrics.observeIngest('mqtt', () => this.ingest.ingest(ref, body)),
          );
          break;
        case 'events':
          if (!valid(checks.events)) return;
          await retryWhileConnectionLost(() => ingestEvents(this.hub, ref, body as EventBatch));
          break;
        case 'daily':
          if (!valid(checks.daily)) return;
          await retryWhileConnectionLost(() => ingestDaily(this.hub, ref, body as DailyBatch));
          break;
        case 'responses':
          if (!valid(checks.responses)) return;
          await retryWhileConnectionLost(() =>
            this.commands.applyNodeResponse(nodeId, node.siteId, body as CommandResponse),
          );
          break;
        case 'live':
          if (!valid(checks.live)) return;
          this.hub.bus.emitEvent('node.live', { ...ref, snapshot: body });
          break;
        default:
          return;
      }
      stats.handled++;
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (typeof code === 'string' && code.startsWith('WF_')) {
        stats.invalid++;
        this.log.warn(
          { nodeId, channel, code, problems: (err as { problems?: unknown[] }).problems?.slice(0, 10) },
          'mqtt payload refused',
        );
      } else {
        stats.failed++;
        this.log.error({ err, nodeId, channel }, 'mqtt message failed');
      }
    }
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    controlPlane: ControlPlane;
  }
}

/** Registered at the root (not encapsulated) so `app.controlPlane` is visible to the server. */
async function controlPlanePlugin(app: FastifyInstance): Promise<void> {
  if (!app.hasDecorator('telemetryIngest')) app.decorate('telemetryIngest', new TelemetryIngest(app.hub));
  const cp = new ControlPlane(app);
  app.decorate('controlPlane', cp);
  await app.register(
    commandRoutes({ commands: cp.commands, broadcast: (payload) => cp.broadcast(payload) }),
    { prefix: '/api/v1' },
  );
  await app.register(
    realtimeRoutes({ maxBufferedBytes: cp.config.realtimeMaxBufferedBytes, stats: cp.realtime }),
    {
      prefix: '/api/v1',
    },
  );
  app.addHook('onClose', async () => {
    await cp.stop();
  });
}
(controlPlanePlugin as unknown as Record<symbol, boolean>)[Symbol.for('skip-override')] = true;
export const controlPlane = controlPlanePlugin;

export async function startControlPlane(app: FastifyInstance): Promise<ControlPlane> {
  await app.controlPlane.start();
  return app.controlPlane;
}

export async function stopControlPlane(app: FastifyInstance): Promise<void> {
  await app.controlPlane.stop();
}
