// Today at a glance, in the site's day: the hub's own figures for it (GET /sites/:id/daily),
// never a share the browser works out by itself. Cost and savings say how far they are from
// yesterday's (the site's yesterday, a whole day, against today so far); CO₂ avoided needs the
// site's grid intensity and says so instead of showing 0 when it is not set.
import { analyticsApi, type DayRow } from '../api/analytics.ts';
import { addDays, localDate } from '../lib/site-time.ts';
import { useAsync } from '../lib/use-async.ts';
import { ErrorNote } from './ErrorNote.tsx';

const kwhText = (v: number | null) => (v === null ? '–' : `${v.toFixed(1)} kWh`);
const pctText = (v: number | null) => (v === null ? '–' : `${Math.round(v)} %`);

const money = (v: number, currency: string | null) => `${v.toFixed(2)} ${currency ?? ''}`.trim();

/** "+0.42 EUR vs yesterday", or nothing when either day has no figure. */
function vsYesterday(d: DayRow, y: DayRow | undefined, key: 'cost' | 'savings'): string | undefined {
  const now = d[key];
  const before = y && y.coverage > 0 ? y[key] : null;
  if (now === null || before === null) return undefined;
  const diff = now - before;
  return `${diff >= 0 ? '+' : '−'}${money(Math.abs(diff), d.currency)} vs yesterday`;
}

interface Tile {
  key: string;
  label: string;
  value: string;
  note?: string | undefined;
  hint?: boolean;
}

function tiles(d: DayRow, y: DayRow | undefined): Tile[] {
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
    ...(d.cost === null
      ? []
      : [{ key: 'cost', label: 'Cost', value: money(d.cost, d.currency), note: vsYesterday(d, y, 'cost') }]),
    {
      key: 'savings',
      label: 'Savings',
      value: d.savings === null ? 'set a tariff' : money(d.savings, d.currency),
      note: vsYesterday(d, y, 'savings'),
      hint: d.savings === null,
    },
    d.co2AvoidedKg === null
      ? { key: 'co2', label: 'CO₂ avoided', value: 'set your grid’s CO₂ intensity', hint: true }
      : { key: 'co2', label: 'CO₂ avoided', value: `${d.co2AvoidedKg.toFixed(1)} kg` },
  ];
}

export function TodayTiles({
  siteId,
  timeZone,
  refreshKey = 0,
}: {
  siteId: string;
  timeZone: string;
  /** Changes when the figures should be read again (time passing, a setting saved). */
  refreshKey?: number | string;
}) {
  const today = localDate(Date.now(), timeZone);
  const yesterday = addDays(today, -1);
  const days = useAsync(async () => {
    const rows = await analyticsApi.daily(siteId, yesterday, today);
    return { today: rows.find((r) => r.day === today), yesterday: rows.find((r) => r.day === yesterday) };
  }, [siteId, today, refreshKey]);
  const day = { ...days, data: days.data?.today };
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
          {tiles(day.data, days.data?.yesterday).map((t) => (
            <div key={t.key} className={t.hint ? 'tile tile-hint' : 'tile'} data-tile={t.key}>
              <dt>{t.label}</dt>
              <dd>
                {t.hint && t.key === 'co2' ? <a href="#site-settings">{t.value}</a> : t.value}
                {t.note && <span className="tile-note">{t.note}</span>}
              </dd>
            </div>
          ))}
        </dl>
      )}
    </section>
  );
}
