// Control-plane settings. Kept beside the code that uses them and merged into HubConfig under
// `controlPlane`; tests pass overrides there, the server reads the environment.
import type { HubConfig } from '../config.ts';

export interface MosquittoFilesConfig {
  passwordFile: string;
  aclFile: string;
  /** Mosquitto's pid file; when set the hub sends SIGHUP after rewriting the files. */
  pidFile: string | undefined;
}

/** BROKER=nats: JetStream-backed broker tier (see nats-broker.ts). */
export interface NatsConfig {
  servers: string[];
  /** The MQTT listener nodes connect to (told at enrollment). */
  mqttUrl: string;
  user: string | undefined;
  password: string | undefined;
  stream: string;
  replicas: number;
  durable: string;
  ackWaitS: number;
}

export interface ControlPlaneConfig {
  /** Set when BROKER=nats (needs NATS_URL); otherwise MQTT_URL / the embedded broker. */
  nats: NatsConfig | undefined;
  /** No heartbeat for this long → offline (reason 'silence'). */
  offlineAfterS: number;
  /** How often the offline sweep and the command expiry run. */
  sweepIntervalMs: number;
  /** Heartbeats are buffered and written in one statement this often. */
  heartbeatFlushMs: number;
  /** Node clock further off than this raises node.clock_drift. */
  clockDriftMs: number;
  /** Shared-subscription group of the hubs (external brokers only; aedes has no $share). */
  sharedGroup: string;
  /** Set false to subscribe without $share (brokers without MQTT 5 shared subscriptions). */
  sharedSubscriptions: boolean;
  /** Connections per hub that take telemetry/events/daily from the shared subscription (≥ 1). */
  ingestConnections: number;
  /**
   * This hub's name in its broker session ids (`wattfleet-hub-{sessionId}-ingest-{n}`): stable
   * across restarts, so a restarted hub resumes the sessions the broker kept queueing for, and
   * unique per hub, so two hubs never take each other's sessions over.
   */
  sessionId: string;
  /**
   * How long (s) the broker keeps an ingest session, and queues its share of the batches, while
   * this hub is away. 0: clean sessions (what nodes send while no hub is connected is lost).
   */
  sessionExpiryS: number;
  /** Hub credentials at an external broker. */
  username: string | undefined;
  password: string | undefined;
  /** Mosquitto password/ACL files the hub keeps in sync; undefined when the broker is managed elsewhere. */
  mosquitto: MosquittoFilesConfig | undefined;
  mosquittoSyncMs: number;
  /** A realtime client with more unsent bytes than this is dropped. */
  realtimeMaxBufferedBytes: number;
  /** Pending commands of an online node are published again after this long unanswered. */
  commandRedeliverMs: number;
}

declare module '../config.ts' {
  interface HubConfig {
    controlPlane?: Partial<ControlPlaneConfig>;
  }
}

function num(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name} must be a non-negative number, got "${raw}"`);
  return n;
}

/** HUB_ID (default host name and port) made safe for a client id: letters, digits, `._-`. */
export function sessionIdFrom(hubId: string): string {
  return hubId.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 64);
}

export function controlPlaneConfig(
  config: HubConfig,
  env: NodeJS.ProcessEnv = process.env,
): ControlPlaneConfig {
  const passwordFile = env.MOSQUITTO_PASSWORD_FILE || undefined;
  const aclFile = env.MOSQUITTO_ACL_FILE || undefined;
  const nats: NatsConfig | undefined =
    env.BROKER === 'nats'
      ? {
          servers: (env.NATS_URL || 'nats://127.0.0.1:4222').split(',').map((u) => u.trim()),
          mqttUrl: env.NATS_MQTT_URL || env.MQTT_URL || 'mqtt://127.0.0.1:1883',
          user: env.NATS_USER || undefined,
          password: env.NATS_PASSWORD || undefined,
          stream: env.NATS_STREAM || 'WATTFLEET_NODES',
          replicas: Math.max(1, Math.min(5, num(env, 'NATS_REPLICAS', 1))),
          durable: env.NATS_DURABLE || 'hub-ingest',
          ackWaitS: Math.max(1, num(env, 'NATS_ACK_WAIT_S', 30)),
        }
      : undefined;
  return {
    nats,
    offlineAfterS: num(env, 'HEARTBEAT_OFFLINE_S', 300),
    sweepIntervalMs: num(env, 'HEARTBEAT_SWEEP_MS', 3000),
    heartbeatFlushMs: num(env, 'HEARTBEAT_FLUSH_MS', 1000),
    clockDriftMs: num(env, 'CLOCK_DRIFT_MS', 60_000),
    sharedGroup: env.MQTT_SHARED_GROUP || 'hub',
    sharedSubscriptions: env.MQTT_SHARED_SUBSCRIPTIONS !== '0',
    ingestConnections: Math.max(1, num(env, 'MQTT_INGEST_CONNECTIONS', 16)),
    sessionId: sessionIdFrom(env.MQTT_SESSION_ID || config.hubId),
    // MQTT 5 carries the interval in 32 bits; 0xFFFFFFFF would mean "never expires".
    sessionExpiryS: Math.min(0xfffffffe, Math.floor(num(env, 'MQTT_SESSION_EXPIRY_S', 86_400))),
    username: env.MQTT_USERNAME || undefined,
    password: env.MQTT_PASSWORD || undefined,
    mosquitto:
      passwordFile && aclFile
        ? { passwordFile, aclFile, pidFile: env.MOSQUITTO_PID_FILE || undefined }
        : undefined,
    mosquittoSyncMs: num(env, 'MOSQUITTO_SYNC_MS', 10_000),
    realtimeMaxBufferedBytes: num(env, 'REALTIME_MAX_BUFFERED_BYTES', 1024 * 1024),
    commandRedeliverMs: num(env, 'COMMAND_REDELIVER_MS', 60_000),
    ...config.controlPlane,
  };
}
