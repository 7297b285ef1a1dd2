// The simulated site: a pure, seeded state machine (any instant computable without history) and
// the `simulator` source section that configures it.
export { SimulatorConfig, simulatorModel, simulatorOrigin } from './config.ts';
export {
  type BatteryModel,
  type Counters,
  createSimState,
  type RelayEvent,
  relayAt,
  type SimState,
  type SimulatorModel,
  type Snapshot,
  simulateAt,
  simulateRange,
  snapshotMetrics,
  withRelay,
} from './model.ts';
export { hash01, seedNumber, valueNoise } from './noise.ts';
export {
  clearSkyShare,
  cloudFactor,
  gridFrequency,
  gridVoltage,
  householdLoad,
  localHour,
  pvPower,
  type Site,
  utcOffset,
} from './profiles.ts';
