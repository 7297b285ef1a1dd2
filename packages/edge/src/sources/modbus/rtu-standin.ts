// A Modbus RTU bus stand-in: one or more slaves (each a register bank, bank.ts) answering RTU
// frames (address, PDU, CRC-16) on a byte stream. It listens on loopback TCP; `socat` turns that
// into a serial device (`PTY,link=… TCP:…`), so the agent's RTU source opens a real tty with the
// real serialport stack and cannot tell it from an RS-485 adapter. Faults can be switched on per
// slave: answers with a corrupted CRC, or no answer at all (a slave that stopped answering).
//
// Framing follows the Modbus over serial line specification: a request's length follows from its
// function code (8 bytes for 1–6; 9 + byte count for 15 and 16). A frame with a bad CRC, or for
// another address, is ignored, as a real slave ignores it. Address 0 is broadcast: writes apply,
// nobody answers.
import { createServer, type Socket } from 'node:net';
import { type DeviceModelOptions, REGISTERS, RegisterBank } from './bank.ts';

export interface RtuSlaveOptions extends DeviceModelOptions {
  unitId: number;
}

export type RtuFault = 'crc' | 'silent';

export interface RtuStandIn {
  readonly host: string;
  readonly port: number;
  /** Register reads a slave answered (to check grouping and turn-taking). */
  requests(unitId: number): number;
  /** Frames with a good CRC seen on the line, by address (any slave's, answered or not). */
  framesSeen(unitId: number): number;
  relayState(unitId: number, channel: string): 'on' | 'off' | undefined;
  /** Switches a fault on (or off with `undefined`) for one slave. */
  fault(unitId: number, fault: RtuFault | undefined): void;
  close(): Promise<void>;
}

/** CRC-16/MODBUS (polynomial 0xA001 reflected, initial 0xFFFF), sent low byte first. */
export function crc16(frame: Uint8Array): number {
  let crc = 0xffff;
  for (const byte of frame) {
    crc ^= byte;
    for (let i = 0; i < 8; i++) crc = crc & 1 ? (crc >>> 1) ^ 0xa001 : crc >>> 1;
  }
  return crc;
}

function withCrc(body: Buffer): Buffer {
  const out = Buffer.alloc(body.length + 2);
  body.copy(out);
  out.writeUInt16LE(crc16(body), body.length);
  return out;
}

/** The length of the request frame at the start of `buf`, or undefined until enough has arrived. */
function requestLength(buf: Buffer): number | undefined {
  if (buf.length < 2) return undefined;
  const fn = buf[1] ?? 0;
  if (fn === 15 || fn === 16) return buf.length < 7 ? undefined : 9 + (buf[6] ?? 0);
  return 8; // 1–6 and anything unknown (answered "illegal function")
}

class Exception extends Error {
  constructor(readonly code: 1 | 2 | 3) {
    super(`modbus exception ${code}`);
  }
}

