// The simulated site as a pure state machine. Time is cut into fixed steps aligned on an origin;
// within a step every power is constant, so energy counters are the exact integral of the powers
// that were reported, and the reading at any instant depends only on (config, origin, instant):
// never on which other instants were asked for before.
import { gridFrequency, gridVoltage, householdLoad, localHour, pvPower, type Site } from './profiles.ts';

export interface BatteryModel {
  capacityWh: number;
  maxChargeW: number;
  maxDischargeW: number;
  minSocPct: number;
  maxSocPct: number;
  initialSocPct: number;
  /** Round-trip efficiency; losses split evenly between charge and discharge. */
  efficiency: number;
  /** Charge from the grid in a local-time window (cheap night tariff), up to a target SoC. */
  gridCharge?: { fromHour: number; toHour: number; powerW: number; targetSocPct: number };
}

export interface SimulatorModel {
  seed: number;
  site: Site;
  stepSeconds: number;
  pvPeakW: number;
  loadBaseW: number;
  loadPeakW: number;
  battery?: BatteryModel;
  /** A switchable appliance (e.g. a water heater) behind a relay. */
  relay?: { loadW: number; initial: boolean };
}

export interface Counters {
  solar_wh: number;
  load_wh: number;
  grid_import_wh: number;
  grid_export_wh: number;
  battery_charge_wh: number;
  battery_discharge_wh: number;
}

export interface RelayEvent {
  ts: number;
  on: boolean;
}

/** Where the simulation stands: the start of step `step` after `origin`. Treated as immutable. */
export interface SimState {
  readonly model: SimulatorModel;
  readonly origin: number;
  readonly step: number;
  readonly socWh: number;
  readonly counters: Readonly<Counters>;
  readonly relayEvents: readonly RelayEvent[];
}

/** Everything the simulated site reports at one instant, keyed by canonical metric name. */
export interface Snapshot {
  ts: number;
  solar_w: number;
  load_w: number;
  grid_w: number;
  battery_w?: number;
  battery_soc?: number;
  voltage_l1: number;
  frequency_hz: number;
  relay_state?: number;
  counters: Counters;
}

/** Powers during one step (integers, W). */
interface Flows {
  solar: number;
  load: number;
  battery: number; // > 0 discharge
  grid: number; // > 0 import
  socRateWh: number; // SoC change per hour, Wh/h
}

const ZERO: Counters = {
  solar_wh: 0,
  load_wh: 0,
  grid_import_wh: 0,
  grid_export_wh: 0,
  battery_charge_wh: 0,
  battery_discharge_wh: 0,
};

export function createSimState(
  model: SimulatorModel,
  origin: number,
  relayEvents: RelayEvent[] = [],
): SimState {
  const socWh = model.battery ? (model.battery.capacityWh * model.battery.initialSocPct) / 100 : 0;
  return { model, origin, step: 0, socWh, counters: { ...ZERO }, relayEvents: [...relayEvents] };
}

/** Records a relay switch at `ts`; the appliance draws from the next step on. */
export function withRelay(state: SimState, ts: number, on: boolean): SimState {
  const relayEvents = [...state.relayEvents, { ts, on }].sort((a, b) => a.ts - b.ts);
  return { ...state, relayEvents };
}

export function relayAt(state: SimState, ts: number): boolean {
  let on = state.model.relay?.initial ?? false;
  for (const e of state.relayEvents) {
    if (e.ts > ts) break;
    on = e.on;
  }
  return on;
}

function inWindow(hour: number, from: number, to: number): boolean {
  return from <= to ? hour >= from && hour < to : hour >= from || hour < to;
}

