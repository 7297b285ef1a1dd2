// Pure computation of one site day from raw series: no database, no clock. The service feeds it the
// samples of a local day (plus a margin either side) and stores the result in site_daily.
//
// Each flow (solar, load, import, export, charge, discharge) is turned into energy per slot
// (5 min by default). Energy counters win over power when a flow has both: a counter keeps
// counting through a gap in the data, a power integral cannot. Slots then run through a battery
// state-of-origin ledger so energy that charged the battery from the grid is never counted as
// solar when it comes back out.

export type Flow = 'solar' | 'load' | 'import' | 'export' | 'charge' | 'discharge';
export const FLOWS: readonly Flow[] = ['solar', 'load', 'import', 'export', 'charge', 'discharge'];

export interface Sample {
  ts: number;
  value: number;
}

export interface SeriesInput {
  metric: string;
  /** Samples sorted by ts. */
  samples: Sample[];
}

/** Energy in the battery by origin, carried from one day to the next. */
export interface BatteryLedger {
  solarWh: number;
  gridWh: number;
}

export interface DayInput {
  start: number;
  end: number;
  series: SeriesInput[];
  /** Slot length; must divide 15 minutes so peak-demand windows are whole slots. */
  slotMs?: number;
  /** Power samples further apart than this are a gap: the earlier sample holds one interval only. */
  maxGapMs?: number;
  openingBattery?: BatteryLedger;
}

export interface DaySlots {
  slotMs: number;
  start: number;
  flows: Record<Flow, Float64Array>;
}

export interface DaySummary {
  solarWh: number;
  loadWh: number;
  importWh: number;
  exportWh: number;
  chargeWh: number;
  dischargeWh: number;
  /** Solar consumed at the moment it was produced. */
  solarToLoadWh: number;
  /** Battery discharge that reached the load and was solar by origin. */
  batterySolarToLoadWh: number;
  solarExportWh: number;
  /** Solar used on site ÷ solar produced, %. */
  selfConsumptionPct: number | null;
  /** Load covered by solar, directly or through the battery ÷ load, %. */
  selfSufficiencyPct: number | null;
  /** Highest 15-minute average grid import, kW. */
  peakDemandKw: number | null;
  /** Highest 15-minute average load, kW (the demand a site without solar would have had). */
  peakLoadKw: number | null;
  /** Share of the day covered by data, 0..1 (the least covered measured flow). */
  coverage: number;
  closingBattery: BatteryLedger;
  /** Counter resets seen (counter went backwards). */
  counterResets: number;
  slots: DaySlots;
}

const POWER: Record<string, [Flow, Flow | null]> = {
  // [flow of positive values, flow of negative values]
  solar_w: ['solar', null],
  load_w: ['load', null],
  grid_w: ['import', 'export'],
  battery_w: ['discharge', 'charge'],
};
const COUNTERS: Record<string, Flow> = {
  solar_wh: 'solar',
  load_wh: 'load',
  grid_import_wh: 'import',
  grid_export_wh: 'export',
  battery_charge_wh: 'charge',
  battery_discharge_wh: 'discharge',
};

const QUARTER_MS = 15 * 60_000;

