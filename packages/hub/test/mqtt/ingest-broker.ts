// Shared by the MQTT loss-window tests (ingest-outage, ingest-sigkill): a real Mosquitto with
// persistence and the deployed session/queue settings, and hub processes (the CLI) in
// external-broker mode on PostgreSQL that keep its password/ACL files.
import { writeFileSync } from 'node:fs';
import { MOSQUITTO_SESSION_SETTINGS, mosquittoAcl } from '../../src/mqtt/mosquitto-files.ts';
import { hashMqttPassword } from '../../src/nodes/credentials.ts';
import { ADMIN_TOKEN } from '../helpers/hub.ts';
import { HubProcess } from '../helpers/hub-process.ts';
import { freePort, HUB_USER, mosquittoFiles, startMosquitto, type TestMosquitto } from './mosquitto.ts';

/**
 * Mosquitto needs the hub's login before any hub runs (the hub writes the files at start, but
 * connects right after): the files are seeded here with the hub's own generator; the hub keeps
 * them (its line still verifies) and adds the nodes as they enroll.
 */
export async function startIngestBroker(): Promise<TestMosquitto> {
  const { dir, files } = mosquittoFiles();
  writeFileSync(files.passwordFile, `${HUB_USER.username}:${hashMqttPassword(HUB_USER.password)}\n`);
  writeFileSync(files.aclFile, mosquittoAcl(HUB_USER.username));
  return startMosquitto(dir, files, MOSQUITTO_SESSION_SETTINGS, { persistence: true });
}

/** A hub process against `broker`; `hubId` names its broker sessions (stable across restarts). */
export async function ingestHub(
  broker: TestMosquitto,
  databaseUrl: string,
  hubId: string,
  extra: Record<string, string> = {},
): Promise<HubProcess> {
  const hub = new HubProcess({
    DATABASE_URL: databaseUrl,
    HOST: '127.0.0.1',
    // One port for the hub's whole life: agents keep its HTTP address across restarts.
    PORT: String(await freePort()),
    HUB_ID: hubId,
    MQTT_URL: broker.url,
    MQTT_USERNAME: HUB_USER.username,
    MQTT_PASSWORD: HUB_USER.password,
    MOSQUITTO_PASSWORD_FILE: broker.files.passwordFile,
    MOSQUITTO_ACL_FILE: broker.files.aclFile,
    MOSQUITTO_PID_FILE: broker.files.pidFile,
    MOSQUITTO_SYNC_MS: '200',
    MQTT_INGEST_CONNECTIONS: '4',
    WATTFLEET_ADMIN_TOKEN: ADMIN_TOKEN,
    WATTFLEET_DEMO: '0',
    LOG_LEVEL: 'warn',
    ...extra,
  });
  // A hub start on a machine shared with other test runs can take a while; not a speed test.
  hub.startTimeoutMs = 120_000;
  return hub;
}

export function adminApi(hubUrl: () => string) {
  return async (path: string, body: unknown) => {
    const res = await fetch(`${hubUrl()}/api/v1${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const json = (await res.json()) as Record<string, string>;
    if (res.status >= 300) throw new Error(`${path}: ${res.status} ${JSON.stringify(json)}`);
    return json;
  };
}

/** Small deterministic PRNG (mulberry32): a failing run can be replayed with its seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
