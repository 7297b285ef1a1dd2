// Energy distribution of a chosen local day of the site (previous/next and a date picker, in the
// SITE's time zone), with the change from the day before. Figures and flows come from the hub's
// comparison endpoint; while a day loads nothing of the previous day is drawn as the new one.
import { useState } from 'react';
import { analyticsApi, type DatedPeriod } from '../../api/analytics.ts';
import { addDays, localDate } from '../../lib/site-time.ts';
import { useAsync } from '../../lib/use-async.ts';
import { ErrorNote } from '../ErrorNote.tsx';
import { EnergySankey } from './EnergySankey.tsx';

const DELTAS: { key: 'solarKwh' | 'loadKwh' | 'importKwh' | 'exportKwh'; label: string }[] = [
  { key: 'solarKwh', label: 'Produced' },
  { key: 'loadKwh', label: 'Used' },
  { key: 'importKwh', label: 'Imported' },
  { key: 'exportKwh', label: 'Exported' },
];

function delta(now: DatedPeriod, before: DatedPeriod, key: (typeof DELTAS)[number]['key']): string {
  if (before.daysWithData === 0) return 'no data before';
  const a = now[key] ?? 0;
  const b = before[key] ?? 0;
  const d = a - b;
  return `${d >= 0 ? '+' : '−'}${Math.abs(d).toFixed(1)} kWh`;
}

export function EnergyDistribution({ siteId, timeZone }: { siteId: string; timeZone: string }) {
  const today = localDate(Date.now(), timeZone);
  const [day, setDay] = useState(today);
  const data = useAsync((signal) => analyticsApi.comparison(siteId, day, day, signal), [siteId, day]);
  // Only the answer for the day on screen is drawn.
  const shown = data.data && data.data.current.from === day && !data.loading ? data.data : undefined;
  return (
    <section className="card" aria-labelledby="distribution-title" data-testid="energy-distribution">
      <h2 id="distribution-title">Energy distribution</h2>
      <div className="period-nav">
        <button type="button" onClick={() => setDay(addDays(day, -1))} aria-label="Previous day">
          ‹
        </button>
        <input
          type="date"
          aria-label="Day"
          value={day}
          max={today}
          onChange={(e) => e.target.value && setDay(e.target.value)}
        />
        <button
          type="button"
          onClick={() => setDay(addDays(day, 1))}
          disabled={day >= today}
          aria-label="Next day"
        >
          ›
        </button>
      </div>
      <ErrorNote error={data.error} />
      {!shown && !data.error && (
        <p className="muted" data-testid="distribution-loading">
          Loading…
        </p>
      )}
      {shown &&
        (shown.current.daysWithData === 0 ? (
          <p className="muted">no data</p>
        ) : (
          <>
            <EnergySankey flows={shown.current.flows} />
            <ul className="period-deltas" data-testid="period-deltas">
              {DELTAS.map((d) => (
                <li key={d.key}>
                  {d.label}: {(shown.current[d.key] ?? 0).toFixed(1)} kWh (
                  {delta(shown.current, shown.previous, d.key)} vs day before)
                </li>
              ))}
            </ul>
          </>
        ))}
    </section>
  );
}
