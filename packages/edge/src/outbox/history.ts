// Local history for the dashboard, independent of the hub: raw readings for a few days and daily
// per-metric summaries for a year. Written in the outbox's append transaction (see Outbox.onAppend).

import { localDate } from '@wattfleet/devices/zone';
import type Database from 'better-sqlite3';
import type { Reading } from '../sources/types.ts';
import { prepared } from './prepared.ts';

export interface HistoryPoint {
  t: number;
  v: number;
}

export interface DaySummary {
  date: string;
  equipment: string;
  metric: string;
  min: number;
  max: number;
  avg: number;
  delta: number;
}

export class LocalHistory {
  private readonly db: Database.Database;
  private readonly dayOf: (ts: number) => string;

  constructor(db: Database.Database, timezone: string) {
    this.db = db;
    // Days are the site's calendar days, not UTC's: that is what a homeowner calls "today".
    this.dayOf = (ts) => localDate(timezone, ts);
  }

  record(readings: Reading[]): void {
    const raw = prepared(this.db, 'INSERT INTO history(ts, metric, equipment, value) VALUES (?, ?, ?, ?)');
    const daily = prepared(
      this.db,
      `
      INSERT INTO daily(date, equipment, metric, min, max, sum, count, first, last)
      VALUES (@date, @equipment, @metric, @value, @value, @value, 1, @value, @value)
      ON CONFLICT(date, equipment, metric) DO UPDATE SET
        min = min(min, excluded.min), max = max(max, excluded.max),
        sum = sum + excluded.sum, count = count + 1, last = excluded.last`,
    );
    for (const r of readings) {
      const equipment = r.equipment ?? '';
      raw.run(r.ts, r.metric, equipment, r.value);
      daily.run({ date: this.dayOf(r.ts), equipment, metric: r.metric, value: r.value });
    }
  }

  /** Averages per bucket so a day of 1 s readings becomes a few hundred chart points. */
  series(opts: {
    metric: string;
    equipment?: string;
    from: number;
    to: number;
    points?: number;
  }): HistoryPoint[] {
    const bucket = Math.max(1000, Math.floor((opts.to - opts.from) / (opts.points ?? 300)));
    return prepared(
      this.db,
      // CAST: better-sqlite3 binds JS numbers as REAL, which would make this a float division.
      `SELECT CAST(ts / @bucket AS INTEGER) * @bucket AS t, avg(value) AS v FROM history
         WHERE metric = @metric AND equipment = @equipment AND ts >= @from AND ts < @to
         GROUP BY CAST(ts / @bucket AS INTEGER) ORDER BY t`,
    ).all({
      bucket,
      metric: opts.metric,
      equipment: opts.equipment ?? '',
      from: opts.from,
      to: opts.to,
    }) as HistoryPoint[];
  }

  /** Metric/equipment pairs seen since `from`, for the chart's legend. */
  metrics(from: number): { metric: string; equipment: string }[] {
    return prepared(
      this.db,
      'SELECT DISTINCT metric, equipment FROM history WHERE ts >= ? ORDER BY equipment, metric',
    ).all(from) as { metric: string; equipment: string }[];
  }

  /** Per day and metric; `delta` (last − first) is the day's energy for counters (…_wh). */
  days(from: string): DaySummary[] {
    return prepared(
      this.db,
      `SELECT date, equipment, metric, min, max, sum / count AS avg, last - first AS delta
         FROM daily WHERE date >= ? ORDER BY date, metric`,
    ).all(from) as DaySummary[];
  }

  /**
   * The state file is full (Outbox `reclaim`): deletes about `bytes` worth of the oldest raw
   * readings recorded before `keepSince`, so the outbox's unsent readings go last. Daily summaries
   * are tiny and stay. Returns whether anything was deleted.
   */
  reclaim(bytes: number, keepSince: number): boolean {
    const rows = Math.max(64, Math.ceil(bytes / 32));
    const { changes } = prepared(
      this.db,
      'DELETE FROM history WHERE rowid IN (SELECT rowid FROM history WHERE ts < ? ORDER BY ts LIMIT ?)',
    ).run(keepSince, rows);
    return changes > 0;
  }

  /** Retention: raw for `rawDays`, daily summaries for `dailyDays`. */
  prune(now: number, rawDays: number, dailyDays: number): { raw: number; daily: number } {
    const raw = prepared(this.db, 'DELETE FROM history WHERE ts < ?').run(now - rawDays * 86_400_000).changes;
    const daily = prepared(this.db, 'DELETE FROM daily WHERE date < ?').run(
      this.dayOf(now - dailyDays * 86_400_000),
    ).changes;
    return { raw, daily };
  }
}
