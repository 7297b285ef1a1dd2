// The `modbus-tcp` source: a generic Modbus TCP reader driven by templates. One device can be
// described by several templates (SunSpec common model + inverter model); their registers are
// read in as few requests as possible and decoded by the pure decoder.
import { join } from 'node:path';
import { ModbusTcpConfig } from '@wattfleet/devices/sources';
import type { ModbusRTU as ModbusClient } from 'modbus-serial/ModbusRTU.js';
import { EDGE_ROOT } from '../../paths.ts';
import type {
  EquipmentInfo,
  EquipmentKind,
  ProbeCapability,
  Reading,
  RelayCapability,
  RelayChannel,
  RelayState,
  Source,
  SourceContext,
  SourceFactory,
} from '../types.ts';
import { bankFromBlocks, decodeRegisters, planReads, type ReadBlock } from './decode.ts';
import { loadTemplate, type RegisterEntry, type RelayEntry, type Template } from './template.ts';

// Loaded on first connect, not at start: modbus-serial pulls in serialport and its native
// bindings (several MB of resident memory), which an agent reading only the simulator never needs.
// It is CommonJS whose module.exports is the client class; its typings describe an ES default
// export, so spell out what the import really is.
let modbusClientClass: Promise<new () => ModbusClient> | undefined;
function loadModbusClient(): Promise<new () => ModbusClient> {
  modbusClientClass ??= import('modbus-serial').then((m) => m.default as unknown as new () => ModbusClient);
  return modbusClientClass;
}

/** Templates shipped with the agent. */
export const BUILTIN_TEMPLATES_DIR = join(EDGE_ROOT, 'templates');

/** Its config section (in @wattfleet/devices: the hub validates configs with it too). */
export { ModbusTcpConfig };

class ModbusTcpSource implements Source, ProbeCapability {
  readonly type = 'modbus-tcp';
  readonly key: string;
  protected readonly config: ModbusTcpConfig;
  protected readonly templates: readonly Template[];
  readonly #plan: ReadBlock[];
  readonly #offset: number;
  #client: ModbusClient | undefined;
  #identity: Pick<EquipmentInfo, 'vendor' | 'model' | 'serial'> = {};
  // One request at a time: many small devices (and gateways) answer only one transaction.
  #queue: Promise<unknown> = Promise.resolve();

  constructor(config: ModbusTcpConfig, templates: readonly Template[]) {
    this.key = config.key;
    this.config = config;
    this.templates = templates;
    this.#plan = planReads(templates);
    this.#offset = config.addressOffset ?? 0;
    const first = templates.find((t) => t.vendor || t.model);
    if (first?.vendor) this.#identity.vendor = first.vendor;
    if (first?.model) this.#identity.model = first.model;
  }

  info(): EquipmentInfo {
    const kind: EquipmentKind = this.config.kind ?? this.templates.find((t) => t.kind)?.kind ?? 'sensor';
    return { key: this.key, kind, ...this.#identity };
  }

  protected exclusive<T>(work: (client: ModbusClient) => Promise<T>): Promise<T> {
    const run = this.#queue.then(async () => {
      try {
        return await work(await this.#connect());
      } catch (err) {
        // A failed transaction may leave the socket out of step: start afresh next time.
        await this.close();
        throw err;
      }
    });
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #connect(): Promise<ModbusClient> {
    if (this.#client?.isOpen) return this.#client;
    const ModbusRTU = await loadModbusClient();
    const client = new ModbusRTU();
    client.setTimeout(this.config.timeoutMs ?? 3000);
    await client.connectTCP(this.config.host, { port: this.config.port ?? 502 });
    client.setID(this.config.unitId ?? 1);
    this.#client = client;
    return client;
  }

  async #readAll(client: ModbusClient) {
    const blocks: { holding: Record<number, number[]>; input: Record<number, number[]> } = {
      holding: {},
      input: {},
    };
    for (const b of this.#plan) {
      const at = b.address + this.#offset;
      const res =
        b.function === 'holding'
          ? await client.readHoldingRegisters(at, b.length)
          : await client.readInputRegisters(at, b.length);
      blocks[b.function][b.address] = res.data;
    }
    return bankFromBlocks(blocks);
  }

