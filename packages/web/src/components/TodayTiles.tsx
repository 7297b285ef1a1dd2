// Today at a glance, in the site's day: the hub's own figures for it (GET /sites/:id/daily),
// never a share the browser works out by itself.
import { analyticsApi, type DayRow } from '../api/analytics.ts';
import { localDate } from '../lib/site-time.ts';
import { useAsync } from '../lib/use-async.ts';
import { ErrorNote } from './ErrorNote.tsx';

const kwhText = (v: number | null) => (v === null ? '–' : `${v.toFixed(1)} kWh`);
const pctText = (v: number | null) => (v === null ? '–' : `${Math.round(v)} %`);

function tiles(d: DayRow): { key: string; label: string; value: string }[] {
  const battery = d.batteryChargeKwh || d.batteryDischargeKwh;
  return [
    { key: 'produced', label: 'Produced', value: kwhText(d.solarKwh) },
    { key: 'used', label: 'Used', value: kwhText(d.loadKwh) },
    { key: 'self-consumption', label: 'Self-consumed', value: pctText(d.selfConsumptionPct) },
    { key: 'self-sufficiency', label: 'Self-sufficiency', value: pctText(d.selfSufficiencyPct) },
    { key: 'imported', label: 'Imported', value: kwhText(d.importKwh) },
    { key: 'exported', label: 'Exported', value: kwhText(d.exportKwh) },
    ...(battery
      ? [
          { key: 'battery-in', label: 'Battery in', value: kwhText(d.batteryChargeKwh) },
          { key: 'battery-out', label: 'Battery out', value: kwhText(d.batteryDischargeKwh) },
        ]
      : []),
    {
      key: 'peak-demand',
      label: 'Peak demand',
      value: d.peakDemandKw === null ? '–' : `${d.peakDemandKw.toFixed(2)} kW`,
    },
    {
      key: 'savings',
      label: 'Savings',
      value: d.savings === null ? 'set a tariff' : `${d.savings.toFixed(2)} ${d.currency ?? ''}`.trim(),
    },
  ];
}

export function TodayTiles({
  siteId,
  timeZone,
  refreshKey = 0,
}: {
  siteId: string;
  timeZone: string;
  refreshKey?: number;
}) {
  const today = localDate(Date.now(), timeZone);
  const day = useAsync(
    async () => (await analyticsApi.daily(siteId, today, today))[0],
    [siteId, today, refreshKey],
  );
  return (
    <section className="card" aria-labelledby="today-title">
      <h2 id="today-title">Today</h2>
      <ErrorNote error={day.error} />
      {!day.data ? (
        <p className="muted">{day.loading ? 'Loading today…' : 'No data for today yet.'}</p>
      ) : day.data.coverage === 0 ? (
        <p className="muted" data-testid="today-empty">
          No data for today yet.
        </p>
      ) : (
        <dl className="tiles" data-testid="today-tiles">
          {tiles(day.data).map((t) => (
            <div key={t.key} className="tile" data-tile={t.key}>
              <dt>{t.label}</dt>
              <dd>{t.value}</dd>
            </div>
          ))}
        </dl>
      )}
    </section>
  );
}
