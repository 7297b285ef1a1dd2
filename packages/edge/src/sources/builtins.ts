// The source types every agent knows. A new driver adds one line here (or calls registerSource).
import { modbusRtuSource, modbusTcpSource } from './modbus/source.ts';
import { mqttDeviceSource } from './mqtt/source.ts';
import { opcUaSource } from './opcua/source.ts';
import { simulatorSource } from './simulator/source.ts';
import type { SourceFactory } from './types.ts';

export const builtinSources: readonly SourceFactory[] = [
  simulatorSource as SourceFactory,
  modbusTcpSource as SourceFactory,
  modbusRtuSource as SourceFactory,
  opcUaSource as SourceFactory,
  mqttDeviceSource as SourceFactory,
];
