// The `modbus-tcp` and `modbus-rtu` sources: a generic Modbus reader driven by templates. One
// device can be described by several templates (SunSpec common model + inverter model); their
// registers are read in as few requests as possible and decoded by the pure decoder. TCP and RTU
// differ only in how the device is reached (link.ts): templates work unchanged over both.
import { join } from 'node:path';
import { ModbusRtuConfig, ModbusTcpConfig, serialLineOf } from '@wattfleet/devices/sources';
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
import { type IdentityConfig, layeredIdentity } from '../types.ts';
import { bankFromBlocks, decodeRegisters, planReads, type ReadBlock } from './decode.ts';
import { type ModbusLink, RtuLink, TcpLink } from './link.ts';
import { loadTemplate, type RegisterEntry, type RelayEntry, type Template } from './template.ts';

/** Templates shipped with the agent. */
export const BUILTIN_TEMPLATES_DIR = join(EDGE_ROOT, 'templates');

/** Its config sections (in @wattfleet/devices: the hub validates configs with them too). */
export { ModbusRtuConfig, ModbusTcpConfig };

/** What the Modbus sources read from their config section, whichever the transport. */
interface ModbusDeviceConfig {
  key: string;
  templates: string[];
  addressOffset?: number;
  kind?: EquipmentKind;
  identity?: IdentityConfig;
}

class ModbusSource implements Source, ProbeCapability {
  readonly type: string;
  readonly key: string;
  protected readonly config: ModbusDeviceConfig;
  protected readonly templates: readonly Template[];
  readonly #plan: ReadBlock[];
  readonly #offset: number;
  readonly #link: ModbusLink;
  /** What the device answered in its identity registers (templates' `info` fields). */
  #identity: Pick<EquipmentInfo, 'vendor' | 'model' | 'serial' | 'firmware'> = {};
  readonly #templateIdentity: Pick<EquipmentInfo, 'vendor' | 'model'> = {};

  constructor(type: string, config: ModbusDeviceConfig, templates: readonly Template[], link: ModbusLink) {
    this.type = type;
    this.key = config.key;
    this.config = config;
    this.#link = link;
    this.templates = templates;
    this.#plan = planReads(templates);
    this.#offset = config.addressOffset ?? 0;
    const first = templates.find((t) => t.vendor || t.model);
    if (first?.vendor) this.#templateIdentity.vendor = first.vendor;
    if (first?.model) this.#templateIdentity.model = first.model;
  }

  info(): EquipmentInfo {
    const kind: EquipmentKind = this.config.kind ?? this.templates.find((t) => t.kind)?.kind ?? 'sensor';
    return {
      key: this.key,
      kind,
      ...layeredIdentity(this.#templateIdentity, this.config.identity, this.#identity),
    };
  }

  protected exclusive<T>(work: (client: ModbusClient) => Promise<T>): Promise<T> {
    return this.#link.exclusive(work);
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

  close(): Promise<void> {
    return this.#link.close();
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

class ModbusRelaySource extends ModbusSource implements RelayCapability {
  readonly #register: RegisterEntry;

  constructor(
    type: string,
    config: ModbusDeviceConfig,
    templates: readonly Template[],
    link: ModbusLink,
    register: RegisterEntry,
  ) {
    super(type, config, templates, link);
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
class ModbusRelayBoard extends ModbusSource implements RelayCapability {
  readonly #relays: ReadonlyMap<string, RelayEntry>;

  constructor(
    type: string,
    config: ModbusDeviceConfig,
    templates: readonly Template[],
    link: ModbusLink,
    relays: readonly RelayEntry[],
  ) {
    super(type, config, templates, link);
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

/** The source for a device's templates: a relay board, a single relay, or a meter/inverter. */
async function modbusSource(
  type: string,
  config: ModbusDeviceConfig,
  context: SourceContext,
  link: () => ModbusLink,
): Promise<Source> {
  const templates = await Promise.all(
    config.templates.map((name) => loadTemplate(context.templatesDir, name)),
  );
  const board = relayChannelsOf(templates);
  if (board.length > 0) return new ModbusRelayBoard(type, config, templates, link(), board);
  const relay = relayRegister(templates);
  return relay
    ? new ModbusRelaySource(type, config, templates, link(), relay)
    : new ModbusSource(type, config, templates, link());
}

export const modbusTcpSource: SourceFactory<ModbusTcpConfig> = {
  type: 'modbus-tcp',
  configSchema: ModbusTcpConfig,
  create: (config, context) =>
    modbusSource(
      'modbus-tcp',
      config,
      context,
      () =>
        new TcpLink(config.key, {
          host: config.host,
          port: config.port ?? 502,
          unitId: config.unitId ?? 1,
          timeoutMs: config.timeoutMs ?? 3000,
        }),
    ),
};

export const modbusRtuSource: SourceFactory<ModbusRtuConfig> = {
  type: 'modbus-rtu',
  configSchema: ModbusRtuConfig,
  // The link joins the port's bus only once the templates loaded: a source that fails to build
  // must not hold a unit id on the bus.
  create: (config, context) =>
    modbusSource(
      'modbus-rtu',
      config,
      context,
      () =>
        new RtuLink(config.key, serialLineOf(config), {
          unitId: config.unitId,
          // Serial meters at 9600 baud answer within a few hundred ms; a second is the usual default.
          timeoutMs: config.timeoutMs ?? 1000,
          interFrameDelayMs: config.interFrameDelayMs ?? 0,
        }),
    ),
};
