// Power flow between solar, home, battery and grid from the four canonical power metrics.
// Sign conventions are the protocol's: grid_w > 0 import, battery_w > 0 discharge.
// Pure so it can be unit-tested without a browser.

export interface PowerReadings {
  solar_w?: number | undefined;
  load_w?: number | undefined;
  grid_w?: number | undefined;
  battery_w?: number | undefined;
  battery_soc?: number | undefined;
}

export type FlowDirection = 'in' | 'out' | 'idle';

export interface FlowLeg {
  /** Watts, always ≥ 0; the direction says which way they move relative to the home bus. */
  watts: number;
  direction: FlowDirection;
  present: boolean;
}

export interface PowerFlow {
  solar: FlowLeg;
  battery: FlowLeg;
  grid: FlowLeg;
  home: FlowLeg;
  batterySoc: number | undefined;
  /** Where the home's consumption comes from right now (W). */
  homeFrom: { solar: number; battery: number; grid: number };
  /** Where solar production goes right now (W). */
  solarTo: { home: number; battery: number; grid: number };
}

/** Below this a flow is shown as idle: meters report a few watts of noise at night. */
export const IDLE_THRESHOLD_W = 10;

function leg(value: number | undefined, positive: FlowDirection, negative: FlowDirection): FlowLeg {
  if (value === undefined || !Number.isFinite(value)) return { watts: 0, direction: 'idle', present: false };
  const watts = Math.abs(value);
  if (watts < IDLE_THRESHOLD_W) return { watts, direction: 'idle', present: true };
  return { watts, direction: value > 0 ? positive : negative, present: true };
}

export function computeFlow(r: PowerReadings): PowerFlow {
  // A PV inverter may report a small negative standby draw at night: that is not production.
  const solarW = r.solar_w === undefined ? undefined : Math.max(0, r.solar_w);
  // The home's consumption is measured when we have load_w; otherwise it follows from the
  // balance (everything flowing into the bus leaves through the home).
  const balance = (solarW ?? 0) + (r.battery_w ?? 0) + (r.grid_w ?? 0);
  const hasAnyPower = [r.solar_w, r.grid_w, r.battery_w].some((v) => v !== undefined);
  const loadW = r.load_w ?? (hasAnyPower ? Math.max(0, balance) : undefined);

  const solar = leg(solarW, 'in', 'out');
  const battery = leg(r.battery_w, 'in', 'out');
  const grid = leg(r.grid_w, 'in', 'out');
  const home = leg(loadW, 'out', 'in');

  // Allocation: solar serves the home first, then charges the battery, then exports; the battery
  // serves what is left of the home; the grid covers the remainder.
  const S = solarW ?? 0;
  const L = loadW ?? 0;
  const charge = Math.max(0, -(r.battery_w ?? 0));
  const discharge = Math.max(0, r.battery_w ?? 0);
  const importW = Math.max(0, r.grid_w ?? 0);
  const solarHome = Math.min(S, L);
  const solarBattery = Math.min(S - solarHome, charge);
  const solarGrid = Math.max(0, S - solarHome - solarBattery);
  const batteryHome = Math.min(discharge, L - solarHome);
  const gridHome = Math.min(importW, Math.max(0, L - solarHome - batteryHome));

  return {
    solar,
    battery,
    grid,
    home,
    batterySoc: r.battery_soc,
    homeFrom: { solar: solarHome, battery: batteryHome, grid: gridHome },
    solarTo: { home: solarHome, battery: solarBattery, grid: solarGrid },
  };
}

/** Readings from the latest values of one or more nodes: the freshest value of each metric wins. */
export function readingsFromLatest(values: { metric: string; ts: string; value: number }[]): PowerReadings {
  const best = new Map<string, { ts: number; value: number }>();
  for (const v of values) {
    const ts = Date.parse(v.ts);
    const prev = best.get(v.metric);
    if (!prev || ts > prev.ts) best.set(v.metric, { ts, value: v.value });
  }
  const get = (m: string) => best.get(m)?.value;
  return {
    solar_w: get('solar_w'),
    load_w: get('load_w'),
    grid_w: get('grid_w'),
    battery_w: get('battery_w'),
    battery_soc: get('battery_soc'),
  };
}
