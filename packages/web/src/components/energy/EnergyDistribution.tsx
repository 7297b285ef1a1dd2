// Energy distribution of a chosen period of the site (a day, a Monday-first week, a month or a
// year), with previous/next and a date picker, all in the SITE's time zone and calendar, and the
// change from the previous period of the same kind (the previous calendar week, month or year:
// the hub compares against the range named as previous). Figures, flows, cost, savings and CO₂
// avoided are the hub's; while a period loads nothing of the previous one is drawn as the new one.
import { useState } from 'react';
import { analyticsApi, type Comparison, type DatedPeriod } from '../../api/analytics.ts';
import { localDate, periodOf, periodTitle, type RangeKey, shiftAnchor } from '../../lib/site-time.ts';
import { useAsync } from '../../lib/use-async.ts';
import { ErrorNote } from '../ErrorNote.tsx';
import { EnergySankey } from './EnergySankey.tsx';

const RANGES: { key: RangeKey; label: string }[] = [
  { key: 'day', label: 'Day' },
  { key: 'week', label: 'Week' },
  { key: 'month', label: 'Month' },
  { key: 'year', label: 'Year' },
];
const BEFORE: Record<RangeKey, string> = {
  day: 'day before',
  week: 'week before',
  month: 'month before',
  year: 'year before',
};

const DELTAS: { key: 'solarKwh' | 'loadKwh' | 'importKwh' | 'exportKwh'; label: string }[] = [
  { key: 'solarKwh', label: 'Produced' },
  { key: 'loadKwh', label: 'Used' },
  { key: 'importKwh', label: 'Imported' },
  { key: 'exportKwh', label: 'Exported' },
];

const signed = (d: number, digits: number, unit: string) =>
  `${d >= 0 ? '+' : '−'}${Math.abs(d).toFixed(digits)}${unit ? ` ${unit}` : ''}`;

function delta(now: DatedPeriod, before: DatedPeriod, key: (typeof DELTAS)[number]['key']): string {
  if (before.daysWithData === 0) return 'no data before';
  return signed((now[key] ?? 0) - (before[key] ?? 0), 1, 'kWh');
}

interface MoneyTile {
  key: 'cost' | 'savings' | 'co2';
  label: string;
  value: string;
  change?: string;
  hint?: boolean;
}

/** Cost, savings and CO₂ avoided of the period, each with its change from the previous period. */
function periodTiles(c: Comparison, range: RangeKey): MoneyTile[] {
  const { current: now, previous: before } = c;
  const cur = now.currency ?? '';
  const noBefore = before.daysWithData === 0;
  const change = (a: number | null, b: number | null, pct: number | null, digits: number, unit: string) => {
    if (noBefore || a === null || b === null) return noBefore ? 'no data before' : undefined;
    const p = pct === null ? '' : ` (${signed(pct, 0, '%')})`;
    return `${signed(a - b, digits, unit)}${p} vs ${BEFORE[range]}`;
  };
  return [
    now.cost === null
      ? { key: 'cost', label: 'Cost', value: 'set a tariff', hint: true }
      : {
          key: 'cost',
          label: 'Cost',
          value: `${now.cost.toFixed(2)} ${cur}`.trim(),
          change: change(now.cost, before.cost, c.changePct.cost, 2, cur),
        },
    now.savings === null
      ? { key: 'savings', label: 'Savings', value: 'set a tariff', hint: true }
      : {
          key: 'savings',
          label: 'Savings',
          value: `${now.savings.toFixed(2)} ${cur}`.trim(),
          change: change(now.savings, before.savings, c.changePct.savings, 2, cur),
        },
    now.co2AvoidedKg === null
      ? { key: 'co2', label: 'CO₂ avoided', value: 'set your grid’s CO₂ intensity', hint: true }
      : {
          key: 'co2',
          label: 'CO₂ avoided',
          value: `${now.co2AvoidedKg.toFixed(1)} kg`,
          change: change(now.co2AvoidedKg, before.co2AvoidedKg, c.changePct.co2AvoidedKg, 1, 'kg'),
        },
  ];
}

export function EnergyDistribution({
  siteId,
  timeZone,
  refreshKey = 0,
}: {
  siteId: string;
  timeZone: string;
  /** Changes when the figures should be read again (a setting saved). */
  refreshKey?: number | string;
}) {
  const today = localDate(Date.now(), timeZone);
  const [range, setRange] = useState<RangeKey>('day');
  const [anchor, setAnchor] = useState(today);
  const period = periodOf(range, anchor, timeZone);
  const previous = periodOf(range, shiftAnchor(range, anchor, -1), timeZone);
  const key = `${period.fromDay}/${period.toDay}`;
  const data = useAsync(
    (signal) =>
      analyticsApi.comparison(siteId, period.fromDay, period.toDay, signal, {
        from: previous.fromDay,
        to: previous.toDay,
      }),
    [siteId, key, refreshKey],
  );
  // Only the answer for the period on screen is drawn.
  const shown =
    data.data &&
    data.data.current.from === period.fromDay &&
    data.data.current.to === period.toDay &&
    !data.loading
      ? data.data
      : undefined;
  const isCurrent = period.toDay >= today;
  /** Days after the site's today are not chosen: they show as today. */
  const pick = (day: string) => {
    if (!day) return;
    setAnchor(day <= today ? day : today);
  };
  const go = (step: -1 | 1) => pick(shiftAnchor(range, anchor, step));
  return (
    <section className="card" aria-labelledby="distribution-title" data-testid="energy-distribution">
      <div className="card-head">
        <h2 id="distribution-title">Energy distribution</h2>
        <div role="tablist" aria-label="Distribution period" className="tabs">
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
        <strong data-testid="distribution-title" data-from={period.fromDay} data-to={period.toDay}>
          {periodTitle(period)}
        </strong>
        <button type="button" onClick={() => go(1)} disabled={isCurrent} aria-label={`Next ${range}`}>
          ›
        </button>
        <input
          type="date"
          aria-label="Day"
          value={anchor}
          max={today}
          onChange={(e) => pick(e.target.value)}
        />
      </div>
      <ErrorNote error={data.error} />
      {!shown && !data.error && (
        <p className="muted" data-testid="distribution-loading">
          Loading…
        </p>
      )}
      {shown &&
        (shown.current.daysWithData === 0 ? (
          <p className="muted" data-testid="distribution-empty">
            no data
          </p>
        ) : (
          <>
            <EnergySankey flows={shown.current.flows} />
            <ul className="period-deltas" data-testid="period-deltas">
              {DELTAS.map((d) => (
                <li key={d.key}>
                  {d.label}: {(shown.current[d.key] ?? 0).toFixed(1)} kWh (
                  {delta(shown.current, shown.previous, d.key)} vs {BEFORE[range]})
                </li>
              ))}
            </ul>
            <dl className="tiles" data-testid="period-tiles">
              {periodTiles(shown, range).map((t) => (
                <div key={t.key} className={t.hint ? 'tile tile-hint' : 'tile'} data-tile={t.key}>
                  <dt>{t.label}</dt>
                  <dd>
                    {t.hint && t.key === 'co2' ? <a href="#site-settings">{t.value}</a> : t.value}
                    {t.change && <span className="tile-note">{t.change}</span>}
                  </dd>
                </div>
              ))}
            </dl>
          </>
        ))}
    </section>
  );
}
