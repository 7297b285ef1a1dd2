// A site's month on its own calendar: which month "now" is in, where it starts and ends (local
// midnights, so a month with a DST change is an hour shorter or longer), and the month-end forecast.
import { addDays, localDate, localDayBounds } from '../time/zoned.ts';

export interface SiteMonth {
  /** "YYYY-MM" at the site. */
  month: string;
  firstDay: string;
  lastDay: string;
  startMs: number;
  endMs: number;
}

export function siteMonth(nowMs: number, timezone: string): SiteMonth {
  const today = localDate(nowMs, timezone);
  const month = today.slice(0, 7);
  const firstDay = `${month}-01`;
  const [y, m] = [Number(month.slice(0, 4)), Number(month.slice(5, 7))];
  const nextFirst = m === 12 ? `${y + 1}-01-01` : `${y}-${String(m + 1).padStart(2, '0')}-01`;
  return {
    month,
    firstDay,
    lastDay: addDays(nextFirst, -1),
    startMs: localDayBounds(firstDay, timezone)[0],
    endMs: localDayBounds(nextFirst, timezone)[0],
  };
}

/**
 * What the month will have cost at its end if spending goes on at its pace so far: spent scaled
 * by the month's length over the time elapsed. Before any time has elapsed it is what was spent.
 */
export function monthEndForecast(spent: number, m: SiteMonth, nowMs: number): number {
  const elapsed = Math.min(nowMs, m.endMs) - m.startMs;
  if (elapsed <= 0) return spent;
  return (spent * (m.endMs - m.startMs)) / elapsed;
}
