// The simulated site's state machine lives in @wattfleet/devices (the hub's demo fleet runs it too).
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
} from '@wattfleet/devices/simulator';
