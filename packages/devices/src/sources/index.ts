// Config sections of the source types, and the rule that checks an agent config's sources.
export {
  BUILTIN_SOURCE_SCHEMAS,
  builtinSourceSchemas,
  SourceSchemas,
  sourceRules,
  sourceRulesFor,
} from './catalog.ts';
export { EquipmentIdentityConfig, EquipmentKindSchema } from './equipment.ts';
export {
  describeLine,
  ModbusRtuConfig,
  RTU_BAUD_RATES,
  type SerialLine,
  serialBusProblems,
  serialLineOf,
} from './modbus-rtu.ts';
export { ModbusTcpConfig } from './modbus-tcp.ts';
export { LocalBrokerConfig, MqttDeviceConfig } from './mqtt-device.ts';
export { CertificateThumbprint, OpcUaConfig } from './opcua.ts';
