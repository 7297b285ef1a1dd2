// Energy per local day from the equipment's own counters, kept as readings are committed (inside
// the outbox's append transaction, like the local history). Each interval between two readings of
// a counter is shared between the local days it spans in proportion to time, and a counter that
// goes backwards restarted (what it shows is what it counted since): the same rules the hub
// applies to the same samples, so the device's daily report and the hub's figure can be compared.
import { localDate, nextLocalMidnight } from '@wattfleet/devices/zone';
import type Database from 'better-sqlite3';
import { prepared } from '../outbox/prepared.ts';
import type { Reading } from '../sources/types.ts';

/** Counter metric → the DailyValues field it reports as (kWh). */
export const COUNTER_REPORTS: Record<string, string> = {
  solar_wh: 'solar_kwh',
  load_wh: 'load_kwh',
  grid_import_wh: 'grid_import_kwh',
  grid_export_wh: 'grid_export_kwh',
  battery_charge_wh: 'battery_charge_kwh',
  battery_discharge_wh: 'battery_discharge_kwh',
};

export class DailyEnergy {
  constructor(
    private readonly db: Database.Database,
    private readonly timezone: string,
  ) {}

  /** Call inside the append transaction. */
  record(readings: readonly Reading[]): void {
    const last = prepared(this.db, 'SELECT ts, value FROM counter_last WHERE equipment = ? AND metric = ?');
    const setLast = prepared(
      this.db,
      `INSERT INTO counter_last(equipment, metric, ts, value) VALUES (?, ?, ?, ?)
       ON CONFLICT(equipment, metric) DO UPDATE SET ts = excluded.ts, value = excluded.value`,
    );
    const add = prepared(
      this.db,
      `INSERT INTO daily_energy(date, equipment, metric, wh) VALUES (?, ?, ?, ?)
       ON CONFLICT(date, equipment, metric) DO UPDATE SET wh = wh + excluded.wh`,
    );
    for (const r of readings) {
      if (!(r.metric in COUNTER_REPORTS)) continue;
      const equipment = r.equipment ?? '';
      const prev = last.get(equipment, r.metric) as { ts: number; value: number } | undefined;
      if (prev && r.ts <= prev.ts) continue; // out of order: already counted
      setLast.run(equipment, r.metric, r.ts, r.value);
      if (!prev) continue;
      const delta = r.value >= prev.value ? r.value - prev.value : Math.max(0, r.value);
      // Zero is shared out too: "0 kWh of solar that night" is a figure, not a missing one.
      const span = r.ts - prev.ts;
      let from = prev.ts;
      while (from < r.ts) {
        const to = Math.min(r.ts, nextLocalMidnight(this.timezone, from));
        add.run(localDate(this.timezone, from), equipment, r.metric, (delta * (to - from)) / span);
        from = to;
      }
    }
  }

  /** kWh per report field for one local date, summed over the equipment. */
  day(date: string): Record<string, number> {
    const rows = prepared(
      this.db,
      'SELECT metric, sum(wh) AS wh FROM daily_energy WHERE date = ? GROUP BY metric',
    ).all(date) as { metric: string; wh: number }[];
    return Object.fromEntries(rows.map((r) => [COUNTER_REPORTS[r.metric]!, r.wh / 1000]));
  }

  /** Dates with energy, oldest first. */
  dates(after: string, before: string): string[] {
    return (
      prepared(
        this.db,
        'SELECT DISTINCT date FROM daily_energy WHERE date > ? AND date < ? ORDER BY date',
      ).all(after, before) as { date: string }[]
    ).map((r) => r.date);
  }

  /** Whether every counter has a reading at or after `ts` (the day ending then can be closed). */
  allCountersPast(ts: number): boolean {
    const row = prepared(this.db, 'SELECT min(ts) AS t FROM counter_last').get() as { t: number | null };
    return row.t !== null && row.t >= ts;
  }

  prune(beforeDate: string): number {
    return prepared(this.db, 'DELETE FROM daily_energy WHERE date < ?').run(beforeDate).changes;
  }
}
