// Turns hub answers into uPlot's aligned columns. A day is power (kW) from raw samples; week,
// month and year are the hub's own energy figures (kWh per site-local day or month from
// /daily and /monthly), never an average power scaled up. Several nodes reporting the same metric
// (two inverters) are summed per timestamp, which is what a site total means.
import type { DayRow, MonthRow } from '../api/analytics.ts';
import type { Series, TelemetryAnswer } from '../api/telemetry.ts';
import { localDate, localDayBounds, type Period } from './site-time.ts';

export const POWER_METRICS = ['solar_w', 'load_w', 'grid_w', 'battery_w'] as const;

export const METRIC_STYLE: Record<string, { label: string; color: string }> = {
  solar_w: { label: 'Solar', color: '#c99400' },
  load_w: { label: 'Home', color: '#3b6fd8' },
  grid_w: { label: 'Grid (+import)', color: '#7a7a7a' },
  battery_w: { label: 'Battery (+discharge)', color: '#2e9d5b' },
};

/** Energy flows drawn as grouped bars, in legend order. */
export const ENERGY_FLOWS = [
  { key: 'solarKwh', label: 'Solar', color: '#c99400' },
  { key: 'loadKwh', label: 'Home', color: '#3b6fd8' },
  { key: 'importKwh', label: 'Import', color: '#7a7a7a' },
  { key: 'exportKwh', label: 'Export', color: '#a05ac8' },
  { key: 'batteryChargeKwh', label: 'Battery in', color: '#2e9d5b' },
  { key: 'batteryDischargeKwh', label: 'Battery out', color: '#7cc59a' },
] as const;

export interface Aligned {
  /** Seconds since epoch (uPlot's convention): sample times, or the start of each bar's bucket. */
  xs: number[];
  /** For bars: the end of each bucket (next local midnight / first of next month), seconds. */
  ends?: number[];
  columns: { key: string; label: string; color: string; values: (number | null)[] }[];
}

function sumInto(target: Map<string, Map<number, number>>, s: Series) {
  let m = target.get(s.metric);
  if (!m) {
    m = new Map();
    target.set(s.metric, m);
  }
  for (const [ts, v] of s.points) m.set(ts, (m.get(ts) ?? 0) + v);
}

/** A day: power in kW as measured. */
export function powerColumns(answer: TelemetryAnswer): Aligned {
  const byMetric = new Map<string, Map<number, number>>();
  for (const metric of POWER_METRICS) {
    for (const s of answer.series) if (s.metric === metric) sumInto(byMetric, s);
  }
  const xsSet = new Set<number>();
  for (const m of byMetric.values()) for (const ts of m.keys()) xsSet.add(ts);
  const xsMs = [...xsSet].sort((a, b) => a - b);
  return {
    xs: xsMs.map((ms) => ms / 1000),
    columns: [...byMetric.entries()].map(([metric, m]) => ({
      key: metric,
      label: METRIC_STYLE[metric]?.label ?? metric,
      color: METRIC_STYLE[metric]?.color ?? '#888',
      values: xsMs.map((ts) => {
        const v = m.get(ts);
        return v === undefined ? null : v / 1000;
      }),
    })),
  };
}

type Flows = Pick<DayRow, (typeof ENERGY_FLOWS)[number]['key']>;

/**
 * One bar group per bucket; a bucket with no measurement is null (drawn as a gap, read as "no
 * data"), not 0. Battery flows are left out for sites that never had a battery in the period.
 */
function energyColumns(buckets: { start: number; end: number; flows: Flows | null }[]): Aligned {
  const flows = ENERGY_FLOWS.filter(
    (f) => !f.key.startsWith('battery') || buckets.some((b) => (b.flows?.[f.key] ?? 0) > 0),
  );
  return {
    xs: buckets.map((b) => b.start / 1000),
    ends: buckets.map((b) => b.end / 1000),
    columns: flows.map((f) => ({
      key: f.key,
      label: f.label,
      color: f.color,
      values: buckets.map((b) => (b.flows ? (b.flows[f.key] ?? null) : null)),
    })),
  };
}

/** Week and month: one bucket per local day of the period, in the site's zone. */
export function dailyEnergy(rows: DayRow[], period: Period, timeZone: string): Aligned {
  const byDay = new Map(rows.map((r) => [r.day, r]));
  const buckets = [];
  for (let start = period.start; start < period.end; ) {
    const day = localDate(start, timeZone);
    const [s, e] = localDayBounds(day, timeZone);
    const row = byDay.get(day);
    buckets.push({ start: s, end: e, flows: row && row.coverage > 0 ? row : null });
    start = e;
  }
  return energyColumns(buckets);
}

/** Year: one bucket per calendar month of the site. */
export function monthlyEnergy(rows: MonthRow[], timeZone: string): Aligned {
  return energyColumns(
    rows.map((r) => {
      const [y, m] = r.month.split('-').map(Number) as [number, number];
      const next = new Date(Date.UTC(y, m, 1)).toISOString().slice(0, 10);
      return {
        start: localDayBounds(`${r.month}-01`, timeZone)[0],
        end: localDayBounds(next, timeZone)[0],
        flows: r.daysWithData > 0 ? r : null,
      };
    }),
  );
}
