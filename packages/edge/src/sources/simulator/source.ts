// The `simulator` source: a whole simulated site (PV, household, battery, grid meter, optional
// relay) that behaves like real equipment. It is a first-class source, used for demos, tests and
// for backfilling history, so it goes through the same registry and config checks as hardware.
// Its config section and model are in @wattfleet/devices (the hub's demo fleet uses them too).
import {
  createSimState,
  type SimState,
  SimulatorConfig,
  type SimulatorModel,
  simulateAt,
  simulatorModel,
  simulatorOrigin,
  snapshotMetrics,
  withRelay,
} from '@wattfleet/devices/simulator';
import type {
  EquipmentInfo,
  HistoryCapability,
  Reading,
  RelayCapability,
  RelayState,
  Source,
  SourceContext,
  SourceFactory,
} from '../types.ts';

export { SimulatorConfig, simulatorModel, simulatorOrigin } from '@wattfleet/devices/simulator';

class SimulatorSource implements Source, HistoryCapability {
  readonly type = 'simulator';
  readonly key: string;
  #state: SimState | undefined;
  readonly #config: SimulatorConfig;
  readonly #model: SimulatorModel;

  constructor(config: SimulatorConfig, context: SourceContext) {
    this.key = config.key;
    this.#config = config;
    this.#model = simulatorModel(config, context.site);
  }

  info(): EquipmentInfo {
    return {
      key: this.key,
      kind: 'inverter',
      vendor: 'Wattfleet',
      model: 'simulator',
      serial: `SIM-${this.#model.seed >>> 0}`,
    };
  }

  protected state(ts: number): SimState {
    this.#state ??= createSimState(this.#model, simulatorOrigin(this.#config, ts));
    return this.#state;
  }

  protected setState(s: SimState): void {
    this.#state = s;
  }

  #readingsAt(ts: number): Reading[] {
    const { state, snapshot } = simulateAt(this.state(ts), ts);
    // Keep the furthest state: the agent reads forward in time, history may look back.
    if (state.step >= (this.#state?.step ?? 0)) this.#state = state;
    return Object.entries(snapshotMetrics(snapshot)).map(([metric, value]) => ({
      metric,
      value,
      ts,
      equipment: this.key,
    }));
  }

  async read(now: number): Promise<Reading[]> {
    return this.#readingsAt(now);
  }

  *history(from: number, to: number, everyMs: number): Generator<Reading[]> {
    let state = this.state(from);
    for (let ts = from; ts <= to; ts += everyMs) {
      const r = simulateAt(state, ts);
      state = r.state;
      yield Object.entries(snapshotMetrics(r.snapshot)).map(([metric, value]) => ({
        metric,
        value,
        ts,
        equipment: this.key,
      }));
    }
    if (state.step > (this.#state?.step ?? 0)) this.#state = state;
  }
}

/** Adds the relay capability only when a relay is configured: absent means unsupported. */
class SimulatorRelaySource extends SimulatorSource implements RelayCapability {
  async setRelay(target: RelayState): Promise<RelayState> {
    const now = Date.now();
    this.setState(withRelay(this.state(now), now, target === 'on'));
    return target;
  }

  async getRelay(): Promise<RelayState> {
    const now = Date.now();
    const readings = await this.read(now);
    return readings.find((r) => r.metric === 'relay_state')?.value === 1 ? 'on' : 'off';
  }
}

export const simulatorSource: SourceFactory<SimulatorConfig> = {
  type: 'simulator',
  configSchema: SimulatorConfig,
  create(config, context) {
    if (config.origin !== undefined && Number.isNaN(Date.parse(config.origin))) {
      throw new RangeError(`simulator ${config.key}: origin "${config.origin}" is not a date`);
    }
    return config.relay ? new SimulatorRelaySource(config, context) : new SimulatorSource(config, context);
  },
};
