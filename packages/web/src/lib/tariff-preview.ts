// A tariff's day as the editor previews it: the import rate in force through one local date, as
// contiguous segments, and what a flat example day costs. The same rules as the hub's pricing
// (first matching period wins, [from, to) with wrap past midnight, weekday 0 = Sunday), applied
// to wall-clock minutes of a chosen date, so no zone arithmetic is needed here.
import type { TariffDefinition } from '../api/tariffs.ts';

export interface RateSegment {
  from: string;
  to: string;
  rate: number;
  /** The period's name, or "standard" for the import rate outside every period. */
  label: string;
}

const minutes = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));
const hhmm = (m: number) =>
  `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;

function rateAt(t: TariffDefinition, weekday: number, month: number, m: number): [number, string] {
  for (const p of t.periods) {
    if (p.weekdays && !p.weekdays.includes(weekday)) continue;
    if (p.months && !p.months.includes(month)) continue;
    const from = minutes(p.from);
    const to = minutes(p.to);
    if (from <= to ? m >= from && m < to : m >= from || m < to)
      return [p.rate, p.name || `${p.from}–${p.to}`];
  }
  return [t.importRate, 'standard'];
}

/** Segments of equal rate through `date` (YYYY-MM-DD, the site's local calendar day). */
export function rateSegments(t: TariffDefinition, date: string): RateSegment[] {
  const [y, mo, d] = date.split('-').map(Number) as [number, number, number];
  const weekday = new Date(Date.UTC(y, mo - 1, d)).getUTCDay();
  const out: RateSegment[] = [];
  for (let m = 0; m < 1440; m++) {
    const [rate, label] = rateAt(t, weekday, mo, m);
    const last = out.at(-1);
    if (last && last.rate === rate && last.label === label) last.to = hhmm(m + 1);
    else out.push({ from: hhmm(m), to: hhmm(m + 1), rate, label });
  }
  return out;
}

/** A day importing `importKwhPerHour` every hour and exporting `exportKwh` in all: its cost. */
export function exampleDayCost(
  t: TariffDefinition,
  date: string,
  importKwhPerHour: number,
  exportKwh: number,
): number {
  const energy = rateSegments(t, date).reduce(
    (sum, s) => sum + ((minutes(s.to) - minutes(s.from)) / 60) * importKwhPerHour * s.rate,
    0,
  );
  return energy - exportKwh * t.exportRate + t.dailyCharge;
}
