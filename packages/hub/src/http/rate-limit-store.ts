// Where the HTTP rate-limit counters live (ingest per node, enrollment per address, control per
// user and per channel). One hub: in memory. Several hubs behind a load balancer: in Redis
// (REDIS_URL), so a limit of 20 a minute stays 20 a minute instead of 20 per hub (issue 16.3).
// Login throttling is separate and already in the database (identity/login-throttle.ts).
//
// Redis unreachable: the limits fail open (requests pass) and the hub says so in its log, at most
// every 30 s. A limiter must not turn a Redis outage into a fleet-wide ingest outage; the commands
// fail at once (no offline queue, one attempt) so no request waits on a dead Redis.
import { Redis } from 'ioredis';

export interface RateLimitStoreConfig {
  /** redis:// or rediss:// URL; undefined keeps the counters in this process. */
  url: string | undefined;
  /** Key prefix, so several deployments (or test runs) can share one Redis. */
  nameSpace: string;
}

export interface RateLimitStore {
  /** Options handed to @fastify/rate-limit. */
  pluginOptions: { redis?: Redis; nameSpace?: string; skipOnError?: boolean };
  kind: 'memory' | 'redis';
  /** Resolves once Redis answers (or after a short wait): the first requests are then counted. */
  ready(): Promise<void>;
  close(): Promise<void>;
}

interface Log {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

export function redisUrl(raw: string | undefined): string | undefined {
  if (!raw) return undefined;
  let url: URL | undefined;
  try {
    url = new URL(raw);
  } catch {}
  if (!url || !['redis:', 'rediss:'].includes(url.protocol) || !url.hostname)
    throw new Error(`REDIS_URL must be a redis:// or rediss:// URL with a host, got "${raw}"`);
  return raw;
}

const WARN_EVERY_MS = 30_000;
const READY_WAIT_MS = 3000;

export function rateLimitStore(config: RateLimitStoreConfig, log: Log): RateLimitStore {
  if (!config.url) return { pluginOptions: {}, kind: 'memory', ready: async () => {}, close: async () => {} };
  const redis = new Redis(config.url, {
    connectTimeout: 2000,
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    // Keep trying in the background; requests meanwhile pass unlimited (see above).
    retryStrategy: (attempt) => Math.min(attempt * 200, 5000),
  });
  let lastWarn = 0;
  redis.on('error', (err: Error) => {
    const now = Date.now();
    if (now - lastWarn < WARN_EVERY_MS) return;
    lastWarn = now;
    log.warn(
      { err: { message: err.message }, redis: redacted(config.url!) },
      'rate-limit store unreachable: limits are not enforced until it is back',
    );
  });
  redis.on('ready', () => log.info({ redis: redacted(config.url!) }, 'rate-limit counters in redis'));
  return {
    pluginOptions: { redis, nameSpace: config.nameSpace, skipOnError: true },
    kind: 'redis',
    // Without this wait the requests of the first moments after start meet a Redis still
    // connecting and pass uncounted (no offline queue, fail open).
    ready: () =>
      new Promise<void>((resolve) => {
        if (redis.status === 'ready') return resolve();
        const timer = setTimeout(resolve, READY_WAIT_MS);
        redis.once('ready', () => {
          clearTimeout(timer);
          resolve();
        });
      }),
    close: async () => {
      redis.disconnect();
    },
  };
}

/** The URL without its password, for logs. */
function redacted(raw: string): string {
  const url = new URL(raw);
  if (url.password) url.password = '***';
  return url.toString();
}
