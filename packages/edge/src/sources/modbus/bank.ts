// The registers of a stand-in Modbus device: holding and input registers encoded from a value
// provider (usually the simulator) on every read, relay channels as coils or holding registers,
// and the write rules (writable template registers, stuck relays). Transport-free: the TCP
// stand-in (standin.ts) and the RTU stand-in (rtu-standin.ts) both serve one of these.
import { functionOf } from './decode.ts';
import { encodeRegisters, type Identity } from './encode.ts';
import type { Template } from './template.ts';

export interface DeviceModelOptions {
  templates: readonly Template[];
  /** Metric values the device holds at an instant (missing ones are served "not implemented"). */
  values: (now: number) => Record<string, number>;
  identity?: Identity;
  /** Serve every register at template address + offset (to test addressOffset). */
  addressOffset?: number;
  /** Called after a client writes a register the template marks writable. */
  onWrite?: (write: { template: string; register: string; metric?: string; value: number }) => void;
  /**
   * A stuck relay: writes to a relay channel are acknowledged but do not switch it (what a
   * welded contact or a board in manual mode does). Read-back then shows the old state.
   */
  ignoreWrites?: boolean;
  clock?: () => number;
}

export const REGISTERS = 65536;

export class RegisterBank {
  readonly holding = Buffer.alloc(REGISTERS * 2);
  readonly input = Buffer.alloc(REGISTERS * 2);
  readonly coils = Buffer.alloc(REGISTERS / 8);
  /** Number of register reads served (to check that reads are grouped). */
  requests = 0;
  readonly #opts: DeviceModelOptions;
  readonly #offset: number;
  readonly #writable = new Map<number, { template: string; register: string; metric?: string }>();
  readonly #relays = new Map<string, { function: 'coil' | 'holding'; at: number; template: string }>();
  #coilBefore: number | undefined;
  #wordBefore: number | undefined;

  constructor(opts: DeviceModelOptions) {
    this.#opts = opts;
    this.#offset = opts.addressOffset ?? 0;
    for (const t of opts.templates) {
      for (const r of t.registers) {
        if (r.writable && functionOf(t, r) === 'holding') {
          this.#writable.set(r.address + this.#offset, {
            template: t.template,
            register: r.name,
            ...(r.metric ? { metric: r.metric } : {}),
          });
        }
      }
      // Relay channels: coils in their own bit buffer, or holding registers that no template
      // register covers (so refresh never overwrites them).
      for (const r of t.relays ?? [])
        this.#relays.set(r.channel, {
          function: r.function,
          at: r.address + this.#offset,
          template: t.template,
        });
    }
  }

  /** Re-encodes every register so each answer reflects the provider at that instant. */
  refresh(): void {
    this.requests++;
    const values = this.#opts.values((this.#opts.clock ?? Date.now)());
    for (const t of this.#opts.templates) {
      const bank = encodeRegisters(t, values, this.#opts.identity);
      for (const [fn, buf] of [
        ['holding', this.holding],
        ['input', this.input],
      ] as const) {
        for (const [address, word] of bank[fn]) {
          const at = address + this.#offset;
          if (at >= 0 && at < REGISTERS) buf.writeUInt16BE(word, at * 2);
        }
      }
    }
  }

  coil(at: number): number {
    return ((this.coils[Math.floor(at / 8)] ?? 0) >> (at % 8)) & 1;
  }

  setCoil(at: number, on: boolean): void {
    const i = Math.floor(at / 8);
    this.coils[i] = on ? (this.coils[i] ?? 0) | (1 << (at % 8)) : (this.coils[i] ?? 0) & ~(1 << (at % 8));
  }

  #relayAt(fn: 'coil' | 'holding', at: number) {
    return [...this.#relays].find(([, r]) => r.function === fn && r.at === at);
  }

  /** Call before a coil write lands in `coils` (a stuck relay restores this state afterwards). */
  beforeCoilWrite(at: number): void {
    this.#coilBefore = this.coil(at);
  }

  /** Call after a coil write landed in `coils`. */
  afterCoilWrite(at: number, on: boolean): void {
    const hit = this.#relayAt('coil', at);
    if (!hit) return;
    if (this.#opts.ignoreWrites && this.#coilBefore !== undefined) this.setCoil(at, this.#coilBefore === 1);
    this.#opts.onWrite?.({ template: hit[1].template, register: `relay ${hit[0]}`, value: on ? 1 : 0 });
  }

  beforeRegisterWrite(at: number): void {
    this.#wordBefore = this.holding.readUInt16BE(at * 2);
  }

  afterRegisterWrite(at: number, value: number): void {
    const target = this.#writable.get(at);
    if (target) this.#opts.onWrite?.({ ...target, value });
    const hit = this.#relayAt('holding', at);
    if (hit) {
      if (this.#opts.ignoreWrites && this.#wordBefore !== undefined)
        this.holding.writeUInt16BE(this.#wordBefore, at * 2);
      this.#opts.onWrite?.({ template: hit[1].template, register: `relay ${hit[0]}`, value });
    }
  }

  /** The physical state of a relay channel of the template's `relays`. */
  relayState(channel: string): 'on' | 'off' | undefined {
    const r = this.#relays.get(channel);
    if (!r) return undefined;
    const on = r.function === 'coil' ? this.coil(r.at) === 1 : this.holding.readUInt16BE(r.at * 2) !== 0;
    return on ? 'on' : 'off';
  }
}
