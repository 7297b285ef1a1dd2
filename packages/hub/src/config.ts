// Hub configuration from the environment. Absence of DATABASE_URL / MQTT_URL means embedded mode.
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { type RateLimitStoreConfig, redisUrl } from './http/rate-limit-store.ts';
import { type SecretsConfig, secretsConfig } from './secrets/master-key.ts';
import { type VendorsConfig, vendorsConfig } from './vendors/vendors.config.ts';

/** HTTPS and MQTT over TLS served by the hub itself (TLS_CERT_FILE / TLS_KEY_FILE). */
export interface HubTls {
  cert: Buffer;
  key: Buffer;
  /** The embedded broker's TLS listener (MQTT_TLS_PORT, default 8883; 0 = a free port). */
  mqttPort: number;
}

export interface HubConfig {
  /** Set: the hub serves HTTPS (and the embedded broker a TLS listener). Behind a TLS proxy: unset. */
  tls: HubTls | undefined;
  /** HTTP bind address. Loopback unless HOST says otherwise: a demo must not face the network. */
  host: string;
  port: number;
  /** Embedded MQTT broker bind address (MQTT_HOST); loopback by default like `host`. */
  mqttHost: string;
  /**
   * Names this hub in metrics (`hub` label), logs, vendor leases and the vendor connection log:
   * WATTFLEET_HUB_ID (HUB_ID is a deprecated alias), else host name and port. Must be unique per
   * hub process: two hubs with one name would both hold the same vendor leases.
   */
  hubId: string;
  /** Settings that are still honoured under an old name; logged as warnings when the hub starts. */
  deprecations: string[];
  /** Bearer token that opens GET /metrics on the main port; without it (and without METRICS_PORT) /metrics is off. */
  metricsToken: string | undefined;
  /** A separate listener for /metrics (no token; bind it to a private interface). */
  metricsPort: number | undefined;
  metricsHost: string;
  /** A job run longer than this (s) makes /readyz fail with the `jobs` check. */
  jobStallS: number;
  /** Requests slower than this (ms) are logged at info even though request logs are at debug. */
  slowRequestMs: number;
  /** 'pretty' (a terminal), 'json' (anything else), or 'auto' (LOG_FORMAT) — see observability/logger.ts. */
  logFormat: 'auto' | 'pretty' | 'json';
  /** postgres://… for production; undefined selects PGlite in dataDir. */
  databaseUrl: string | undefined;
  /**
   * DATABASE_READ_URL: a streaming (hot-standby) replica of DATABASE_URL. Dashboard, telemetry and
   * fleet-overview reads go there; writes, auth, commands, config and any read right after a write
   * of the same request stay on the primary. Ignored without DATABASE_URL (PGlite has no replica).
   */
  databaseReadUrl: string | undefined;
  dataDir: string;
  /** mqtt://… of an external broker; undefined starts the embedded aedes broker. */
  mqttUrl: string | undefined;
  /**
   * The broker address handed to nodes at enrollment (MQTT_PUBLIC_URL), when it differs from the
   * one the hub itself uses (MQTT_URL is often loopback). Unset: the embedded broker on the host
   * the enrolling request reached, or MQTT_URL when a node can reach it (see enrollment.service.ts).
   */
  mqttPublicUrl: string | undefined;
  mqttPort: number;
  /** MQTT_PORT was given: a busy port is then an error, not a reason to pick another. */
  mqttPortExplicit: boolean;
  /** Static admin bearer token: the seam for operator scripts and tests until users exist. */
  adminToken: string | undefined;
  jwtSecret: string | undefined;
  retention: { rawDays: number; hourlyDays: number };
  /** Days of sample partitions created ahead of time. */
  partitionsAheadDays: number;
  ingest: {
    maxBodyBytes: number;
    nodeRatePerMinute: number;
    /** Ingest transactions in flight at once; batches waiting meanwhile are committed together. */
    writers: number;
    /** Samples per ingest transaction at most. */
    groupSamples: number;
  };
  /** Gaps longer than this are not integrated over (a node that was off produced no energy). */
  maxIntegrationGapS: number;
  logLevel: string;
  demo: boolean;
  /** Trust X-Forwarded-For (only behind a reverse proxy you run; else clients could spoof their IP). */
  trustProxy: boolean;
  /** Where HTTP rate-limit counters live (http/rate-limit-store.ts): REDIS_URL, else this process. */
  rateLimit: RateLimitStoreConfig;
  /** The vault's master key (secrets/master-key.ts). */
  secrets: SecretsConfig;
  vendors: VendorsConfig;
}

