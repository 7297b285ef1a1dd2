// Energy charts for one site, in the site's time zone: a day (power, kW, raw samples), and a week,
// month or year (the hub's energy per local day or month, kWh, grouped bars). Previous / next and a
// date picker move through periods; a period still loading shows a placeholder, never the previous
// period's values redrawn in the new period's unit.
import { useCallback, useMemo, useState } from 'react';
import { analyticsApi } from '../api/analytics.ts';
import { telemetryApi } from '../api/telemetry.ts';
import { type Aligned, dailyEnergy, monthlyEnergy, POWER_METRICS, powerColumns } from '../lib/chart-data.ts';
import {
  localDate,
  monthsOf,
  type Period,
  periodOf,
  periodTitle,
  type RangeKey,
  shiftAnchor,
  zoneLabel,
} from '../lib/site-time.ts';
import { useAsync } from '../lib/use-async.ts';
import { EnergyChart } from './EnergyChart.tsx';
import { ErrorNote } from './ErrorNote.tsx';

const RANGES: { key: RangeKey; label: string }[] = [
  { key: 'day', label: 'Day' },
  { key: 'week', label: 'Week' },
  { key: 'month', label: 'Month' },
  { key: 'year', label: 'Year' },
];

const periodKey = (p: Period) => `${p.range}|${p.fromDay}`;

async function loadPeriod(siteId: string, p: Period, timeZone: string, now: number, signal: AbortSignal) {
  switch (p.range) {
    case 'day': {
      const to = Math.min(p.end, now);
      if (to <= p.start) return { xs: [], columns: [] } satisfies Aligned;
      // Raw samples (the hub caps them at ~2,000 points): hourly rollups lag behind the present.
      const answer = await telemetryApi.site(
        siteId,
        { from: new Date(p.start), to: new Date(to), step: 'raw', metrics: [...POWER_METRICS] },
        signal,
      );
      return powerColumns(answer);
    }
    case 'week':
    case 'month':
      return dailyEnergy(await analyticsApi.daily(siteId, p.fromDay, p.toDay), p, timeZone);
    case 'year': {
      const months = monthsOf(p);
      return monthlyEnergy(await analyticsApi.monthly(siteId, months[0]!, months.at(-1)!), timeZone);
    }
  }
}

function bucketFormatter(range: RangeKey, timeZone: string): (startSec: number) => string {
  const f = new Intl.DateTimeFormat(
    undefined,
    range === 'year'
      ? { timeZone, month: 'short' }
      : range === 'week'
        ? { timeZone, weekday: 'short', day: 'numeric' }
        : { timeZone, day: 'numeric' },
  );
  return (s) => f.format(new Date(s * 1000));
}

/** The bars as a table for screen readers (a canvas says nothing), one row per day or month. */
function BucketTable({
  aligned,
  bucketLabel,
  title,
}: {
  aligned: Aligned;
  bucketLabel: (startSec: number) => string;
  title: string;
}) {
  return (
    <table className="sr-only" data-testid="chart-table">
      <caption>
        Energy per {aligned.xs.length > 12 ? 'day' : 'period'}, {title}
      </caption>
      <thead>
        <tr>
          <th scope="col">When</th>
          {aligned.columns.map((c) => (
            <th scope="col" key={c.key}>
              {c.label} (kWh)
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {aligned.xs.map((x, i) => (
          <tr key={x} data-start={new Date(x * 1000).toISOString()}>
            <th scope="row">{bucketLabel(x)}</th>
            {aligned.columns.map((c) => {
              const v = c.values[i];
              return (
                <td key={c.key} data-flow={c.key}>
                  {v === null || v === undefined ? 'no data' : v.toFixed(1)}
                </td>
              );
            })}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function SiteChart({
  siteId,
  timeZone,
  refreshKey = 0,
}: {
  siteId: string;
  timeZone: string;
  refreshKey?: number;
}) {
  const today = localDate(Date.now(), timeZone);
  const [range, setRange] = useState<RangeKey>('day');
  const [anchor, setAnchor] = useState(today);
  const period = useMemo(() => periodOf(range, anchor, timeZone), [range, anchor, timeZone]);
  const key = periodKey(period);
  const result = useAsync(
    async (signal) => ({ key, aligned: await loadPeriod(siteId, period, timeZone, Date.now(), signal) }),
    [siteId, key, timeZone, refreshKey],
  );
  // Only the answer for the period on screen is drawn; another period's answer is "loading".
  const aligned = result.data?.key === key ? result.data.aligned : undefined;
  const bucketLabel = useMemo(() => bucketFormatter(range, timeZone), [range, timeZone]);
  const chartRange = useMemo((): [number, number] => [period.start / 1000, period.end / 1000], [period]);
  const series = useMemo(
    () => aligned?.columns.map((c) => ({ label: c.label, color: c.color, values: c.values })) ?? [],
    [aligned],
  );
  const hasData = series.some((s) => s.values.some((v) => v !== null));
  const isCurrent = period.toDay >= today;
  const go = useCallback((step: -1 | 1) => setAnchor((a) => shiftAnchor(range, a, step)), [range]);
  return (
    <section className="card" aria-labelledby="chart-title" data-testid="site-chart">
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
      <div className="period-nav">
        <button type="button" onClick={() => go(-1)} aria-label={`Previous ${range}`}>
          ‹
        </button>
        <strong data-testid="period-title" data-from={period.fromDay} data-to={period.toDay}>
          {periodTitle(period)}
        </strong>
        <button type="button" onClick={() => go(1)} disabled={isCurrent} aria-label={`Next ${range}`}>
          ›
        </button>
        <label className="inline">
          <span className="sr-only">Date</span>
          <input
            type="date"
            value={anchor}
            max={today}
            onChange={(e) => e.target.value && setAnchor(e.target.value)}
          />
        </label>
        <span className="muted" data-testid="chart-zone">
          Times in {zoneLabel(timeZone, period.start)}
        </span>
      </div>
      <ErrorNote error={result.error} />
      {!aligned ? (
        <div className="chart-placeholder" data-testid="chart-loading" aria-busy="true">
          Loading {periodTitle(period)}…
        </div>
      ) : hasData ? (
        <>
          <EnergyChart
            title={`${range === 'day' ? 'Power' : 'Energy'}, ${periodTitle(period)}`}
            xs={aligned.xs}
            {...(aligned.ends ? { ends: aligned.ends, bucketLabel } : {})}
            series={series}
            unit={range === 'day' ? 'kW' : 'kWh'}
            timeZone={timeZone}
            range={chartRange}
          />
          {aligned.ends && (
            <BucketTable aligned={aligned} bucketLabel={bucketLabel} title={periodTitle(period)} />
          )}
        </>
      ) : (
        <p className="chart-placeholder muted" data-testid="chart-empty">
          No data for {periodTitle(period)}.
        </p>
      )}
    </section>
  );
}
