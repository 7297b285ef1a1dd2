// The site's LAN broker, shared: every `mqtt-device` source on one broker uses one connection
// (a plug is one source; a home has dozens), counted so it closes with its last source. With
// `broker: { embedded: … }` the agent runs the broker itself (aedes) for sites without one; its
// own sources connect to it over loopback like any other client, so both paths are one code path.
import { timingSafeEqual } from 'node:crypto';
import { type AddressInfo, createServer, type Server, type Socket } from 'node:net';
import type { LocalBrokerConfig } from '@wattfleet/devices/sources';
import mqtt, { type MqttClient } from 'mqtt';

type Handler = (topic: string, payload: Buffer) => void;

export interface LocalBrokerLink {
  readonly url: string;
  readonly client: MqttClient;
  /** Why the last connection attempt failed, while not connected. */
  lastError(): string | undefined;
  subscribe(topics: readonly string[], handler: Handler): Promise<void>;
  publish(topic: string, payload: string): Promise<void>;
  release(): Promise<void>;
}

const same = (a: string, b: string) => {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
};

interface Embedded {
  url: string;
  users: number;
  close(): Promise<void>;
}
const embedded = new Map<string, Promise<Embedded>>();

async function startEmbedded(cfg: {
  host?: string;
  port?: number;
  username?: string;
  password?: string;
}): Promise<Embedded> {
  const { Aedes } = await import('aedes');
  const broker = await Aedes.createBroker({
    authenticate: (_client, username, password, done) => {
      if (!cfg.username) return done(null, true);
      const ok =
        username !== undefined &&
        same(username, cfg.username) &&
        same(password?.toString('utf8') ?? '', cfg.password ?? '');
      if (ok) return done(null, true);
      const err = Object.assign(new Error('bad user name or password'), { returnCode: 4 });
      done(err as Parameters<typeof done>[0], false);
    },
  });
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    broker.handle(socket);
  });
  const host = cfg.host ?? '0.0.0.0';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(cfg.port ?? 1883, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const local = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  return {
    url: `mqtt://${local}:${port}`,
    users: 0,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

interface Shared {
  link: LocalBrokerLink;
  users: number;
  handlers: Map<string, Set<Handler>>;
}
const shared = new Map<string, Promise<Shared>>();

/** Joins the broker of `cfg` (starting the embedded one if asked), shared with the other sources. */
export async function joinBroker(cfg: LocalBrokerConfig, clientId: string): Promise<LocalBrokerLink> {
  let url: string;
  let release = async () => {};
  const creds = 'embedded' in cfg ? cfg.embedded : cfg;
  if ('embedded' in cfg) {
    const key = `${cfg.embedded.host ?? '0.0.0.0'}:${cfg.embedded.port ?? 1883}`;
    let p = embedded.get(key);
    if (!p) {
      p = startEmbedded(cfg.embedded);
      embedded.set(key, p);
      p.catch(() => embedded.delete(key));
    }
    const e = await p;
    e.users++;
    url = e.url;
    release = async () => {
      if (--e.users > 0) return;
      embedded.delete(key);
      await e.close();
    };
  } else url = cfg.url;

  const key = `${url}|${creds.username ?? ''}`;
  let p = shared.get(key);
  if (!p) {
    p = connectShared(url, creds, clientId, () => shared.delete(key));
    shared.set(key, p);
  }
  const s = await p;
  s.users++;
  const mine = new Map<string, Handler>();
  return {
    url,
    client: s.link.client,
    lastError: s.link.lastError,
    async subscribe(topics, handler) {
      for (const t of topics) {
        let set = s.handlers.get(t);
        if (!set) {
          set = new Set();
          s.handlers.set(t, set);
        }
        set.add(handler);
        mine.set(t, handler);
      }
      // Subscriptions survive reconnects (mqtt.js resubscribes); qos 1 as the devices publish.
      await s.link.client.subscribeAsync([...topics], { qos: 1 });
    },
    publish: (topic, payload) => s.link.publish(topic, payload),
    async release() {
      for (const [t, h] of mine) s.handlers.get(t)?.delete(h);
      mine.clear();
      if (--s.users === 0) {
        shared.delete(key);
        await s.link.release();
      }
      await release();
    },
  };
}

async function connectShared(
  url: string,
  creds: { username?: string; password?: string },
  clientId: string,
  forget: () => void,
): Promise<Shared> {
  const client = mqtt.connect(url, {
    clientId,
    ...(creds.username ? { username: creds.username, password: creds.password ?? '' } : {}),
    reconnectPeriod: 2000,
    connectTimeout: 5000,
    clean: true,
  });
  let error: string | undefined;
  client.on('error', (err) => {
    error = err.message;
  });
  client.on('connect', () => {
    error = undefined;
  });
  client.on('close', () => {
    error ??= 'connection closed';
  });
  const handlers = new Map<string, Set<Handler>>();
  client.on('message', (topic, payload) => {
    for (const h of handlers.get(topic) ?? []) h(topic, payload);
  });
  return {
    users: 0,
    handlers,
    link: {
      url,
      client,
      lastError: () => (client.connected ? undefined : (error ?? 'connecting')),
      subscribe: async () => {},
      async publish(topic, payload) {
        await client.publishAsync(topic, payload, { qos: 1 });
      },
      async release() {
        forget();
        await client.endAsync(true);
      },
    },
  };
}
