// Display helpers: one place for units and relative times so every page reads the same.
import { metricDefinition } from '@wattfleet/protocol/metrics';

export function kw(watts: number | undefined): string {
  if (watts === undefined || !Number.isFinite(watts)) return '–';
  const k = watts / 1000;
  return `${Math.abs(k) >= 10 ? k.toFixed(1) : k.toFixed(2)} kW`;
}

export function kwh(wh: number | undefined | null): string {
  if (wh === undefined || wh === null || !Number.isFinite(wh)) return '–';
  return `${(wh / 1000).toFixed(1)} kWh`;
}

export function relativeTime(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return 'never';
  const t = Date.parse(iso);
  if (!Number.isFinite(t)) return 'never';
  const s = Math.round((now - t) / 1000);
  if (s < 0) return 'just now';
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86_400)} d ago`;
}

export function dateTime(iso: string | null | undefined, timeZone?: string): string {
  if (!iso) return '–';
  return new Date(iso).toLocaleString(undefined, timeZone ? { timeZone } : {});
}

/**
 * A metric as people read it, from the protocol's catalogue: its description as the name
 * ("Grid import counter", not grid_import_wh) and its value in the unit people use (kW, kWh,
 * %), so every page shows one metric the same way.
 */
export function metricName(metric: string): string {
  return metricDefinition(metric)?.description ?? metric;
}

export function metricValue(metric: string, value: number): string {
  const unit = metricDefinition(metric)?.unit ?? '';
  if (unit === 'W') return kw(value);
  if (unit === 'Wh') return kwh(value);
  const digits = Math.abs(value) >= 100 || Number.isInteger(value) ? 0 : Math.abs(value) >= 10 ? 1 : 2;
  const n = value.toFixed(digits);
  if (!unit) return n;
  return unit === '%' ? `${n} %` : `${n} ${unit}`;
}
