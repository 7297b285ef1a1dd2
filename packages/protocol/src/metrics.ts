// The metric catalogue: canonical names every source, the hub and the portals agree on.
// A metric outside this list is refused at ingest unless it carries the custom prefix.

export type MetricKind = 'power' | 'energy' | 'gauge' | 'state';

export interface MetricDefinition {
  readonly name: string;
  readonly unit: string;
  readonly kind: MetricKind;
  readonly description: string;
}

/** Custom, site-specific metrics are allowed when they start with this prefix. */
export const CUSTOM_METRIC_PREFIX = 'x_';

const define = (name: string, unit: string, kind: MetricKind, description: string): MetricDefinition => ({
  name,
  unit,
  kind,
  description,
});

export const METRICS: readonly MetricDefinition[] = [
  // Power flows (instantaneous). Sign conventions are part of the contract:
  // grid_w > 0 is import, < 0 export; battery_w > 0 is discharge, < 0 charge.
  define('solar_w', 'W', 'power', 'PV production'),
  define('load_w', 'W', 'power', 'Household / site consumption'),
  define('grid_w', 'W', 'power', 'Grid exchange: positive import, negative export'),
  define('battery_w', 'W', 'power', 'Battery: positive discharge, negative charge'),
  define('ev_w', 'W', 'power', 'EV charger power'),
  define('power_w', 'W', 'power', 'Generic active power of one equipment (plug, CT)'),
  define('power_l1_w', 'W', 'power', 'Active power phase L1'),
  define('power_l2_w', 'W', 'power', 'Active power phase L2'),
  define('power_l3_w', 'W', 'power', 'Active power phase L3'),
  define('reactive_power_var', 'var', 'power', 'Reactive power'),
  // Energy counters (monotonic, may reset).
  define('solar_wh', 'Wh', 'energy', 'PV production counter'),
  define('load_wh', 'Wh', 'energy', 'Consumption counter'),
  define('grid_import_wh', 'Wh', 'energy', 'Grid import counter'),
  define('grid_export_wh', 'Wh', 'energy', 'Grid export counter'),
  define('battery_charge_wh', 'Wh', 'energy', 'Battery charge counter'),
  define('battery_discharge_wh', 'Wh', 'energy', 'Battery discharge counter'),
  define('energy_wh', 'Wh', 'energy', 'Generic energy counter of one equipment'),
  // Gauges.
  define('battery_soc', '%', 'gauge', 'Battery state of charge'),
  define('voltage_l1', 'V', 'gauge', 'Voltage phase L1'),
  define('voltage_l2', 'V', 'gauge', 'Voltage phase L2'),
  define('voltage_l3', 'V', 'gauge', 'Voltage phase L3'),
  define('current_l1', 'A', 'gauge', 'Current phase L1'),
  define('current_l2', 'A', 'gauge', 'Current phase L2'),
  define('current_l3', 'A', 'gauge', 'Current phase L3'),
  define('frequency_hz', 'Hz', 'gauge', 'Grid frequency'),
  define('pv_voltage_v', 'V', 'gauge', 'PV string DC voltage'),
  define('pv_current_a', 'A', 'gauge', 'PV string DC current'),
  define('temperature_c', '°C', 'gauge', 'Equipment temperature'),
  define('power_factor', '', 'gauge', 'Power factor'),
  // States (enumerations encoded as numbers).
  define('relay_state', '', 'state', '1 = on, 0 = off'),
  define('inverter_state', '', 'state', 'Inverter operating state (SunSpec St enumeration)'),
  define('error_code', '', 'state', 'Vendor error code, 0 = none'),
];

const byName = new Map(METRICS.map((m) => [m.name, m]));

export function metricDefinition(name: string): MetricDefinition | undefined {
  return byName.get(name);
}

/** True when a metric may be ingested: in the catalogue, or custom (x_…) with a sane name. */
export function isAcceptedMetric(name: string): boolean {
  return byName.has(name) || isCustomMetric(name);
}

const CUSTOM_RE = /^x_[a-z0-9_]{1,60}$/;
export function isCustomMetric(name: string): boolean {
  return CUSTOM_RE.test(name);
}

/** Kind used by rollups: custom metrics are gauges unless their name ends in a unit suffix. */
export function metricKind(name: string): MetricKind {
  const def = byName.get(name);
  if (def) return def.kind;
  if (name.endsWith('_wh')) return 'energy';
  if (name.endsWith('_w')) return 'power';
  return 'gauge';
}
