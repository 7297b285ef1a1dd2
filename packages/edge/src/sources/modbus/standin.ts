// A Modbus TCP device stand-in: serves a template's registers, filled from a value provider
// (usually the simulator), on a free loopback port. Tests and demos talk to it exactly as the
// agent talks to real equipment, so the whole read path is exercised without hardware.
import { createServer, type Socket } from 'node:net';
import jsmodbus from 'jsmodbus';
import { type DeviceModelOptions, RegisterBank } from './bank.ts';

export interface StandInOptions extends DeviceModelOptions {
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

export async function startStandIn(opts: StandInOptions): Promise<StandIn> {
  const bank = new RegisterBank(opts);
  const net = createServer();
  const sockets = new Set<Socket>();
  net.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    // A client that dies mid-connection (an agent SIGKILLed) resets it: that is the client's
    // business, not a crash of the device.
    s.on('error', () => {});
  });
  const server = new jsmodbus.server.TCP(net, {
    holding: bank.holding,
    input: bank.input,
    coils: bank.coils,
  });
  // jsmodbus writes into the buffers itself; the bank sees each write before and after.
  server.on('preWriteSingleCoil', (request) => {
    bank.beforeCoilWrite((request.body as unknown as { address: number }).address);
  });
  server.on('postWriteSingleCoil', (request) => {
    const body = request.body as unknown as { address: number; value: number };
    bank.afterCoilWrite(body.address, body.value === 0xff00);
  });
  server.on('preWriteSingleRegister', (request) => {
    bank.beforeRegisterWrite((request.body as unknown as { address: number }).address);
  });
  server.on('postWriteSingleRegister', (request) => {
    const body = request.body as unknown as { address: number; value: number };
    bank.afterRegisterWrite(body.address, body.value);
  });
  server.on('preReadHoldingRegisters', () => bank.refresh());
  server.on('preReadInputRegisters', () => bank.refresh());

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
      return bank.requests;
    },
    relayState: (channel) => bank.relayState(channel),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        net.close(() => resolve());
      }),
  };
}
