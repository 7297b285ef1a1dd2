// CSV export of telemetry, built in the browser: one row per timestamp, one column per series.
import type { Series } from '../api/telemetry.ts';

function cell(value: string): string {
  return /[",\n\r]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

export function seriesToCsv(series: Series[]): string {
  const columns = series.map((s) => (s.equipment ? `${s.metric}:${s.equipment}` : s.metric));
  const rows = new Map<number, (number | undefined)[]>();
  series.forEach((s, i) => {
    for (const [ts, value] of s.points) {
      let row = rows.get(ts);
      if (!row) {
        row = new Array(series.length).fill(undefined);
        rows.set(ts, row);
      }
      row[i] = value;
    }
  });
  const lines = [['timestamp', ...columns].map(cell).join(',')];
  for (const ts of [...rows.keys()].sort((a, b) => a - b)) {
    const values = rows.get(ts)!.map((v) => (v === undefined ? '' : String(v)));
    lines.push([new Date(ts).toISOString(), ...values].join(','));
  }
  return `${lines.join('\n')}\n`;
}

export function downloadText(filename: string, text: string, type = 'text/csv'): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
