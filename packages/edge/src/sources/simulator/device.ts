// A simulated site as a value provider for the Modbus stand-in: metric values at any instant,
// and a relay that a Modbus write can switch.
import {
  createSimState,
  type SimState,
  type SimulatorConfig,
  simulateAt,
  simulatorModel,
  simulatorOrigin,
  snapshotMetrics,
  withRelay,
} from '@wattfleet/devices/simulator';
import type { SourceContext } from '../types.ts';

export interface SimulatedDevice {
  values(now: number): Record<string, number>;
  setRelay(on: boolean, now: number): void;
}

export function simulatedDevice(config: SimulatorConfig, site: SourceContext['site']): SimulatedDevice {
  const model = simulatorModel(config, site);
  let state: SimState | undefined;
  const at = (now: number): SimState => {
    state ??= createSimState(model, simulatorOrigin(config, now));
    return state;
  };
  return {
    values(now) {
      const r = simulateAt(at(now), now);
      if (r.state.step >= (state?.step ?? 0)) state = r.state;
      const v = snapshotMetrics(r.snapshot);
      // A relay device meters what it switches: the simulated appliance.
      if (config.relay) v['power_w'] = v['relay_state'] === 1 ? config.relay.loadW : 0;
      return v;
    },
    setRelay(on, now) {
      state = withRelay(at(now), now, on);
    },
  };
}