function median(xs: number[]): number {
  if (xs.length === 0) return 60_000;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

class SlotSpreader {
  readonly n: number;
  constructor(
    readonly start: number,
    readonly end: number,
    readonly slotMs: number,
  ) {
    this.n = Math.ceil((end - start) / slotMs);
  }
  /** Adds energy e spread evenly over [a, b), clipped to the day; returns the covered ms. */
  spread(target: Float64Array, covered: Float64Array, a: number, b: number, e: number): void {
    if (b <= a) return;
    const lo = Math.max(a, this.start);
    const hi = Math.min(b, this.end);
    if (hi <= lo) return;
    const perMs = e / (b - a);
    let k = Math.floor((lo - this.start) / this.slotMs);
    for (; k < this.n; k++) {
      const s0 = this.start + k * this.slotMs;
      const s1 = Math.min(s0 + this.slotMs, this.end);
      if (s0 >= hi) break;
      const ov = Math.min(s1, hi) - Math.max(s0, lo);
      if (ov > 0) {
        target[k]! += perMs * ov;
        covered[k]! += ov;
      }
    }
  }
}

export function computeDay(input: DayInput): DaySummary {
  const slotMs = input.slotMs ?? 5 * 60_000;
  if (QUARTER_MS % slotMs !== 0) throw new Error('slotMs must divide 15 minutes');
  const sp = new SlotSpreader(input.start, input.end, slotMs);
  const zeros = () => new Float64Array(sp.n);
  const fromPower = Object.fromEntries(FLOWS.map((f) => [f, zeros()])) as Record<Flow, Float64Array>;
  const fromCounter = Object.fromEntries(FLOWS.map((f) => [f, zeros()])) as Record<Flow, Float64Array>;
  // Covered ms per slot, per flow and source. Signed power series cover both of their flows.
  const covPower = Object.fromEntries(FLOWS.map((f) => [f, zeros()])) as Record<Flow, Float64Array>;
  const covCounter = Object.fromEntries(FLOWS.map((f) => [f, zeros()])) as Record<Flow, Float64Array>;
  const hasPower = new Set<Flow>();
  const hasCounter = new Set<Flow>();
  let counterResets = 0;

  for (const s of input.series) {
    const samples = s.samples;
    if (samples.length === 0) continue;
    const counterFlow = COUNTERS[s.metric];
    const powerFlows = POWER[s.metric];
    if (counterFlow) {
      hasCounter.add(counterFlow);
      for (let i = 0; i + 1 < samples.length; i++) {
        const a = samples[i]!;
        const b = samples[i + 1]!;
        let delta = b.value - a.value;
        // A counter going backwards restarted (device reset, meter swap): what it shows now is
        // what it counted since the restart, never negative energy.
        if (delta < 0) {
          counterResets += b.ts > input.start && b.ts <= input.end ? 1 : 0;
          delta = Math.max(0, b.value);
        }
        sp.spread(fromCounter[counterFlow], covCounter[counterFlow], a.ts, b.ts, delta);
      }
    } else if (powerFlows) {
      const [pos, neg] = powerFlows;
      hasPower.add(pos);
      if (neg) hasPower.add(neg);
      const diffs: number[] = [];
      for (let i = 0; i + 1 < samples.length; i++) diffs.push(samples[i + 1]!.ts - samples[i]!.ts);
      const nominal = median(diffs);
      const maxGap = input.maxGapMs ?? Math.max(2.5 * nominal, 1);
      for (let i = 0; i < samples.length; i++) {
        const a = samples[i]!;
        const next = samples[i + 1];
        // Zero-order hold: a sample stands for the time until the next one, unless that is a gap.
        let b = next ? next.ts : a.ts + nominal;
        if (b - a.ts > maxGap) b = a.ts + nominal;
        const wh = (a.value * (b - a.ts)) / 3_600_000;
        if (wh >= 0) {
          sp.spread(fromPower[pos], covPower[pos], a.ts, b, wh);
          if (neg) sp.spread(fromPower[neg], covPower[neg], a.ts, b, 0);
        } else if (neg) {
          sp.spread(fromPower[neg], covPower[neg], a.ts, b, -wh);
          sp.spread(fromPower[pos], covPower[pos], a.ts, b, 0);
        } else {
          // A negative reading of a one-way flow (inverter night draw, CT noise) is not energy.
          sp.spread(fromPower[pos], covPower[pos], a.ts, b, 0);
        }
      }
    }
  }

  const flows = {} as Record<Flow, Float64Array>;
  const present = new Set<Flow>();
  const coverage: number[] = [];
  const dayMs = input.end - input.start;
  for (const f of FLOWS) {
    if (hasCounter.has(f)) {
      flows[f] = fromCounter[f];
      present.add(f);
      coverage.push(covCounter[f].reduce((x, y) => x + y, 0) / dayMs);
    } else if (hasPower.has(f)) {
      flows[f] = fromPower[f];
      present.add(f);
      coverage.push(covPower[f].reduce((x, y) => x + y, 0) / dayMs);
    } else {
      flows[f] = zeros();
    }
  }
  // Sites without a load meter: load is the balance of what came in and went out, per slot.
  if (!present.has('load') && (present.has('solar') || present.has('import'))) {
    for (let k = 0; k < sp.n; k++) {
      flows.load[k] = Math.max(
        0,
        flows.solar[k]! + flows.import[k]! - flows.export[k]! + flows.discharge[k]! - flows.charge[k]!,
      );
    }
  }
  // Sites without a grid meter: the balance again, split by sign.
  if (!present.has('import') && !present.has('export') && present.has('load')) {
    for (let k = 0; k < sp.n; k++) {
      const net = flows.load[k]! - flows.solar[k]! - flows.discharge[k]! + flows.charge[k]!;
      flows.import[k] = Math.max(0, net);
      flows.export[k] = Math.max(0, -net);
    }
  }

  // State-of-origin ledger, slot by slot: solar serves the load first, then charges the battery,
  // then leaves; the battery gives back energy in the proportion of origins it holds.
  const ledger = { solarWh: input.openingBattery?.solarWh ?? 0, gridWh: input.openingBattery?.gridWh ?? 0 };
  let solarToLoad = 0;
  let batterySolarToLoad = 0;
  let solarExport = 0;
  for (let k = 0; k < sp.n; k++) {
    const S = flows.solar[k]!;
    const L = flows.load[k]!;
    const X = flows.export[k]!;
    const C = flows.charge[k]!;
    const D = flows.discharge[k]!;
    const direct = Math.min(S, L);
    const surplus = S - direct;
    const chargeSolar = Math.min(C, surplus);
    ledger.solarWh += chargeSolar;
    ledger.gridWh += C - chargeSolar;
    const held = ledger.solarWh + ledger.gridWh;
    const out = Math.min(D, held);
    const solarOut = held > 0 ? out * (ledger.solarWh / held) : 0;
    ledger.solarWh = Math.max(0, ledger.solarWh - solarOut);
    ledger.gridWh = Math.max(0, ledger.gridWh - (out - solarOut));
    // Discharge beyond what the ledger holds has an unknown origin and is counted as not solar.
    const toLoad = Math.min(D, Math.max(0, L - direct));
    if (D > 0) batterySolarToLoad += toLoad * (solarOut / D);
    solarToLoad += direct;
    solarExport += Math.min(X, Math.max(0, surplus - chargeSolar));
  }

  const sum = (a: Float64Array) => a.reduce((x, y) => x + y, 0);
  const solarWh = sum(flows.solar);
  const loadWh = sum(flows.load);
  const peak = (a: Float64Array): number | null => {
    if (sp.n === 0) return null;
    const perWindow = QUARTER_MS / slotMs;
    let best = 0;
    for (let k = 0; k < sp.n; k += perWindow) {
      let wh = 0;
      for (let j = k; j < Math.min(k + perWindow, sp.n); j++) wh += a[j]!;
      best = Math.max(best, wh);
    }
    return (best * (3_600_000 / QUARTER_MS)) / 1000;
  };
  return {
    solarWh,
    loadWh,
    importWh: sum(flows.import),
    exportWh: sum(flows.export),
    chargeWh: sum(flows.charge),
    dischargeWh: sum(flows.discharge),
    solarToLoadWh: solarToLoad,
    batterySolarToLoadWh: batterySolarToLoad,
    solarExportWh: solarExport,
    selfConsumptionPct: solarWh > 0 ? ((solarWh - solarExport) / solarWh) * 100 : null,
    selfSufficiencyPct: loadWh > 0 ? ((solarToLoad + batterySolarToLoad) / loadWh) * 100 : null,
    peakDemandKw: present.has('import') || present.has('load') ? peak(flows.import) : null,
    peakLoadKw: present.has('load') || present.has('solar') ? peak(flows.load) : null,
    coverage: coverage.length ? Math.min(1, Math.min(...coverage)) : 0,
    closingBattery: ledger,
    counterResets,
    slots: { slotMs, start: input.start, flows },
  };
}

export interface PeriodSummary {
  days: number;
  solarWh: number;
  loadWh: number;
  importWh: number;
  exportWh: number;
  chargeWh: number;
  dischargeWh: number;
  solarToLoadWh: number;
  batterySolarToLoadWh: number;
  solarExportWh: number;
  selfConsumptionPct: number | null;
  selfSufficiencyPct: number | null;
  peakDemandKw: number | null;
}

type DayLike = Omit<PeriodSummary, 'days' | 'selfConsumptionPct' | 'selfSufficiencyPct'>;

/** Aggregates days (a month, a comparison period): energies add, ratios are recomputed from sums. */
export function aggregateDays(days: DayLike[]): PeriodSummary {
  const keys = [
    'solarWh',
    'loadWh',
    'importWh',
    'exportWh',
    'chargeWh',
    'dischargeWh',
    'solarToLoadWh',
    'batterySolarToLoadWh',
    'solarExportWh',
  ] as const;
  const out = Object.fromEntries(keys.map((k) => [k, days.reduce((s, d) => s + d[k], 0)])) as Record<
    (typeof keys)[number],
    number
  >;
  const peaks = days.map((d) => d.peakDemandKw).filter((p): p is number => p !== null);
  return {
    days: days.length,
    ...out,
    selfConsumptionPct: out.solarWh > 0 ? ((out.solarWh - out.solarExportWh) / out.solarWh) * 100 : null,
    selfSufficiencyPct:
      out.loadWh > 0 ? ((out.solarToLoadWh + out.batterySolarToLoadWh) / out.loadWh) * 100 : null,
    peakDemandKw: peaks.length ? Math.max(...peaks) : null,
  };
}
