// The MQTT control channel: heartbeat with a retained last will, commands in, replies out, and
// live snapshots. One connection, authenticated as the node (username = node id), which the
// broker's ACL confines to nodes/{id}/#.
import { type LiveSnapshot, type NodeStatus, nodeClientId, topics } from '@wattfleet/protocol';
import mqtt, { type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import type { Dispatcher, Response } from './dispatcher.ts';

const systemNow = () => Date.now();

export interface ControlChannelOptions {
  url: string;
  nodeId: string;
  username: string;
  password: string;
  heartbeatMs?: number;
  liveIntervalMs?: number;
  /** Everything for the heartbeat except state and clock. */
  status: () => Promise<Omit<NodeStatus, 'state' | 'clock'>>;
  live?: () => LiveSnapshot | undefined;
  logger?: Logger;
  /** The agent's wall clock (what the heartbeat's `clock` says, for the hub's drift check). */
  now?: () => number;
}

export class ControlChannel {
  client: MqttClient | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private liveTimer: NodeJS.Timeout | undefined;
  private dispatcher: Dispatcher | undefined;
  lastHeartbeatAt: number | null = null;

  private readonly now: () => number;

  constructor(private readonly opts: ControlChannelOptions) {
    this.now = opts.now ?? systemNow;
  }

  get connected(): boolean {
    return this.client?.connected ?? false;
  }

  /** Connects (and keeps reconnecting); resolves at the first connection or after `waitMs`. */
  async start(dispatcher: Dispatcher, waitMs = 10_000): Promise<void> {
    this.dispatcher = dispatcher;
    const { nodeId } = this.opts;
    const offline: NodeStatus = { state: 'offline', clock: this.now(), reason: 'connection lost' };
    const client = mqtt.connect(this.opts.url, {
      clientId: nodeClientId(nodeId),
      username: this.opts.username,
      password: this.opts.password,
      // A persistent session: QoS 1 commands sent while we were away are delivered on return.
      clean: false,
      reconnectPeriod: 5000,
      connectTimeout: 10_000,
      // mqtt-packet otherwise pre-builds a 2-byte Buffer for each of the 65 536 packet ids: 6 MB of
      // heap to save an allocation per publish, a poor trade at a few messages a second.
      writeCache: false,
      will: {
        topic: topics.status(nodeId),
        payload: Buffer.from(JSON.stringify(offline)),
        qos: 1,
        retain: true,
      },
    });
    this.client = client;
    client.on('connect', () => {
      this.opts.logger?.info('control channel connected');
      client.subscribe(topics.commands(nodeId), { qos: 1 }, (err) => {
        if (err) this.opts.logger?.error({ err }, 'subscribe to commands failed');
      });
      void this.sendHeartbeat();
    });
    client.on('message', (topic, payload) => {
      if (topic !== topics.commands(nodeId)) return;
      let parsed: unknown;
      try {
        parsed = JSON.parse(payload.toString());
      } catch {
        this.opts.logger?.warn('command payload is not JSON; ignored');
        return;
      }
      void this.dispatcher?.handle(parsed);
    });
    client.on('error', (err) => this.opts.logger?.warn({ err: err.message }, 'control channel error'));
    this.heartbeat = setInterval(() => void this.sendHeartbeat(), this.opts.heartbeatMs ?? 60_000);
    if (this.opts.live) {
      this.liveTimer = setInterval(() => this.sendLive(), this.opts.liveIntervalMs ?? 5000);
    }
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, waitMs);
      client.once('connect', () => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  async sendHeartbeat(): Promise<void> {
    if (!this.client?.connected) return;
    try {
      const status: NodeStatus = { ...(await this.opts.status()), state: 'online', clock: this.now() };
      // Retained, so it replaces the retained last will once we are back.
      await this.client.publishAsync(topics.status(this.opts.nodeId), JSON.stringify(status), {
        qos: 1,
        retain: true,
      });
      this.lastHeartbeatAt = Date.now();
    } catch (err) {
      this.opts.logger?.warn({ err: (err as Error).message }, 'heartbeat failed');
    }
  }

  private sendLive(): void {
    const snapshot = this.opts.live?.();
    if (!snapshot || !this.client?.connected) return;
    this.client.publish(topics.live(this.opts.nodeId), JSON.stringify(snapshot), { qos: 0 });
  }

  /**
   * Replies are QoS 1 and not awaited: mqtt.js keeps them in order and queues them while offline,
   * so a flaky link delays the report, never the command itself.
   */
  reply = (response: Response): void => {
    if (!this.client) throw new Error('control channel not started');
    this.client.publish(topics.responses(this.opts.nodeId), JSON.stringify(response), { qos: 1 }, (err) => {
      if (err) this.opts.logger?.warn({ err: err.message, id: response.id }, 'command reply not sent');
    });
  };

  async stop(): Promise<void> {
    clearInterval(this.heartbeat);
    clearInterval(this.liveTimer);
    const client = this.client;
    if (!client) return;
    // A clean shutdown says so itself: the will only fires on an unexpected disconnect.
    if (client.connected) {
      const bye: NodeStatus = { state: 'offline', clock: this.now(), reason: 'agent stopped' };
      await client
        .publishAsync(topics.status(this.opts.nodeId), JSON.stringify(bye), { qos: 1, retain: true })
        .catch(() => {});
    }
    await client.endAsync();
  }
}
