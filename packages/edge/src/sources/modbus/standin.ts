// A Modbus TCP device stand-in: serves a template's registers, filled from a value provider
// (usually the simulator), on a free loopback port. Tests and demos talk to it exactly as the
// agent talks to real equipment, so the whole read path is exercised without hardware.
import { createServer, type Socket } from 'node:net';
import jsmodbus from 'jsmodbus';
import { functionOf } from './decode.ts';
import { encodeRegisters, type Identity } from './encode.ts';
import type { Template } from './template.ts';

export interface StandInOptions {
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
  host?: string;
  port?: number;
}

export interface StandIn {
  readonly host: string;
  readonly port: number;
  /** Number of read requests served (to check that reads are grouped). */
  readonly requests: number;
  /** The physical state of a relay channel of the template's `relays`. */
  relayState(channel: string): 'on' | 'off' | undefined;
  close(): Promise<void>;
}

const REGISTERS = 65536;

export async function startStandIn(opts: StandInOptions): Promise<StandIn> {
  const offset = opts.addressOffset ?? 0;
  const clock = opts.clock ?? Date.now;
  const holding = Buffer.alloc(REGISTERS * 2);
  const input = Buffer.alloc(REGISTERS * 2);
  let requests = 0;

  // Re-encode on every request so each answer reflects the provider at that instant.
  const refresh = () => {
    requests++;
    const values = opts.values(clock());
    for (const t of opts.templates) {
      const bank = encodeRegisters(t, values, opts.identity);
      for (const [fn, buf] of [
        ['holding', holding],
        ['input', input],
      ] as const) {
        for (const [address, word] of bank[fn]) {
          const at = address + offset;
          if (at >= 0 && at < REGISTERS) buf.writeUInt16BE(word, at * 2);
        }
      }
    }
  };

  const writable = new Map<number, { template: string; register: string; metric?: string }>();
  for (const t of opts.templates) {
    for (const r of t.registers) {
      if (r.writable && functionOf(t, r) === 'holding') {
        writable.set(r.address + offset, {
          template: t.template,
          register: r.name,
          ...(r.metric ? { metric: r.metric } : {}),
        });
      }
    }
  }

  // Relay channels (template `relays`): coils in their own bit buffer, or holding registers that
  // no template register covers (so refresh never overwrites them).
  const coils = Buffer.alloc(REGISTERS / 8);
  const relays = new Map<string, { function: 'coil' | 'holding'; at: number; template: string }>();
  for (const t of opts.templates) {
    for (const r of t.relays ?? [])
      relays.set(r.channel, { function: r.function, at: r.address + offset, template: t.template });
  }
  const coilAt = (at: number) => ((coils[Math.floor(at / 8)] ?? 0) >> (at % 8)) & 1;
  const setCoil = (at: number, on: boolean) => {
    const i = Math.floor(at / 8);
    coils[i] = on ? (coils[i] ?? 0) | (1 << (at % 8)) : (coils[i] ?? 0) & ~(1 << (at % 8));
  };
  const relayAt = (fn: 'coil' | 'holding', at: number) =>
    [...relays].find(([, r]) => r.function === fn && r.at === at);

  const net = createServer();
  const sockets = new Set<Socket>();
  net.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    // A client that dies mid-connection (an agent SIGKILLed) resets it: that is the client's
    // business, not a crash of the device.
    s.on('error', () => {});
  });
  const server = new jsmodbus.server.TCP(net, { holding, input, coils });
  let before: number | undefined;
  server.on('preWriteSingleCoil', (request) => {
    const body = request.body as unknown as { address: number };
    before = coilAt(body.address);
  });
  server.on('postWriteSingleCoil', (request) => {
    const body = request.body as unknown as { address: number; value: number };
    const hit = relayAt('coil', body.address);
    if (!hit) return;
    if (opts.ignoreWrites && before !== undefined) setCoil(body.address, before === 1);
    opts.onWrite?.({
      template: hit[1].template,
      register: `relay ${hit[0]}`,
      value: body.value === 0xff00 ? 1 : 0,
    });
  });
  let beforeWord: number | undefined;
  server.on('preWriteSingleRegister', (request) => {
    const body = request.body as unknown as { address: number };
    beforeWord = holding.readUInt16BE(body.address * 2);
  });
  server.on('preReadHoldingRegisters', refresh);
  server.on('preReadInputRegisters', refresh);
  server.on('postWriteSingleRegister', (request) => {
    const body = request.body as unknown as { address: number; value: number };
    const target = writable.get(body.address);
    if (target) opts.onWrite?.({ ...target, value: body.value });
    const hit = relayAt('holding', body.address);
    if (hit) {
      if (opts.ignoreWrites && beforeWord !== undefined) holding.writeUInt16BE(beforeWord, body.address * 2);
      opts.onWrite?.({ template: hit[1].template, register: `relay ${hit[0]}`, value: body.value });
    }
  });

  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    net.once('error', reject);
    net.listen(opts.port ?? 0, host, () => {
      net.off('error', reject);
      resolve();
    });
  });
  const address = net.address();
  const port = typeof address === 'object' && address ? address.port : 0;

  return {
    host,
    port,
    get requests() {
      return requests;
    },
    relayState(channel) {
      const r = relays.get(channel);
      if (!r) return undefined;
      const on = r.function === 'coil' ? coilAt(r.at) === 1 : holding.readUInt16BE(r.at * 2) !== 0;
      return on ? 'on' : 'off';
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        net.close(() => resolve());
      }),
  };
}
