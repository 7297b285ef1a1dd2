// The `modbus-rtu` source's config section: a Modbus RTU device on a serial line (RS-485 or
// RS-232), read through the same register templates as `modbus-tcp`. Several devices on one
// RS-485 bus are several sections with the same `path` and different `unitId`s: the agent opens
// the port once and takes turns on it, so every section on one path must agree on the line
// settings (checked by `serialBusProblems`, at the agent and at the hub's config editor alike).
import type { Problem } from '@wattfleet/protocol';
import Type, { type Static } from 'typebox';
import { EquipmentIdentityConfig, EquipmentKindSchema } from './equipment.ts';

/** The rates serial adapters and meters actually offer (others are a typo, not a choice). */
export const RTU_BAUD_RATES = [1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200] as const;

export const ModbusRtuConfig = Type.Object(
  {
    key: Type.String({ pattern: '^[A-Za-z0-9._-]{1,64}$' }),
    /** The serial device, e.g. /dev/ttyUSB0 or a stable /dev/serial/by-id/… link. */
    path: Type.String({ pattern: '^/[^\\0]{1,4095}$' }),
    baudRate: Type.Optional(Type.Union(RTU_BAUD_RATES.map((b) => Type.Literal(b)))),
    /** Modbus over serial line: even parity is the specification's default (8E1). */
    parity: Type.Optional(Type.Union([Type.Literal('even'), Type.Literal('odd'), Type.Literal('none')])),
    dataBits: Type.Optional(Type.Union([Type.Literal(7), Type.Literal(8)])),
    stopBits: Type.Optional(Type.Union([Type.Literal(1), Type.Literal(2)])),
    /** The slave address: 1–247 (0 is broadcast, which no device answers; 248–255 are reserved). */
    unitId: Type.Integer({ minimum: 1, maximum: 247 }),
    templates: Type.Array(Type.String({ pattern: '^[a-z0-9][a-z0-9-]{0,63}$' }), {
      minItems: 1,
      maxItems: 8,
    }),
    addressOffset: Type.Optional(Type.Integer({ minimum: -65535, maximum: 65535 })),
    /** How long to wait for an answer before the request counts as lost. */
    timeoutMs: Type.Optional(Type.Integer({ minimum: 50, maximum: 60_000 })),
    /**
     * Silence kept on the bus after each answer before the next request (RS-485 turnaround; some
     * slow meters need 20–100 ms). Never less than the specification's 3.5 character times.
     */
    interFrameDelayMs: Type.Optional(Type.Integer({ minimum: 0, maximum: 1000 })),
    kind: Type.Optional(EquipmentKindSchema),
    /** Nameplate facts for the hub's equipment list (model, serial, firmware, a label). */
    identity: Type.Optional(EquipmentIdentityConfig),
  },
  { additionalProperties: false },
);
export type ModbusRtuConfig = Static<typeof ModbusRtuConfig>;

/** Line settings with their defaults applied: what the port is opened with. */
export interface SerialLine {
  path: string;
  baudRate: number;
  parity: 'even' | 'odd' | 'none';
  dataBits: 7 | 8;
  stopBits: 1 | 2;
}

export function serialLineOf(
  c: Pick<ModbusRtuConfig, 'path' | 'baudRate' | 'parity' | 'dataBits' | 'stopBits'>,
): SerialLine {
  return {
    path: c.path,
    baudRate: c.baudRate ?? 9600,
    parity: c.parity ?? 'even',
    dataBits: c.dataBits ?? 8,
    stopBits: c.stopBits ?? 1,
  };
}

/** "9600 8E1": how installers and datasheets write line settings. */
export function describeLine(l: SerialLine): string {
  return `${l.baudRate} ${l.dataBits}${l.parity[0]?.toUpperCase()}${l.stopBits}`;
}

/**
 * Sections sharing a serial port must agree on its line settings and use distinct unit ids (two
 * slaves answering one address garble each other's frames). Sections that fail their own schema
 * are skipped: their problems are listed already.
 */
export function serialBusProblems(sources: readonly { type: string; [k: string]: unknown }[]): Problem[] {
  const problems: Problem[] = [];
  const buses = new Map<string, { index: number; line: SerialLine; units: Map<number, number> }>();
  sources.forEach((s, i) => {
    if (s.type !== 'modbus-rtu' || typeof s.path !== 'string' || typeof s.unitId !== 'number') return;
    const line = serialLineOf(s as unknown as ModbusRtuConfig);
    const bus = buses.get(line.path);
    if (!bus) {
      buses.set(line.path, { index: i, line, units: new Map([[s.unitId, i]]) });
      return;
    }
    if (describeLine(bus.line) !== describeLine(line)) {
      problems.push({
        path: `/sources/${i}`,
        message: `serial port ${line.path} is set to ${describeLine(line)} here but ${describeLine(bus.line)} in /sources/${bus.index}: every device on one bus uses the same line settings`,
      });
    }
    const other = bus.units.get(s.unitId);
    if (other !== undefined) {
      problems.push({
        path: `/sources/${i}/unitId`,
        message: `unit id ${s.unitId} on ${line.path} is already used by /sources/${other}`,
      });
    } else bus.units.set(s.unitId, i);
  });
  return problems;
}
