// Stand-ins for the firmware of MQTT plugs, written from the vendors' published MQTT behaviour
// (a real Shelly or Tasmota device cannot run here). Each connects to a real broker as the device
// would, with the device's last will, answers the documented commands on the documented topics
// with the documented payloads, and publishes status the way the firmware does:
//  - Shelly Gen2+ (https://shelly-api-docs.shelly.cloud/gen2/): RPC on <prefix>/rpc answered on
//    <src>/rpc; status_ntf on <prefix>/status/switch:<id>; NotifyStatus on <prefix>/events/rpc;
//    <prefix>/online true/false (retained, last will).
//  - Tasmota (https://tasmota.github.io/docs/MQTT/, /Commands/): cmnd/<topic>/POWER<n>,
//    answers on stat/<topic>/RESULT and stat/<topic>/POWER<n>; STATUS 8 on stat/<topic>/STATUS8;
//    tele/<topic>/STATE and SENSOR every TelePeriod (here: when the test calls tele()); LWT
//    Online/Offline (retained, last will).
import mqtt, { type MqttClient } from 'mqtt';

interface DeviceOptions {
  url: string;
  prefix: string;
  channels: number;
  username?: string;
  password?: string;
  /** Acknowledges switch commands but never switches (a relay stuck in manual mode). */
  stuck?: boolean;
}

async function connect(o: DeviceOptions, will: { topic: string; payload: string }): Promise<MqttClient> {
  const client = await mqtt.connectAsync(o.url, {
    clientId: `standin-${o.prefix}`,
    ...(o.username ? { username: o.username, password: o.password ?? '' } : {}),
    will: { ...will, qos: 1, retain: true },
    reconnectPeriod: 0,
  });
  return client;
}

export interface DeviceStandIn {
  output(channel: number): boolean;
  /** Load on a channel (W): what the meter measures while the relay is on. */
  setLoad(channel: number, watts: number): void;
  /** Publishes what the firmware publishes periodically. */
  report(): Promise<void>;
  /** The device drops off the network: the broker publishes its last will. */
  vanish(): void;
  close(): Promise<void>;
}

export async function startShellyStandIn(o: DeviceOptions): Promise<DeviceStandIn> {
  const client = await connect(o, { topic: `${o.prefix}/online`, payload: 'false' });
  const out = Array.from({ length: o.channels }, () => false);
  const load = Array.from({ length: o.channels }, () => 0);
  const energy = Array.from({ length: o.channels }, (_, i) => 1234.5 + i * 100); // Wh
  const status = (id: number) => {
    const apower = out[id] ? load[id]! : 0;
    return {
      id,
      source: 'init',
      output: out[id],
      apower,
      voltage: 231.4,
      current: Math.round((apower / 231.4) * 1000) / 1000,
      aenergy: { total: energy[id], by_minute: [0, 0, 0], minute_ts: Math.floor(Date.now() / 1000) },
      temperature: { tC: 41.2, tF: 106.2 },
    };
  };
  const publishStatus = async (id: number) => {
    await client.publishAsync(`${o.prefix}/status/switch:${id}`, JSON.stringify(status(id)), { qos: 1 });
  };
  await client.publishAsync(`${o.prefix}/online`, 'true', { qos: 1, retain: true });
  await client.subscribeAsync(`${o.prefix}/rpc`, { qos: 1 });
  client.on('message', (_topic, payload) => {
    void (async () => {
      let req: { id?: number; src?: string; method?: string; params?: Record<string, unknown> };
      try {
        req = JSON.parse(payload.toString());
      } catch {
        return; // the firmware drops frames it cannot parse
      }
      if (!req.src) return; // no one to answer
      const reply = (body: Record<string, unknown>) =>
        client.publishAsync(
          `${req.src}/rpc`,
          JSON.stringify({ id: req.id, src: o.prefix, dst: req.src, ...body }),
          { qos: 1 },
        );
      const id = Number(req.params?.['id'] ?? 0);
      if (req.method === 'Switch.Set') {
        if (!(id in out))
          return reply({ error: { code: -105, message: `Argument 'id', value ${id} not found!` } });
        const was_on = out[id];
        if (!o.stuck) out[id] = req.params?.['on'] === true;
        await reply({ result: { was_on } });
        await publishStatus(id);
        await client.publishAsync(
          `${o.prefix}/events/rpc`,
          JSON.stringify({
            src: o.prefix,
            dst: `${o.prefix}/events`,
            method: 'NotifyStatus',
            params: { ts: Date.now() / 1000, [`switch:${id}`]: { id, output: out[id], source: 'MQTT' } },
          }),
          { qos: 1 },
        );
      } else if (req.method === 'Shelly.GetStatus') {
        const result: Record<string, unknown> = { sys: { uptime: 1000 } };
        out.forEach((_, i) => {
          result[`switch:${i}`] = status(i);
        });
        await reply({ result });
      } else if (req.method === 'Switch.GetStatus') {
        await reply({ result: status(id) });
      } else {
        await reply({ error: { code: 404, message: `No handler for ${req.method}` } });
      }
    })();
  });
  return {
    output: (ch) => out[ch] ?? false,
    setLoad(ch, w) {
      load[ch] = w;
    },
    async report() {
      for (let i = 0; i < o.channels; i++) await publishStatus(i);
    },
    vanish() {
      (client as unknown as { stream: { destroy(): void } }).stream.destroy();
    },
    close: () => client.endAsync(true),
  };
}

