// How a Modbus source reaches its device: the only thing that differs between Modbus TCP and
// Modbus RTU. Templates, decoding, relays and read-back are the same over both (source.ts).
//
// - TCP: one connection per source, opened on first use.
// - RTU: one serial port per path, shared by every source on that RS-485 bus (one section per
//   slave, told apart by unit id). A bus is half duplex: one request at a time across all its
//   slaves, with a silence after each answer (3.5 character times by the specification, longer
//   when `interFrameDelayMs` says so) before the next request.
import { describeLine, type SerialLine } from '@wattfleet/devices/sources';
import type { ModbusRTU as ModbusClient } from 'modbus-serial/ModbusRTU.js';

// Loaded on first connect, not at start: modbus-serial pulls in serialport and its native
// bindings (several MB of resident memory), which an agent reading only the simulator never needs.
// It is CommonJS whose module.exports is the client class; its typings describe an ES default
// export, so spell out what the import really is.
let modbusClientClass: Promise<new () => ModbusClient> | undefined;
function loadModbusClient(): Promise<new () => ModbusClient> {
  modbusClientClass ??= import('modbus-serial').then((m) => m.default as unknown as new () => ModbusClient);
  return modbusClientClass;
}

export interface ModbusLink {
  /** Runs `work` alone on the line, addressed to this source's device. */
  exclusive<T>(work: (client: ModbusClient) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/**
 * modbus-serial rejects with plain objects ({ name, message, errno }) for timeouts and with bare
 * strings for CRC errors: make each an Error that says what happened, with whom, on which line.
 */
export function modbusError(err: unknown, owner: string, peer: string, timeoutMs: number): Error {
  if (err instanceof Error && !/timed out|crc/i.test(err.message)) return err;
  const e = err as { name?: string; message?: string; errno?: string } | string | undefined;
  const message = typeof e === 'string' ? e : (e?.message ?? String(err));
  if (/timed out/i.test(message) || (typeof e === 'object' && e?.errno === 'ETIMEDOUT'))
    return new Error(`${owner}: no answer from ${peer} within ${timeoutMs} ms`, { cause: err });
  if (/crc/i.test(message))
    return new Error(
      `${owner}: garbled answer from ${peer} (CRC error); check wiring, termination and line settings`,
      { cause: err },
    );
  return new Error(`${owner}: ${message} (${peer})`, { cause: err });
}

function closeClient(client: ModbusClient | undefined): Promise<void> {
  if (!client?.isOpen) return Promise.resolve();
  return new Promise<void>((resolve) => client.close(() => resolve()));
}

export class TcpLink implements ModbusLink {
  #client: ModbusClient | undefined;
  // One request at a time: many small devices (and gateways) answer only one transaction.
  #queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly owner: string,
    private readonly target: { host: string; port: number; unitId: number; timeoutMs: number },
  ) {}

  exclusive<T>(work: (client: ModbusClient) => Promise<T>): Promise<T> {
    const run = this.#queue.then(async () => {
      try {
        return await work(await this.#connect());
      } catch (err) {
        // A failed transaction may leave the socket out of step: start afresh next time.
        await this.close();
        const { host, port, unitId, timeoutMs } = this.target;
        throw modbusError(err, this.owner, `unit ${unitId} at ${host}:${port}`, timeoutMs);
      }
    });
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #connect(): Promise<ModbusClient> {
    if (this.#client?.isOpen) return this.#client;
    const ModbusRTU = await loadModbusClient();
    const client = new ModbusRTU();
    client.setTimeout(this.target.timeoutMs);
    await client.connectTCP(this.target.host, { port: this.target.port });
    client.setID(this.target.unitId);
    this.#client = client;
    return client;
  }

  close(): Promise<void> {
    const client = this.#client;
    this.#client = undefined;
    return closeClient(client);
  }
}

/** Bits on the wire per character: start bit, data bits, parity bit if any, stop bits. */
function bitsPerChar(line: SerialLine): number {
  return 1 + line.dataBits + (line.parity === 'none' ? 0 : 1) + line.stopBits;
}

/** The specification's minimum silence between frames: 3.5 characters, at least 1.75 ms above 19200 baud. */
export function minimumFrameGapMs(line: SerialLine): number {
  if (line.baudRate > 19200) return 1.75;
  return (3.5 * bitsPerChar(line) * 1000) / line.baudRate;
}

/** How long a slave that did not answer is left alone: doubling from the first to the last. */
export const SILENT_SLAVE_BACKOFF_MS = { first: 2000, max: 30_000 } as const;

/** One serial port and the sources on it. */
class SerialBus {
  #client: ModbusClient | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  readonly users = new Set<RtuLink>();
  /**
   * Slaves that stopped answering. Every request to a silent slave holds the whole bus for its
   * full timeout, so the live slaves' reads would queue behind it and miss their poll: a master
   * (like a PLC) asks a silent slave again only after a pause, failing its reads at once meanwhile.
   */
  readonly #silent = new Map<number, { until: number; backoffMs: number; message: string }>();

