// Shared by the control-plane tests: a test hub with its control plane started, MQTT node clients,
// and polling (a wait with a generous bound, never an assertion about speed).
import { nodeClientId } from '@wattfleet/protocol';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { HubConfig } from '../../src/config.ts';
import type { ControlPlaneConfig } from '../../src/mqtt/config.ts';
import { type ControlPlane, startControlPlane } from '../../src/mqtt/control-plane.ts';
import type { Engine } from '../../src/storage/database.ts';
import { startTestHub, type TestHub, type TestNode } from '../helpers/hub.ts';

export interface MqttTestHub extends TestHub {
  cp: ControlPlane;
  url: string;
}

/** A test hub with the embedded aedes broker on a free loopback port. */
export async function startMqttHub(
  engine: Engine,
  cp: Partial<ControlPlaneConfig> = {},
  overrides: Partial<HubConfig> = {},
  opts: { logs?: string[] } = {},
): Promise<MqttTestHub> {
  const hub = await startTestHub(
    engine,
    {
      host: '127.0.0.1',
      mqttPort: 0,
      mqttUrl: undefined,
      controlPlane: { heartbeatFlushMs: 100, sweepIntervalMs: 200, ...cp },
      ...overrides,
    },
    opts,
  );
  const plane = await startControlPlane(hub.app);
  return Object.assign(hub, { cp: plane, url: plane.brokerUrl! });
}

export async function connectNode(
  url: string,
  node: Pick<TestNode, 'nodeId' | 'mqttPassword'>,
  opts: IClientOptions = {},
): Promise<MqttClient> {
  return mqtt.connectAsync(url, {
    username: node.nodeId,
    password: node.mqttPassword,
    // A suffix of the node's own id, so several test clients of one node can be connected at once.
    clientId: `${nodeClientId(node.nodeId)}-${Math.random().toString(36).slice(2, 8)}`,
    protocolVersion: 4,
    reconnectPeriod: 0,
    connectTimeout: 5000,
    ...opts,
  });
}

/** Polls until `fn` returns a truthy value; throws with the last value after `ms`. */
export async function waitFor<T>(
  fn: () => Promise<T> | T,
  ms = 10_000,
  what = 'condition',
): Promise<NonNullable<T>> {
  const deadline = Date.now() + ms;
  let last: T | undefined;
  for (;;) {
    last = await fn();
    if (last) return last as NonNullable<T>;
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}; last value ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function nodeRow(hub: TestHub, nodeId: string) {
  return hub.app.hub.db.selectFrom('nodes').selectAll().where('id', '=', nodeId).executeTakeFirstOrThrow();
}

export function status(extra: Record<string, unknown> = {}) {
  return JSON.stringify({ state: 'online', clock: Date.now(), agentVersion: '1.2.3', ...extra });
}

/** Granted QoS per filter; mqtt.js rejects a SUBACK holding any refusal (0x80), so read it from the error. */
export async function grantedQos(client: MqttClient, filters: string[], qos: 0 | 1 = 1): Promise<number[]> {
  try {
    return (await client.subscribeAsync(filters, { qos })).map((g) => g.qos);
  } catch (err) {
    const packet = (err as { packet?: { granted?: (number | { qos: number })[] } }).packet;
    if (!packet?.granted) throw err;
    return packet.granted.map((g) => (typeof g === 'number' ? g : g.qos));
  }
}
