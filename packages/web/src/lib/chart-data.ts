// Turns telemetry answers into uPlot's aligned columns. Several nodes may report the same metric
// (two inverters): their values are summed per timestamp, which is what a site total means.
import type { Series, TelemetryAnswer } from '../api/telemetry.ts';

export type RangeKey = 'today' | 'week' | 'month' | 'year';

export const POWER_METRICS = ['solar_w', 'load_w', 'grid_w', 'battery_w'] as const;

export const METRIC_STYLE: Record<string, { label: string; color: string }> = {
  solar_w: { label: 'Solar', color: '#e0a800' },
  load_w: { label: 'Home', color: '#3b6fd8' },
  grid_w: { label: 'Grid (+import)', color: '#7a7a7a' },
  battery_w: { label: 'Battery (+discharge)', color: '#2e9d5b' },
};

export function rangeBounds(
  range: RangeKey,
  now = new Date(),
): { from: Date; to: Date; step: 'raw' | 'day' } {
  const midnight = new Date(now);
  midnight.setHours(0, 0, 0, 0);
  const daysBack = (n: number) => new Date(midnight.getTime() - n * 86_400_000);
  switch (range) {
    case 'today':
      // Raw samples (the hub caps them at ~2,000 points): hourly rollups lag behind the present.
      return { from: midnight, to: now, step: 'raw' };
    case 'week':
      return { from: daysBack(6), to: now, step: 'day' };
    case 'month':
      return { from: daysBack(29), to: now, step: 'day' };
    case 'year':
      return { from: daysBack(364), to: now, step: 'day' };
  }
}

export interface Aligned {
  xs: number[];
  columns: { metric: string; values: (number | null)[] }[];
}

function align(byMetric: Map<string, Map<number, number>>, scale: (v: number) => number): Aligned {
  const xsSet = new Set<number>();
  for (const m of byMetric.values()) for (const ts of m.keys()) xsSet.add(ts);
  const xsMs = [...xsSet].sort((a, b) => a - b);
  const columns = [...byMetric.entries()].map(([metric, m]) => ({
    metric,
    values: xsMs.map((ts) => {
      const v = m.get(ts);
      return v === undefined ? null : scale(v);
    }),
  }));
  return { xs: xsMs.map((ms) => ms / 1000), columns };
}

function sumInto(target: Map<string, Map<number, number>>, s: Series, value: (i: number) => number | null) {
  let m = target.get(s.metric);
  if (!m) {
    m = new Map();
    target.set(s.metric, m);
  }
  s.points.forEach(([ts], i) => {
    const v = value(i);
    if (v !== null) m.set(ts, (m.get(ts) ?? 0) + v);
  });
}

/** Today: power in kW as measured (raw or hourly averages). */
export function powerColumns(answer: TelemetryAnswer): Aligned {
  const byMetric = new Map<string, Map<number, number>>();
  for (const metric of POWER_METRICS) {
    for (const s of answer.series) if (s.metric === metric) sumInto(byMetric, s, (i) => s.points[i]![1]);
  }
  return align(byMetric, (w) => w / 1000);
}

/**
 * Week / month / year: energy per day (or per month for a year) in kWh, from the hub's daily
 * rollups: the integral of power when present, else average W × 24 h.
 */
export function energyColumns(answer: TelemetryAnswer, perMonth: boolean): Aligned {
  const byMetric = new Map<string, Map<number, number>>();
  for (const metric of POWER_METRICS) {
    for (const s of answer.series) {
      if (s.metric !== metric) continue;
      const energy = s.energyWh;
      sumInto(byMetric, s, (i) => {
        const e = Array.isArray(energy) ? energy[i] : undefined;
        return e ?? s.points[i]![1] * 24;
      });
    }
  }
  if (perMonth) {
    for (const [metric, m] of byMetric) {
      const months = new Map<number, number>();
      for (const [ts, wh] of m) {
        const d = new Date(ts);
        const key = new Date(d.getFullYear(), d.getMonth(), 1).getTime();
        months.set(key, (months.get(key) ?? 0) + wh);
      }
      byMetric.set(metric, months);
    }
  }
  return align(byMetric, (wh) => wh / 1000);
}