export async function startTasmotaStandIn(o: DeviceOptions): Promise<DeviceStandIn> {
  const t = o.prefix;
  const client = await connect(o, { topic: `tele/${t}/LWT`, payload: 'Offline' });
  const out = Array.from({ length: o.channels }, () => false);
  const load = Array.from({ length: o.channels }, () => 0);
  const name = (i: number) => (o.channels === 1 ? 'POWER' : `POWER${i + 1}`);
  const word = (on: boolean) => (on ? 'ON' : 'OFF');
  const time = () => new Date().toISOString().slice(0, 19);
  const energy = () => {
    const power = out.reduce((sum, on, i) => sum + (on ? load[i]! : 0), 0);
    return {
      TotalStartTime: '2024-01-01T00:00:00',
      Total: 12.345,
      Yesterday: 0.5,
      Today: 0.25,
      Power: power,
      ApparentPower: power,
      ReactivePower: 0,
      Factor: power > 0 ? 1 : 0,
      Voltage: 229,
      Current: Math.round((power / 229) * 1000) / 1000,
    };
  };
  await client.publishAsync(`tele/${t}/LWT`, 'Online', { qos: 1, retain: true });
  await client.subscribeAsync(`cmnd/${t}/+`, { qos: 1 });
  client.on('message', (topic, payload) => {
    void (async () => {
      const command = topic.slice(`cmnd/${t}/`.length).toUpperCase();
      const arg = payload.toString().trim().toUpperCase();
      const m = /^POWER(\d*)$/.exec(command);
      if (m) {
        // POWER and POWER1 are the same relay; an empty payload only asks.
        const i = m[1] ? Number(m[1]) - 1 : 0;
        if (!(i in out)) return;
        if (!o.stuck) {
          if (arg === 'ON' || arg === '1') out[i] = true;
          else if (arg === 'OFF' || arg === '0') out[i] = false;
          else if (arg === 'TOGGLE' || arg === '2') out[i] = !out[i];
        }
        await client.publishAsync(`stat/${t}/RESULT`, JSON.stringify({ [name(i)]: word(out[i]!) }), {
          qos: 1,
        });
        await client.publishAsync(`stat/${t}/${name(i)}`, word(out[i]!), { qos: 1 });
      } else if (command === 'STATUS' && arg === '8') {
        await client.publishAsync(
          `stat/${t}/STATUS8`,
          JSON.stringify({ StatusSNS: { Time: time(), ENERGY: energy() } }),
          { qos: 1 },
        );
      }
    })();
  });
  return {
    output: (ch) => out[ch] ?? false,
    setLoad(ch, w) {
      load[ch] = w;
    },
    async report() {
      const state: Record<string, unknown> = { Time: time(), Uptime: '0T00:10:11', UptimeSec: 611 };
      out.forEach((on, i) => {
        state[name(i)] = word(on);
      });
      await client.publishAsync(`tele/${t}/STATE`, JSON.stringify(state), { qos: 1 });
      await client.publishAsync(`tele/${t}/SENSOR`, JSON.stringify({ Time: time(), ENERGY: energy() }), {
        qos: 1,
      });
    },
    vanish() {
      (client as unknown as { stream: { destroy(): void } }).stream.destroy();
    },
    close: () => client.endAsync(true),
  };
}