function int(name: string, fallback: number, env: NodeJS.ProcessEnv): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got "${raw}"`);
  return n;
}

function logFormat(raw: string | undefined): HubConfig['logFormat'] {
  if (raw === undefined || raw === '' || raw === 'auto') return 'auto';
  if (raw === 'pretty' || raw === 'json') return raw;
  throw new Error(`LOG_FORMAT must be auto, pretty or json, got "${raw}"`);
}

/**
 * WATTFLEET_HUB_ID, else the deprecated HUB_ID (with a warning), else `<hostname>:<PORT>` — with
 * PORT=0 (a free port, unknown here) the process id instead, so two such hubs on one machine
 * still differ.
 */
function hubIdFrom(env: NodeJS.ProcessEnv, deprecations: string[]): string {
  if (env.WATTFLEET_HUB_ID) {
    if (env.HUB_ID && env.HUB_ID !== env.WATTFLEET_HUB_ID)
      deprecations.push('HUB_ID is deprecated and ignored: WATTFLEET_HUB_ID is set and wins');
    return env.WATTFLEET_HUB_ID;
  }
  if (env.HUB_ID) {
    deprecations.push('HUB_ID is deprecated: rename it to WATTFLEET_HUB_ID (same meaning)');
    return env.HUB_ID;
  }
  const port = env.PORT || '8080';
  return `${hostname()}:${port === '0' ? `pid${process.pid}` : port}`;
}

function brokerUrl(name: string, env: NodeJS.ProcessEnv): string | undefined {
  const raw = env[name];
  if (!raw) return undefined;
  let url: URL | undefined;
  try {
    url = new URL(raw);
  } catch {}
  if (!url || !['mqtt:', 'mqtts:', 'ws:', 'wss:'].includes(url.protocol) || !url.hostname)
    throw new Error(`${name} must be an mqtt://, mqtts://, ws:// or wss:// URL with a host, got "${raw}"`);
  return raw;
}

function tlsConfig(env: NodeJS.ProcessEnv): HubTls | undefined {
  const certFile = env.TLS_CERT_FILE;
  const keyFile = env.TLS_KEY_FILE;
  if (!certFile && !keyFile) return undefined;
  if (!certFile || !keyFile)
    throw new Error('TLS_CERT_FILE and TLS_KEY_FILE go together: set both or neither');
  const read = (name: string, file: string) => {
    try {
      return readFileSync(file);
    } catch (err) {
      throw new Error(`${name}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? err})`);
    }
  };
  return {
    cert: read('TLS_CERT_FILE', certFile),
    key: read('TLS_KEY_FILE', keyFile),
    mqttPort: int('MQTT_TLS_PORT', 8883, env),
  };
}

export function loadConfig(
  env: NodeJS.ProcessEnv = process.env,
  overrides: Partial<HubConfig> = {},
): HubConfig {
  const deprecations: string[] = [];
  const hubId = hubIdFrom(env, deprecations);
  const config: HubConfig = {
    host: env.HOST || '127.0.0.1',
    port: int('PORT', 8080, env),
    tls: tlsConfig(env),
    mqttHost: env.MQTT_HOST || env.HOST || '127.0.0.1',
    hubId,
    deprecations,
    metricsToken: env.METRICS_TOKEN || undefined,
    metricsPort: env.METRICS_PORT ? int('METRICS_PORT', 0, env) : undefined,
    metricsHost: env.METRICS_HOST || '127.0.0.1',
    jobStallS: int('JOB_STALL_S', 900, env),
    slowRequestMs: int('SLOW_REQUEST_MS', 1000, env),
    logFormat: logFormat(env.LOG_FORMAT),
    databaseUrl: env.DATABASE_URL || undefined,
    databaseReadUrl: (env.DATABASE_URL && env.DATABASE_READ_URL) || undefined,
    dataDir: resolve(env.WATTFLEET_DATA_DIR ?? './data'),
    mqttUrl: env.MQTT_URL || undefined,
    mqttPublicUrl: brokerUrl('MQTT_PUBLIC_URL', env),
    mqttPort: int('MQTT_PORT', 1883, env),
    mqttPortExplicit: Boolean(env.MQTT_PORT),
    adminToken: env.WATTFLEET_ADMIN_TOKEN || undefined,
    jwtSecret: env.WATTFLEET_JWT_SECRET || undefined,
    retention: {
      rawDays: int('RETENTION_RAW_DAYS', 30, env),
      hourlyDays: int('RETENTION_HOURLY_DAYS', 730, env),
    },
    partitionsAheadDays: int('PARTITIONS_AHEAD_DAYS', 3, env),
    ingest: {
      maxBodyBytes: int('INGEST_MAX_BODY_BYTES', 4 * 1024 * 1024, env),
      nodeRatePerMinute: int('INGEST_NODE_RATE_PER_MINUTE', 600, env),
      writers: int('INGEST_WRITERS', 2, env),
      groupSamples: int('INGEST_GROUP_SAMPLES', 20_000, env),
    },
    maxIntegrationGapS: int('MAX_INTEGRATION_GAP_S', 900, env),
    logLevel: env.LOG_LEVEL ?? 'info',
    demo: env.WATTFLEET_DEMO === '1',
    trustProxy: env.TRUST_PROXY === '1' || env.TRUST_PROXY === 'true',
    rateLimit: {
      url: redisUrl(env.REDIS_URL),
      nameSpace: env.RATE_LIMIT_NAMESPACE || 'wattfleet-rate-limit:',
    },
    secrets: secretsConfig(env, resolve(env.WATTFLEET_DATA_DIR ?? './data')),
    vendors: vendorsConfig(env, hubId),
    ...overrides,
  };
  if (config.ingest.writers < 1) throw new Error('INGEST_WRITERS must be at least 1');
  if (config.metricsToken !== undefined && config.metricsToken.length < 16)
    throw new Error('METRICS_TOKEN must be at least 16 characters');
  if (config.retention.rawDays < 1) throw new Error('RETENTION_RAW_DAYS must be at least 1');
  return config;
}
