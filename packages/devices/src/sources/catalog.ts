// Source sections by type: each `sources[i]` of an agent config is checked against its type's own
// schema, every problem listed. The agent's registry checks sections this way before it builds a
// source (and may hold types registered at run time); the hub's config validator checks against the
// built-in types, the ones every agent knows.
import { type Checker, checker, type Problem } from '@wattfleet/protocol';
import type { TSchema } from 'typebox';
import type { ConfigRule } from '../config/parse.ts';
import { SimulatorConfig } from '../simulator/config.ts';
import { ModbusRtuConfig, serialBusProblems } from './modbus-rtu.ts';
import { ModbusTcpConfig } from './modbus-tcp.ts';
import { MqttDeviceConfig } from './mqtt-device.ts';
import { OpcUaConfig } from './opcua.ts';

export class SourceSchemas {
  readonly #checks = new Map<string, Checker<TSchema>>();

  register(type: string, schema: TSchema): void {
    if (this.#checks.has(type)) throw new Error(`source type "${type}" is already registered`);
    this.#checks.set(type, checker(schema));
  }

  has(type: string): boolean {
    return this.#checks.has(type);
  }

  types(): string[] {
    return [...this.#checks.keys()].sort();
  }

  /** Every problem in a config section (without its `type`), paths under `basePath`. */
  problems(type: string, config: unknown, basePath = ''): Problem[] {
    const check = this.#checks.get(type);
    if (!check) {
      return [
        {
          path: `${basePath}/type`,
          message: `unknown source type "${type}" (known: ${this.types().join(', ')})`,
        },
      ];
    }
    return check.problems(config, basePath);
  }
}

/** The config schema of every built-in source type, by type. */
export const BUILTIN_SOURCE_SCHEMAS: Readonly<Record<string, TSchema>> = {
  simulator: SimulatorConfig,
  'modbus-tcp': ModbusTcpConfig,
  'modbus-rtu': ModbusRtuConfig,
  'mqtt-device': MqttDeviceConfig,
  opcua: OpcUaConfig,
};

/** The built-in source types, the ones every agent knows. */
export const builtinSourceSchemas = new SourceSchemas();
for (const [type, schema] of Object.entries(BUILTIN_SOURCE_SCHEMAS))
  builtinSourceSchemas.register(type, schema);

/**
 * A config rule checking each source section against `schemas` (its `type` is the config's own),
 * then what spans sections (devices sharing one serial bus).
 */
export function sourceRulesFor(schemas: Pick<SourceSchemas, 'problems'>): ConfigRule {
  return (config) => [
    ...config.sources.flatMap((section, i): Problem[] => {
      const { type, ...rest } = section;
      return schemas.problems(type, rest, `/sources/${i}`);
    }),
    ...serialBusProblems(config.sources),
  ];
}

/** Source sections checked against the built-in types. */
export const sourceRules: ConfigRule = sourceRulesFor(builtinSourceSchemas);
