// Data contracts (issue 17 item 6): per equipment class, a versioned statement of what its
// readings must look like (required metrics, their catalogue units, allowed value ranges), as
// data. The interpreter below compiles them once and checks samples; the hub runs it at ingest
// and stores what it finds as data-quality findings, never dropping a sample for it.
//
// The class of an equipment is its `kind` (the hub's equipment table): KIND_CONTRACTS maps kind
// → contract. A kind without a contract (sensor) is not checked. A new version of a contract is
// a new entry (`inverter_v2`) and a change of the mapping, so findings always name the version
// they were judged by.

export interface MetricRule {
  metric: string;
  /** Catalogue unit, written out so the contract reads on its own; must match the catalogue. */
  unit: string;
  /** The equipment must send it (see REQUIRED_MIN_READINGS for how that is judged per batch). */
  required?: boolean;
  min?: number;
  max?: number;
  /** An enumeration or switch state: whole numbers only. */
  integer?: boolean;
}

export interface DataContract {
  /** `<class>_v<version>`, the name findings refer to. */
  id: string;
  equipmentClass: string;
  version: number;
  description: string;
  metrics: readonly MetricRule[];
}

const MW = 1_000_000;

const acSide: MetricRule[] = [
  { metric: 'voltage_l1', unit: 'V', min: 0, max: 1000 },
  { metric: 'voltage_l2', unit: 'V', min: 0, max: 1000 },
  { metric: 'voltage_l3', unit: 'V', min: 0, max: 1000 },
  { metric: 'frequency_hz', unit: 'Hz', min: 40, max: 70 },
  { metric: 'power_factor', unit: '', min: -1, max: 1 },
];

export const CONTRACTS: readonly DataContract[] = [
  {
    id: 'inverter_v1',
    equipmentClass: 'inverter',
    version: 1,
    description: 'PV inverter: AC output (a few hundred W of night draw allowed), counters never negative',
    metrics: [
      { metric: 'solar_w', unit: 'W', required: true, min: -500, max: 10 * MW },
      { metric: 'power_w', unit: 'W', min: -500, max: 10 * MW },
      { metric: 'solar_wh', unit: 'Wh', min: 0 },
      { metric: 'pv_voltage_v', unit: 'V', min: 0, max: 1500 },
      { metric: 'pv_current_a', unit: 'A', min: 0, max: 500 },
      { metric: 'temperature_c', unit: '°C', min: -40, max: 125 },
      { metric: 'inverter_state', unit: '', integer: true, min: 0 },
      ...acSide,
    ],
  },
  {
    id: 'meter_v1',
    equipmentClass: 'meter',
    version: 1,
    description: 'Energy meter or CT clamp: signed power, counters never negative, plausible grid values',
    metrics: [
      { metric: 'grid_w', unit: 'W', min: -100 * MW, max: 100 * MW },
      { metric: 'load_w', unit: 'W', min: -100 * MW, max: 100 * MW },
      { metric: 'power_w', unit: 'W', min: -100 * MW, max: 100 * MW },
      { metric: 'grid_import_wh', unit: 'Wh', min: 0 },
      { metric: 'grid_export_wh', unit: 'Wh', min: 0 },
      { metric: 'energy_wh', unit: 'Wh', min: 0 },
      { metric: 'current_l1', unit: 'A', min: -10_000, max: 10_000 },
      { metric: 'current_l2', unit: 'A', min: -10_000, max: 10_000 },
      { metric: 'current_l3', unit: 'A', min: -10_000, max: 10_000 },
      ...acSide,
    ],
  },
  {
    id: 'battery_v1',
    equipmentClass: 'battery',
    version: 1,
    description: 'Battery: state of charge 0–100 %, signed power (discharge positive)',
    metrics: [
      { metric: 'battery_soc', unit: '%', required: true, min: 0, max: 100 },
      { metric: 'battery_w', unit: 'W', min: -10 * MW, max: 10 * MW },
      { metric: 'battery_charge_wh', unit: 'Wh', min: 0 },
      { metric: 'battery_discharge_wh', unit: 'Wh', min: 0 },
      { metric: 'temperature_c', unit: '°C', min: -40, max: 100 },
    ],
  },
  {
    id: 'plug_v1',
    equipmentClass: 'plug',
    version: 1,
    description: 'Smart plug or relay: on/off state, consumption up to a 32 A circuit',
    metrics: [
      { metric: 'relay_state', unit: '', integer: true, min: 0, max: 1 },
      { metric: 'power_w', unit: 'W', min: -50, max: 25_000 },
      { metric: 'energy_wh', unit: 'Wh', min: 0 },
      { metric: 'voltage_l1', unit: 'V', min: 0, max: 500 },
      { metric: 'current_l1', unit: 'A', min: 0, max: 100 },
    ],
  },
  {
    id: 'ev_charger_v1',
    equipmentClass: 'ev_charger',
    version: 1,
    description: 'EV charger: charging power (negative only for bidirectional chargers)',
    metrics: [
      { metric: 'ev_w', unit: 'W', min: -400_000, max: 400_000 },
      { metric: 'energy_wh', unit: 'Wh', min: 0 },
      ...acSide,
    ],
  },
  {
    id: 'pump_v1',
    equipmentClass: 'pump',
    version: 1,
    description: 'Pump or motor drive: electrical input power, run state',
    metrics: [
      { metric: 'power_w', unit: 'W', required: true, min: 0, max: 10 * MW },
      { metric: 'relay_state', unit: '', integer: true, min: 0, max: 1 },
      { metric: 'energy_wh', unit: 'Wh', min: 0 },
      { metric: 'temperature_c', unit: '°C', min: -40, max: 150 },
    ],
  },
];

/**
 * Equipment kind (the hub's equipment.kind) → contract id. A CT is read like a meter; a relay
 * like a plug. `pump` has no equipment kind yet: its contract applies once the registry has one.
 * `sensor` is too varied for a contract.
 */
export const KIND_CONTRACTS: Readonly<Record<string, string>> = {
  inverter: 'inverter_v1',
  meter: 'meter_v1',
  ct: 'meter_v1',
  battery: 'battery_v1',
  plug: 'plug_v1',
  relay: 'plug_v1',
  ev_charger: 'ev_charger_v1',
  pump: 'pump_v1',
};

/**
 * A required metric is judged missing only in a batch holding at least this many read cycles
 * (distinct sample timestamps) of the equipment: a batch boundary can cut the first and the last
 * cycle, never one in the middle.
 */
export const REQUIRED_MIN_READINGS = 3;
