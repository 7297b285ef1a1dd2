// Embedded broker (default when MQTT_URL is unset): aedes inside the hub process. Nodes log in
// with username = node id and their MQTT password, checked against the stored $7$ hash; they may
// publish and subscribe only under nodes/{own id}/# and additionally subscribe to hub/broadcast.
// The client id must be one bound to the username (`clientIdBelongsTo`): otherwise a node could
// take over another node's session (disconnect it, fire its will, receive its queued commands).
// `authorizeForward` checks every delivery again, queued ones included, against the receiving
// node's own namespace, so nothing addressed to one identity ever reaches another.
// The hub itself is an in-process client (broker.subscribe / broker.publish): no socket, no login.
// Unified-namespace readers (username `uns-…`, uns/uns.access.ts) may only subscribe inside their
// org's tree `wattfleet/v1/{org slug}/…` and never publish; nobody but the hub publishes there.
import { type AddressInfo, createServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:tls';
import {
  BROADCAST_TOPIC,
  clientIdBelongsTo,
  isOwnTopic,
  type NodeChannel,
  topics,
} from '@wattfleet/protocol';
import { Aedes, type AuthenticateError, type Client } from 'aedes';
import type { Kysely } from 'kysely';
import { verifyMqttPassword } from '../nodes/credentials.ts';
import type { DB } from '../storage/schema.ts';
import { UnsAccess, type UnsReader } from '../uns/uns.access.ts';
import type { ControlBroker, MessageHandler, PublishOptions } from './broker.ts';

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export interface AedesBrokerOptions {
  db: Kysely<DB>;
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** When the port is taken (say a system Mosquitto on 1883), take a free one and warn. */
  fallbackToFreePort?: boolean;
  log: { warn: (obj: object, msg: string) => void };
  /** A second listener speaking MQTT over TLS (the hub's TLS_CERT_FILE/TLS_KEY_FILE); 0 = a free port. */
  tls?: { cert: Buffer; key: Buffer; port: number } | undefined;
  /** Unified-namespace readers; without it only nodes may log in. */
  uns?: UnsAccess;
}

/** CONNACK codes of MQTT 3.1.1: 2 = identifier rejected, 4 = bad user name or password. */
function authError(message: string, returnCode: 2 | 4 = 4): AuthenticateError {
  return Object.assign(new Error(message), { returnCode }) as AuthenticateError;
}

export class AedesBroker implements ControlBroker {
  readonly kind = 'aedes' as const;
  private broker: Aedes | undefined;
  private server: Server | undefined;
  private tlsServer: TlsServer | undefined;
  private readonly nodeOf = new WeakMap<Client, string>();
  private readonly readerOf = new WeakMap<Client, UnsReader>();
  private readonly sockets = new Set<Socket>();
  private readonly disconnectListeners: ((nodeId: string) => void)[] = [];
  url = '';
  /** mqtts://host:port of the TLS listener, when there is one: what nodes are told to use. */
  tlsUrl: string | undefined;

  constructor(private readonly opts: AedesBrokerOptions) {}

  /** Whether a node may touch this topic (publish) or filter (subscribe). */
  static allowed(nodeId: string, topic: string, action: 'publish' | 'subscribe'): boolean {
    if (action === 'subscribe' && topic === BROADCAST_TOPIC) return true;
    return isOwnTopic(nodeId, topic);
  }

  async start(): Promise<void> {
    const { db } = this.opts;
    const broker = await Aedes.createBroker({
      authenticate: (client, username, password, done) => {
        const uns = this.opts.uns;
        if (uns && username && UnsAccess.isReaderUsername(username)) {
          if (!UnsAccess.clientIdBelongsTo(username, client.id)) {
            done(authError(`client id must be ${username} or start with ${username}-`, 2), false);
            return;
          }
          if (!password) return done(authError('a password is required'), false);
          uns
            .authenticate(username, password.toString('utf8'))
            .then((reader) => {
              if (!reader) return done(authError('unknown or revoked reader, or wrong password'), false);
              this.readerOf.set(client, reader);
              done(null, true);
            })
            .catch((err: Error) => done(authError(err.message), false));
          return;
        }
        if (!username || !UUID_RE.test(username) || !password) {
          done(authError('username must be the node id and a password is required'), false);
          return;
        }
        if (!clientIdBelongsTo(username, client.id)) {
          // Checked before the password so no session is touched; aedes only replaces an existing
          // session with the same id after authenticate succeeds.
          this.opts.log.warn(
            { nodeId: username, clientId: client.id },
            'mqtt client id of another identity refused',
          );
          done(authError(`client id must be wf-node-${username}`, 2), false);
          return;
        }
        db.selectFrom('nodes')
          .select(['active', 'mqtt_password_hash'])
          .where('id', '=', username)
          .executeTakeFirst()
          .then((row) => {
            const ok =
              !!row?.active &&
              !!row.mqtt_password_hash &&
              verifyMqttPassword(password.toString('utf8'), row.mqtt_password_hash);
            if (!ok) return done(authError('unknown node, inactive node or wrong password'), false);
            this.nodeOf.set(client, username);
            done(null, true);
          })
          .catch((err: Error) => done(authError(err.message), false));
      },
      authorizePublish: (client, packet, done) => {
        // client is null for the hub's own in-process publishes.
        if (!client) return done(null);
        const nodeId = this.nodeOf.get(client);
        if (nodeId && AedesBroker.allowed(nodeId, packet.topic, 'publish')) return done(null);
        this.opts.log.warn({ nodeId, topic: packet.topic }, 'mqtt publish refused');
        done(new Error('not authorized'));
      },
      authorizeSubscribe: (client, sub, done) => {
        const reader = this.readerOf.get(client);
        if (reader) {
          if (this.opts.uns?.mayRead(reader, sub.topic)) return done(null, sub);
          this.opts.log.warn({ orgId: reader.orgId, topic: sub.topic }, 'uns subscribe refused');
          return done(null, null);
        }
        const nodeId = this.nodeOf.get(client);
        if (nodeId && AedesBroker.allowed(nodeId, sub.topic, 'subscribe')) return done(null, sub);
        this.opts.log.warn({ nodeId, topic: sub.topic }, 'mqtt subscribe refused');
        done(null, null); // SUBACK 0x80 for this filter; the connection stays up
      },
      authorizeForward: (client, packet) => {
        // Live and queued deliveries alike: only what this node may subscribe to.
        const reader = this.readerOf.get(client);
        if (reader) return this.opts.uns?.mayRead(reader, packet.topic) ? packet : null;
        const nodeId = this.nodeOf.get(client);
        if (nodeId && AedesBroker.allowed(nodeId, packet.topic, 'subscribe')) return packet;
        this.opts.log.warn({ nodeId, clientId: client.id, topic: packet.topic }, 'mqtt delivery refused');
        return null;
      },
    });
    broker.on('clientDisconnect', (client) => {
      const nodeId = this.nodeOf.get(client);
      // aedes marks a client that sent DISCONNECT; any other loss publishes the last will instead.
      if (nodeId && (client as unknown as { _disconnected?: boolean })._disconnected) {
        for (const l of this.disconnectListeners) l(nodeId);
      }
    });
    this.broker = broker;
    const accept = (socket: Socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
      broker.handle(socket);
    };
    const server = createServer(accept);
    const listenOn = (srv: Server, port: number) =>
      new Promise<void>((resolve, reject) => {
        srv.once('error', reject);
        srv.listen(port, this.opts.host, () => {
          srv.off('error', reject);
          resolve();
        });
      });
    const listen = (port: number) => listenOn(server, port);
    try {
      await listen(this.opts.port);
    } catch (err) {
      if (!this.opts.fallbackToFreePort || (err as { code?: string }).code !== 'EADDRINUSE') throw err;
      this.opts.log.warn(
        { port: this.opts.port },
        'MQTT port is taken (another broker?); the embedded broker listens on a free port instead — set MQTT_PORT to choose',
      );
      await listen(0);
    }
    this.server = server;
    const { port } = server.address() as AddressInfo;
    const host = this.opts.host === '0.0.0.0' || this.opts.host === '::' ? '127.0.0.1' : this.opts.host;
    this.url = `mqtt://${host}:${port}`;
    if (this.opts.tls) {
      // A failed TLS handshake (a plain client, an untrusted certificate) closes that socket only.
      const tlsServer = createTlsServer({ cert: this.opts.tls.cert, key: this.opts.tls.key }, accept);
      tlsServer.on('tlsClientError', () => {});
      await listenOn(tlsServer, this.opts.tls.port);
      this.tlsServer = tlsServer;
      this.tlsUrl = `mqtts://${host}:${(tlsServer.address() as AddressInfo).port}`;
    }
  }

  get connected(): boolean {
    return !!this.broker && !!this.server?.listening;
  }

  get port(): number {
    return (this.server?.address() as AddressInfo | null)?.port ?? 0;
  }

  async subscribeNodes(channel: NodeChannel, handler: MessageHandler): Promise<void> {
    const broker = this.mustBroker();
    await new Promise<void>((resolve) => {
      broker.subscribe(
        topics.allNodes(channel),
        (packet, cb) => {
          const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
          // In-process subscriptions never get retained replays; aedes keeps the flag on live
          // messages published with retain (a node's will), which would make them look stale.
          handler({ topic: packet.topic, payload, retain: false }).then(cb, cb);
        },
        resolve,
      );
    });
  }

  async publish(topic: string, payload: Buffer | string, opts: PublishOptions): Promise<void> {
    const broker = this.mustBroker();
    await new Promise<void>((resolve, reject) => {
      broker.publish(
        {
          cmd: 'publish',
          topic,
          payload: typeof payload === 'string' ? Buffer.from(payload) : payload,
          qos: opts.qos,
          retain: opts.retain ?? false,
          dup: false,
        },
        (err) => (err ? reject(err) : resolve()),
      );
    });
  }

  onNodeDisconnect(listener: (nodeId: string) => void): void {
    this.disconnectListeners.push(listener);
  }

  async stop(): Promise<void> {
    const servers = [this.server, this.tlsServer].filter((s): s is Server => s !== undefined);
    const broker = this.broker;
    this.server = undefined;
    this.tlsServer = undefined;
    this.broker = undefined;
    if (broker) await new Promise<void>((resolve) => broker.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    for (const server of servers) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private mustBroker(): Aedes {
    if (!this.broker) throw new Error('aedes broker is not started');
    return this.broker;
  }
}