function flowsAt(state: SimState, t: number, socWh: number): Flows {
  const m = state.model;
  const hour = localHour(m.site.timezone, t);
  const solar = Math.round(pvPower(m.seed, m.site, m.pvPeakW, t));
  const appliance = m.relay && relayAt(state, t) ? m.relay.loadW : 0;
  const load = Math.round(householdLoad(m.seed, m.loadBaseW, m.loadPeakW, t, hour) + appliance);
  let battery = 0;
  let socRateWh = 0;
  const b = m.battery;
  if (b) {
    const dtH = m.stepSeconds / 3600;
    const eff = Math.sqrt(b.efficiency);
    // Never plan a step that would leave the SoC window, whatever the household does.
    const room = Math.max(0, (b.capacityWh * b.maxSocPct) / 100 - socWh);
    const stock = Math.max(0, socWh - (b.capacityWh * b.minSocPct) / 100);
    const maxCharge = Math.floor(Math.min(b.maxChargeW, room / eff / dtH));
    const maxDischarge = Math.floor(Math.min(b.maxDischargeW, (stock * eff) / dtH));
    const net = load - solar;
    const g = b.gridCharge;
    if (g && inWindow(hour, g.fromHour, g.toHour) && socWh < (b.capacityWh * g.targetSocPct) / 100) {
      battery = -Math.min(maxCharge, Math.max(g.powerW, -net));
    } else if (net < 0) {
      battery = -Math.min(-net, maxCharge);
    } else {
      battery = Math.min(net, maxDischarge);
    }
    battery += 0; // -0 → 0: a negated zero would read as "charging at 0 W"
    socRateWh = battery < 0 ? -battery * eff : -battery / eff;
  }
  return { solar, load, battery, grid: load - solar - battery, socRateWh };
}

function integrate(c: Counters, f: Flows, hours: number): Counters {
  return {
    solar_wh: c.solar_wh + f.solar * hours,
    load_wh: c.load_wh + f.load * hours,
    grid_import_wh: c.grid_import_wh + Math.max(0, f.grid) * hours,
    grid_export_wh: c.grid_export_wh + Math.max(0, -f.grid) * hours,
    battery_charge_wh: c.battery_charge_wh + Math.max(0, -f.battery) * hours,
    battery_discharge_wh: c.battery_discharge_wh + Math.max(0, f.battery) * hours,
  };
}

/**
 * The reading at `ts`, and the state advanced to the step that contains `ts` (pass it back in
 * for the next, later instant: stepping forward costs one step per `stepSeconds`). Asking for an
 * earlier instant replays from the origin, which gives the same answer, only slower.
 */
export function simulateAt(state: SimState, ts: number): { state: SimState; snapshot: Snapshot } {
  if (!Number.isFinite(ts) || ts < state.origin) {
    throw new RangeError(`simulator: ${ts} is before the origin ${new Date(state.origin).toISOString()}`);
  }
  const stepMs = state.model.stepSeconds * 1000;
  const hoursPerStep = state.model.stepSeconds / 3600;
  const target = Math.floor((ts - state.origin) / stepMs);
  let cur = state;
  if (target < cur.step) cur = createSimState(state.model, state.origin, [...state.relayEvents]);
  let { step, socWh, counters } = cur;
  while (step < target) {
    const f = flowsAt(cur, cur.origin + step * stepMs, socWh);
    counters = integrate(counters, f, hoursPerStep);
    socWh += f.socRateWh * hoursPerStep;
    step++;
  }
  const next: SimState = step === cur.step ? cur : { ...cur, step, socWh, counters };
  const start = next.origin + step * stepMs;
  const f = flowsAt(next, start, socWh);
  const partH = (ts - start) / 3_600_000;
  const m = next.model;
  const snapshot: Snapshot = {
    ts,
    solar_w: f.solar,
    load_w: f.load,
    grid_w: f.grid,
    voltage_l1: Math.round(gridVoltage(m.seed, ts, f.grid) * 10) / 10,
    frequency_hz: Math.round(gridFrequency(m.seed, ts) * 1000) / 1000,
    counters: integrate(counters, f, partH),
  };
  if (m.battery) {
    snapshot.battery_w = f.battery;
    snapshot.battery_soc = ((socWh + f.socRateWh * partH) / m.battery.capacityWh) * 100;
  }
  if (m.relay) snapshot.relay_state = relayAt(next, ts) ? 1 : 0;
  return { state: next, snapshot };
}

/** Steps through [from, to] every `everyMs` (for backfilling history fast). */
export function* simulateRange(
  state: SimState,
  from: number,
  to: number,
  everyMs: number,
): Generator<Snapshot> {
  let s = state;
  for (let ts = from; ts <= to; ts += everyMs) {
    const r = simulateAt(s, ts);
    s = r.state;
    yield r.snapshot;
  }
}

/** The snapshot as flat metric → value pairs (counters included), e.g. for templates or readings. */
export function snapshotMetrics(s: Snapshot): Record<string, number> {
  const { ts: _ts, counters, ...powers } = s;
  const out: Record<string, number> = { ...counters };
  for (const [k, v] of Object.entries(powers)) if (typeof v === 'number') out[k] = v;
  return out;
}