/** Answers one PDU (function code first) from a slave's bank; throws Exception for errors. */
function answer(bank: RegisterBank, pdu: Buffer): Buffer {
  const fn = pdu[0] ?? 0;
  const address = pdu.readUInt16BE(1);
  const word = pdu.readUInt16BE(3);
  const inRange = (qty: number, max: number) => {
    if (qty < 1 || qty > max) throw new Exception(3);
    if (address + qty > REGISTERS) throw new Exception(2);
  };
  switch (fn) {
    case 1: {
      inRange(word, 2000);
      const bytes = Buffer.alloc(Math.ceil(word / 8));
      for (let i = 0; i < word; i++)
        if (bank.coil(address + i)) bytes[i >> 3] = (bytes[i >> 3] ?? 0) | (1 << (i % 8));
      return Buffer.concat([Buffer.from([fn, bytes.length]), bytes]);
    }
    case 3:
    case 4: {
      inRange(word, 125);
      bank.refresh();
      const src = fn === 3 ? bank.holding : bank.input;
      return Buffer.concat([Buffer.from([fn, word * 2]), src.subarray(address * 2, (address + word) * 2)]);
    }
    case 5: {
      if (word !== 0xff00 && word !== 0) throw new Exception(3);
      bank.beforeCoilWrite(address);
      bank.setCoil(address, word === 0xff00);
      bank.afterCoilWrite(address, word === 0xff00);
      return pdu.subarray(0, 5);
    }
    case 6: {
      bank.beforeRegisterWrite(address);
      bank.holding.writeUInt16BE(word, address * 2);
      bank.afterRegisterWrite(address, word);
      return pdu.subarray(0, 5);
    }
    case 15: {
      inRange(word, 1968);
      for (let i = 0; i < word; i++) {
        const on = (((pdu[6 + (i >> 3)] ?? 0) >> (i % 8)) & 1) === 1;
        bank.beforeCoilWrite(address + i);
        bank.setCoil(address + i, on);
        bank.afterCoilWrite(address + i, on);
      }
      return pdu.subarray(0, 5);
    }
    case 16: {
      inRange(word, 123);
      if ((pdu[5] ?? 0) !== word * 2) throw new Exception(3);
      for (let i = 0; i < word; i++) {
        const value = pdu.readUInt16BE(6 + i * 2);
        bank.beforeRegisterWrite(address + i);
        bank.holding.writeUInt16BE(value, (address + i) * 2);
        bank.afterRegisterWrite(address + i, value);
      }
      return pdu.subarray(0, 5);
    }
    default:
      throw new Exception(1);
  }
}

export async function startRtuStandIn(opts: {
  slaves: readonly RtuSlaveOptions[];
  host?: string;
  port?: number;
}): Promise<RtuStandIn> {
  const banks = new Map(opts.slaves.map((s) => [s.unitId, new RegisterBank(s)]));
  const faults = new Map<number, RtuFault>();
  const seen = new Map<number, number>();

  /** Handles one frame; false when its CRC is wrong (the caller resynchronises). */
  const onFrame = (socket: Socket, frame: Buffer): boolean => {
    const body = frame.subarray(0, -2);
    if (frame.readUInt16LE(frame.length - 2) !== crc16(body)) return false;
    const unit = body[0] ?? 0;
    seen.set(unit, (seen.get(unit) ?? 0) + 1);
    const targets = unit === 0 ? [...banks.values()] : [banks.get(unit)].filter((b) => b !== undefined);
    for (const bank of targets) {
      let pdu: Buffer;
      try {
        pdu = answer(bank, body.subarray(1));
      } catch (err) {
        if (!(err instanceof Exception)) throw err;
        pdu = Buffer.from([(body[1] ?? 0) | 0x80, err.code]);
      }
      if (unit === 0 || faults.get(unit) === 'silent') continue;
      const reply = withCrc(Buffer.concat([Buffer.from([unit]), pdu]));
      if (faults.get(unit) === 'crc') reply[reply.length - 1] = (reply[reply.length - 1] ?? 0) ^ 0xff;
      socket.write(reply);
    }
    return true;
  };

  const net = createServer();
  const sockets = new Set<Socket>();
  net.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
    let pending = Buffer.alloc(0);
    s.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      for (;;) {
        const length = requestLength(pending);
        if (length === undefined || pending.length < length) break;
        const ok = onFrame(s, pending.subarray(0, length));
        // A garbled frame leaves us out of step: drop what is pending, as a slave waits for the
        // line's next silence before it looks for a frame again.
        pending = ok ? pending.subarray(length) : Buffer.alloc(0);
      }
    });
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
  const bankOf = (unitId: number) => {
    const b = banks.get(unitId);
    if (!b) throw new Error(`no slave with unit id ${unitId}`);
    return b;
  };

  return {
    host,
    port,
    requests: (unitId) => bankOf(unitId).requests,
    framesSeen: (unitId) => seen.get(unitId) ?? 0,
    relayState: (unitId, channel) => bankOf(unitId).relayState(channel),
    fault(unitId, fault) {
      bankOf(unitId);
      if (fault) faults.set(unitId, fault);
      else faults.delete(unitId);
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        net.close(() => resolve());
      }),
  };
}