  constructor(readonly line: SerialLine) {}

  run<T>(
    owner: string,
    unitId: number,
    timeoutMs: number,
    gapMs: number,
    work: (c: ModbusClient) => Promise<T>,
  ): Promise<T> {
    const silent = this.#silent.get(unitId);
    if (silent && Date.now() < silent.until) {
      const again = Math.ceil((silent.until - Date.now()) / 1000);
      return Promise.reject(new Error(`${silent.message} (asked again in ${again} s: the bus is shared)`));
    }
    const run = this.#queue.then(async () => {
      try {
        const client = await this.#open();
        client.setID(unitId);
        client.setTimeout(timeoutMs);
        const result = await work(client);
        this.#silent.delete(unitId);
        return result;
      } catch (err) {
        // A lost or garbled answer (timeout, CRC error) may still be on its way: reopen the
        // port so its buffer starts empty, rather than match a late frame to the next request.
        await this.close();
        const error = modbusError(err, owner, `unit ${unitId} on ${this.line.path}`, timeoutMs);
        if (/no answer from/.test(error.message)) {
          const backoffMs = silent
            ? Math.min(silent.backoffMs * 2, SILENT_SLAVE_BACKOFF_MS.max)
            : SILENT_SLAVE_BACKOFF_MS.first;
          this.#silent.set(unitId, { until: Date.now() + backoffMs, backoffMs, message: error.message });
        }
        throw error;
      } finally {
        // The bus stays silent before anyone's next request.
        await new Promise((resolve) => setTimeout(resolve, Math.max(gapMs, minimumFrameGapMs(this.line))));
      }
    });
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #open(): Promise<ModbusClient> {
    if (this.#client?.isOpen) return this.#client;
    const ModbusRTU = await loadModbusClient();
    const client = new ModbusRTU();
    const { path, ...options } = this.line;
    await client.connectRTUBuffered(path, options);
    this.#client = client;
    return client;
  }

  close(): Promise<void> {
    const client = this.#client;
    this.#client = undefined;
    return closeClient(client);
  }
}

/** Open buses by port path. */
const buses = new Map<string, SerialBus>();

export class RtuLink implements ModbusLink {
  readonly #bus: SerialBus;

  constructor(
    readonly owner: string,
    line: SerialLine,
    private readonly unit: { unitId: number; timeoutMs: number; interFrameDelayMs: number },
  ) {
    const bus = buses.get(line.path) ?? new SerialBus(line);
    if (describeLine(bus.line) !== describeLine(line)) {
      const other = [...bus.users].map((u) => u.owner).join(', ');
      throw new Error(
        `${owner}: serial port ${line.path} is already open at ${describeLine(bus.line)} for ${other}; every device on one bus uses the same line settings (asked for ${describeLine(line)})`,
      );
    }
    for (const u of bus.users) {
      if (u.unit.unitId === unit.unitId)
        throw new Error(`${owner}: unit id ${unit.unitId} on ${line.path} is already read by ${u.owner}`);
    }
    buses.set(line.path, bus);
    bus.users.add(this);
    this.#bus = bus;
  }

  exclusive<T>(work: (client: ModbusClient) => Promise<T>): Promise<T> {
    if (!this.#bus.users.has(this)) return Promise.reject(new Error(`${this.owner}: closed`));
    return this.#bus.run(
      this.owner,
      this.unit.unitId,
      this.unit.timeoutMs,
      this.unit.interFrameDelayMs,
      work,
    );
  }

  /** Leaves the bus; the port closes with its last source. */
  async close(): Promise<void> {
    if (!this.#bus.users.delete(this)) return;
    if (this.#bus.users.size > 0) return;
    if (buses.get(this.#bus.line.path) === this.#bus) buses.delete(this.#bus.line.path);
    await this.#bus.close();
  }
}