  async read(now: number): Promise<Reading[]> {
    const bank = await this.exclusive((c) => this.#readAll(c));
    const readings: Reading[] = [];
    for (const t of this.templates) {
      const d = decodeRegisters(t, bank);
      if (d.mismatched.length > 0) {
        const m = d.mismatched.map((x) => `${x.name}=${x.actual} (expected ${x.expected})`).join(', ');
        throw new Error(`${this.key}: device does not match template ${t.template}: ${m}`);
      }
      Object.assign(this.#identity, d.info);
      for (const { metric, value } of d.metrics)
        readings.push({ metric, value, ts: now, equipment: this.key });
    }
    return readings;
  }

  async probe(): Promise<{ ok: boolean; latencyMs: number; detail: string }> {
    const started = performance.now();
    try {
      const first = this.#plan[0];
      if (!first) {
        // A pure relay board: reading its channels is the "are you there".
        const detail = await this.probeWithoutRegisters();
        return { ok: true, latencyMs: performance.now() - started, detail };
      }
      await this.exclusive((c) =>
        first.function === 'holding'
          ? c.readHoldingRegisters(first.address + this.#offset, first.length)
          : c.readInputRegisters(first.address + this.#offset, first.length),
      );
      const latencyMs = performance.now() - started;
      return {
        ok: true,
        latencyMs,
        detail: `read ${first.length} registers at ${first.address + this.#offset}`,
      };
    } catch (err) {
      return { ok: false, latencyMs: performance.now() - started, detail: (err as Error).message };
    }
  }

  /** A template without metered registers (a relay board) answers the probe its own way. */
  protected async probeWithoutRegisters(): Promise<string> {
    return 'no registers to read';
  }

  async close(): Promise<void> {
    const client = this.#client;
    this.#client = undefined;
    if (client?.isOpen) await new Promise<void>((resolve) => client.close(() => resolve()));
  }
}

/** A template register that switches a relay: writable and reporting relay_state. */
function relayRegister(templates: readonly Template[]): RegisterEntry | undefined {
  for (const t of templates) {
    const r = t.registers.find((x) => x.writable && x.metric === 'relay_state');
    if (r) return r;
  }
  return undefined;
}

class ModbusTcpRelaySource extends ModbusTcpSource implements RelayCapability {
  readonly #register: RegisterEntry;

  constructor(config: ModbusTcpConfig, templates: readonly Template[], register: RegisterEntry) {
    super(config, templates);
    this.#register = register;
  }

  async setRelay(state: RelayState): Promise<RelayState> {
    const at = this.#register.address + (this.config.addressOffset ?? 0);
    await this.exclusive((c) => c.writeRegister(at, state === 'on' ? 1 : 0));
    return this.getRelay();
  }

  async getRelay(): Promise<RelayState> {
    const at = this.#register.address + (this.config.addressOffset ?? 0);
    const res = await this.exclusive((c) => c.readHoldingRegisters(at, 1));
    return res.data[0] === 0 ? 'off' : 'on';
  }
}

/** The template relays of a multi-channel board, offset applied, by channel name. */
function relayChannelsOf(templates: readonly Template[]): RelayEntry[] {
  return templates.flatMap((t) => t.relays ?? []);
}

/**
 * A multi-channel relay board (N coils or registers, template `relays`). Every switch is written,
 * then read back from the device: the state it answers with is what the agent reports.
 */
class ModbusTcpRelayBoard extends ModbusTcpSource implements RelayCapability {
  readonly #relays: ReadonlyMap<string, RelayEntry>;

  constructor(config: ModbusTcpConfig, templates: readonly Template[], relays: readonly RelayEntry[]) {
    super(config, templates);
    this.#relays = new Map(relays.map((r) => [r.channel, r]));
  }

  relayChannels(): RelayChannel[] {
    return [...this.#relays.values()].map((r) => ({
      channel: r.channel,
      ...(r.label ? { label: r.label } : {}),
    }));
  }

  #entry(channel: string | undefined): RelayEntry {
    const r = channel === undefined ? undefined : this.#relays.get(channel);
    if (!r) throw new Error(`${this.key}: no relay channel "${channel ?? ''}"`);
    return r;
  }

  async #readState(c: ModbusClient, r: RelayEntry): Promise<RelayState> {
    const at = r.address + (this.config.addressOffset ?? 0);
    if (r.function === 'coil') return (await c.readCoils(at, 1)).data[0] ? 'on' : 'off';
    return (await c.readHoldingRegisters(at, 1)).data[0] === 0 ? 'off' : 'on';
  }

  async setRelay(state: RelayState, channel?: string): Promise<RelayState> {
    const r = this.#entry(channel);
    const at = r.address + (this.config.addressOffset ?? 0);
    return this.exclusive(async (c) => {
      if (r.function === 'coil') await c.writeCoil(at, state === 'on');
      else await c.writeRegister(at, state === 'on' ? 1 : 0);
      return this.#readState(c, r);
    });
  }

  async getRelay(channel?: string): Promise<RelayState> {
    const r = this.#entry(channel);
    return this.exclusive((c) => this.#readState(c, r));
  }

  override async read(now: number): Promise<Reading[]> {
    const readings = this.templates.some((t) => t.registers.length > 0) ? await super.read(now) : [];
    const states = await this.exclusive(async (c) => {
      const out: [string, RelayState][] = [];
      for (const r of this.#relays.values()) out.push([r.channel, await this.#readState(c, r)]);
      return out;
    });
    for (const [channel, state] of states) {
      readings.push({
        metric: 'relay_state',
        value: state === 'on' ? 1 : 0,
        ts: now,
        equipment: `${this.key}.${channel}`,
      });
    }
    return readings;
  }

  protected override async probeWithoutRegisters(): Promise<string> {
    const first = this.#relays.values().next().value as RelayEntry;
    await this.getRelay(first.channel);
    return `read relay ${first.channel}`;
  }
}

export const modbusTcpSource: SourceFactory<ModbusTcpConfig> = {
  type: 'modbus-tcp',
  configSchema: ModbusTcpConfig,
  async create(config: ModbusTcpConfig, context: SourceContext): Promise<Source> {
    const templates = await Promise.all(
      config.templates.map((name) => loadTemplate(context.templatesDir, name)),
    );
    const board = relayChannelsOf(templates);
    if (board.length > 0) return new ModbusTcpRelayBoard(config, templates, board);
    const relay = relayRegister(templates);
    return relay
      ? new ModbusTcpRelaySource(config, templates, relay)
      : new ModbusTcpSource(config, templates);
  },
};
