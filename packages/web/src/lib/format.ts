// Display helpers: one place for units and relative times so every page reads the same.

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

/** Unit of a metric from its name suffix (the catalogue's convention). */
export function metricUnit(metric: string): string {
  if (metric.endsWith('_wh')) return 'Wh';
  if (metric.endsWith('_w')) return 'W';
  if (metric.endsWith('_soc')) return '%';
  if (metric.startsWith('voltage') || metric.endsWith('_v')) return 'V';
  if (metric.startsWith('current') || metric.endsWith('_a')) return 'A';
  if (metric.endsWith('_hz')) return 'Hz';
  if (metric.endsWith('_c')) return '°C';
  return '';
}
