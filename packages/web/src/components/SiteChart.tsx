// Energy charts for one site: today (power, kW) and week / month / year (energy, kWh).
import { useMemo, useState } from 'react';
import { telemetryApi } from '../api/telemetry.ts';
import {
  energyColumns,
  METRIC_STYLE,
  POWER_METRICS,
  powerColumns,
  type RangeKey,
  rangeBounds,
} from '../lib/chart-data.ts';
import { useAsync } from '../lib/use-async.ts';
import { EnergyChart } from './EnergyChart.tsx';
import { ErrorNote } from './ErrorNote.tsx';

const RANGES: { key: RangeKey; label: string }[] = [
  { key: 'today', label: 'Today' },
  { key: 'week', label: 'Week' },
  { key: 'month', label: 'Month' },
  { key: 'year', label: 'Year' },
];

export function SiteChart({ siteId, refreshKey = 0 }: { siteId: string; refreshKey?: number }) {
  const [range, setRange] = useState<RangeKey>('today');
  const { data, error, loading } = useAsync(
    (signal) => {
      const b = rangeBounds(range);
      return telemetryApi.site(
        siteId,
        { from: b.from, to: b.to, step: b.step, metrics: [...POWER_METRICS] },
        signal,
      );
    },
    [siteId, range, refreshKey],
  );
  const aligned = useMemo(
    () =>
      data ? (range === 'today' ? powerColumns(data) : energyColumns(data, range === 'year')) : undefined,
    [data, range],
  );
  const series = useMemo(
    () =>
      aligned?.columns.map((c) => ({
        label: METRIC_STYLE[c.metric]?.label ?? c.metric,
        color: METRIC_STYLE[c.metric]?.color ?? '#888',
        values: c.values,
      })) ?? [],
    [aligned],
  );
  return (
    <section className="card" aria-labelledby="chart-title">
      <div className="card-head">
        <h2 id="chart-title">Energy</h2>
        <div role="tablist" aria-label="Chart range" className="tabs">
          {RANGES.map((r) => (
            <button
              key={r.key}
              type="button"
              role="tab"
              aria-selected={range === r.key}
              className={range === r.key ? 'active' : ''}
              onClick={() => setRange(r.key)}
            >
              {r.label}
            </button>
          ))}
        </div>
      </div>
      <ErrorNote error={error} />
      {aligned && aligned.xs.length > 0 ? (
        <EnergyChart
          title={`${range} chart`}
          xs={aligned.xs}
          series={series}
          unit={range === 'today' ? 'kW' : 'kWh'}
          bars={range !== 'today'}
        />
      ) : (
        <p className="muted" data-testid="chart-empty">
          {loading ? 'Loading…' : 'No data for this range yet.'}
        </p>
      )}
    </section>
  );
}
