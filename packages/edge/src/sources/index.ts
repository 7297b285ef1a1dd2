// Public face of the sources folder: what the agent, the CLI and the demo need.
export { decodeRegisters, planReads, type RegisterBank } from './modbus/decode.ts';
export { encodeRegisters } from './modbus/encode.ts';
export {
  type RtuFault,
  type RtuSlaveOptions,
  type RtuStandIn,
  startRtuStandIn,
} from './modbus/rtu-standin.ts';
export { BUILTIN_TEMPLATES_DIR, type ModbusTcpConfig } from './modbus/source.ts';
export { type StandIn, type StandInOptions, startStandIn } from './modbus/standin.ts';
export {
  listTemplates,
  loadTemplate,
  parseTemplate,
  type Template,
  templateProblems,
} from './modbus/template.ts';
export { type AgentPki, type CertificateSummary, normalizeThumbprint } from './opcua/pki.ts';
export { type OpcUaConfig, type OpcUaProbe, opcUaSource } from './opcua/source.ts';
export {
  loadOpcUaTemplate,
  type OpcUaTemplate,
  opcUaTemplateProblems,
  parseOpcUaTemplate,
} from './opcua/template.ts';
export { createSource, registerSource, SourceRegistry, sourceRegistry } from './registry.ts';
export { type SimulatedDevice, simulatedDevice } from './simulator/device.ts';
export {
  createSimState,
  type SimState,
  type Snapshot,
  simulateAt,
  simulateRange,
} from './simulator/model.ts';
export { type SimulatorConfig, simulatorModel, simulatorOrigin } from './simulator/source.ts';
export * from './types.ts';
