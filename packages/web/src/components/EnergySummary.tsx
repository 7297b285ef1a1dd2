// Owner energy figures from the hub's analytics: the last 7 days and the last 12 months
// (production, consumption, self-consumption, self-sufficiency, savings), in the site's time zone.
import { analyticsApi, type EnergySummary as Summary } from '../api/analytics.ts';
import { useAsync } from '../lib/use-async.ts';
import { ErrorNote } from './ErrorNote.tsx';

function dayIn(timeZone: string, d: Date): string {
  return new Intl.DateTimeFormat('en-CA', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  }).format(d);
}

const num = (v: number | null | undefined, digits = 1) =>
  v === null || v === undefined || !Number.isFinite(v) ? '–' : v.toFixed(digits);
const money = (s: Summary) =>
  s.savings === null ? '–' : `${s.savings.toFixed(2)} ${s.currency ?? ''}`.trim();

type Row = Summary & { key: string; coverage?: number; daysWithData?: number };

function Rows({ rows, label }: { rows: Row[]; label: string }) {
  return (
    <div className="table-wrap">
      <table data-testid={`energy-${label}`}>
        <thead>
          <tr>
            <th>{label === 'daily' ? 'Day' : 'Month'}</th>
            <th>Solar kWh</th>
            <th>Home kWh</th>
            <th>Import kWh</th>
            <th>Export kWh</th>
            <th>Self-consumption</th>
            <th>Self-sufficiency</th>
            <th>Savings</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) =>
            // A day or month without any measurement (before the install) reads "no data", not 0.0.
            ('coverage' in r && r.coverage === 0) || ('daysWithData' in r && r.daysWithData === 0) ? (
              <tr key={r.key} data-empty="true">
                <td>{r.key}</td>
                <td colSpan={7} className="muted">
                  no data
                </td>
              </tr>
            ) : (
              <tr key={r.key}>
                <td>{r.key}</td>
                <td>{num(r.solarKwh)}</td>
                <td>{num(r.loadKwh)}</td>
                <td>{num(r.importKwh)}</td>
                <td>{num(r.exportKwh)}</td>
                <td>{r.selfConsumptionPct === null ? '–' : `${num(r.selfConsumptionPct, 0)} %`}</td>
                <td>{r.selfSufficiencyPct === null ? '–' : `${num(r.selfSufficiencyPct, 0)} %`}</td>
                <td>{money(r)}</td>
              </tr>
            ),
          )}
        </tbody>
      </table>
    </div>
  );
}

export function EnergySummary({ siteId, timeZone }: { siteId: string; timeZone: string }) {
  const data = useAsync(async () => {
    const now = new Date();
    const today = dayIn(timeZone, now);
    const weekAgo = dayIn(timeZone, new Date(now.getTime() - 6 * 86_400_000));
    const month = today.slice(0, 7);
    const [y, m] = month.split('-').map(Number) as [number, number];
    const first = `${m === 12 ? y : y - 1}-${String((m % 12) + 1).padStart(2, '0')}`;
    const [daily, monthly] = await Promise.all([
      analyticsApi.daily(siteId, weekAgo, today),
      analyticsApi.monthly(siteId, first, month),
    ]);
    return {
      daily: daily.map((d) => ({ ...d, key: d.day })).reverse(),
      monthly: monthly.map((d) => ({ ...d, key: d.month })).reverse(),
    };
  }, [siteId, timeZone]);
  return (
    <section className="card" aria-labelledby="energy-title">
      <h2 id="energy-title">Energy summary</h2>
      <ErrorNote error={data.error} />
      {data.data && (
        <>
          <h3>Last 7 days</h3>
          <Rows rows={data.data.daily} label="daily" />
          <h3>Last 12 months</h3>
          <Rows rows={data.data.monthly} label="monthly" />
        </>
      )}
    </section>
  );
}
