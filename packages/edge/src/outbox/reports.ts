// The queue of events and daily reports for the hub, in the same state file as the telemetry
// outbox and with the same promise: an item is committed before anything is sent, a formed batch
// keeps its id and its exact bytes until the hub has acknowledged it (the hub claims batch ids,
// so a resend after a crash or an outage changes nothing there), and nothing is kept in memory.
// Volumes are small (a few events a day, one report a day), so a batch stores its body outright.
import { randomUUID } from 'node:crypto';
import type Database from 'better-sqlite3';
import type { FormedBatch } from './outbox.ts';
import { prepared } from './prepared.ts';

export type ReportChannel = 'events' | 'daily';

/** The array each channel's batch carries its items in (EventBatch.events, DailyBatch.days). */
const ITEMS_KEY: Record<ReportChannel, string> = { events: 'events', daily: 'days' };
/** Items per batch, within the protocol's LIMITS for both channels. */
const MAX_PER_BATCH = 200;
/**
 * Unsent items kept per channel. Beyond it the oldest unbatched go (counted): a node that has been
 * cut off for a year keeps its recent history of events, not an unbounded file.
 */
const MAX_PENDING = 20_000;

export class ReportQueue {
  constructor(
    private readonly db: Database.Database,
    readonly channel: ReportChannel,
  ) {}

  private bump(name: string, by: number): void {
    if (by !== 0) prepared(this.db, 'UPDATE counters SET value = value + ? WHERE name = ?').run(by, name);
  }

  /** Commits items (already valid wire objects: NodeEvent or DailySummary). */
  append(items: readonly unknown[], now = Date.now()): void {
    if (items.length === 0) return;
    const insert = prepared(this.db, 'INSERT INTO reports(channel, item, created_at) VALUES (?, ?, ?)');
    this.db.transaction(() => {
      for (const item of items) insert.run(this.channel, JSON.stringify(item), now);
      this.bump('reports_appended', items.length);
      const pending = this.pending();
      if (pending > MAX_PENDING) {
        const dropped = prepared(
          this.db,
          `DELETE FROM reports WHERE seq IN (SELECT seq FROM reports
             WHERE channel = ? AND batch_id IS NULL ORDER BY seq LIMIT ?)`,
        ).run(this.channel, pending - MAX_PENDING).changes;
        this.bump('reports_dropped', dropped);
      }
    })();
  }

  /** Unsent items of this channel, batched or not. */
  pending(): number {
    return (
      prepared(this.db, 'SELECT count(*) AS n FROM reports WHERE channel = ?').get(this.channel) as {
        n: number;
      }
    ).n;
  }

  /** Same contract as Outbox.formBatch: membership, id and bytes are stored before it is sent. */
  formBatch(opts: { maxSamples: number; maxAgeMs: number; now?: number }): FormedBatch | undefined {
    const now = opts.now ?? Date.now();
    const max = Math.min(opts.maxSamples, MAX_PER_BATCH);
    return this.db.transaction(() => {
      const rows = prepared(
        this.db,
        'SELECT seq, item, created_at FROM reports WHERE channel = ? AND batch_id IS NULL ORDER BY seq LIMIT ?',
      ).all(this.channel, max) as { seq: number; item: string; created_at: number }[];
      const first = rows[0];
      if (!first) return undefined;
      if (rows.length < max && now - first.created_at < opts.maxAgeMs) return undefined;
      const id = randomUUID();
      const body = `{"batchId":${JSON.stringify(id)},"${ITEMS_KEY[this.channel]}":[${rows.map((r) => r.item).join(',')}]}`;
      prepared(
        this.db,
        'INSERT INTO report_batches(id, channel, first_seq, count, body, created_at) VALUES (?, ?, ?, ?, ?, ?)',
      ).run(id, this.channel, first.seq, rows.length, body, now);
      prepared(
        this.db,
        'UPDATE reports SET batch_id = ? WHERE channel = ? AND batch_id IS NULL AND seq BETWEEN ? AND ?',
      ).run(id, this.channel, first.seq, rows.at(-1)!.seq);
      return { id, count: rows.length, body, attempts: 0, createdAt: now };
    })();
  }

  batches(limit = 10): FormedBatch[] {
    const rows = prepared(
      this.db,
      'SELECT id, count, body, attempts, created_at FROM report_batches WHERE channel = ? ORDER BY first_seq LIMIT ?',
    ).all(this.channel, limit) as {
      id: string;
      count: number;
      body: string;
      attempts: number;
      created_at: number;
    }[];
    return rows.map((r) => ({
      id: r.id,
      count: r.count,
      body: r.body,
      attempts: r.attempts,
      createdAt: r.created_at,
    }));
  }

  batchCount(): number {
    return (
      prepared(this.db, 'SELECT count(*) AS n FROM report_batches WHERE channel = ?').get(this.channel) as {
        n: number;
      }
    ).n;
  }

  recordAttempt(id: string, error?: string): void {
    prepared(this.db, 'UPDATE report_batches SET attempts = attempts + 1, last_error = ? WHERE id = ?').run(
      error ?? null,
      id,
    );
  }

  private deleteBatch(id: string): number {
    const n = prepared(this.db, 'DELETE FROM reports WHERE batch_id = ?').run(id).changes;
    prepared(this.db, 'DELETE FROM report_batches WHERE id = ?').run(id);
    return n;
  }

  ack(id: string): number {
    return this.db.transaction(() => {
      const n = this.deleteBatch(id);
      this.bump('reports_acked', n);
      return n;
    })();
  }

  /** Refused as invalid by the hub: kept aside with the telemetry's poison for a human. */
  poison(id: string, reason: string, now = Date.now()): void {
    this.db.transaction(() => {
      const row = prepared(this.db, 'SELECT body FROM report_batches WHERE id = ?').get(id) as
        | { body: string }
        | undefined;
      if (!row) return;
      prepared(this.db, 'INSERT OR REPLACE INTO poison(id, moved_at, reason, body) VALUES (?, ?, ?, ?)').run(
        id,
        now,
        `${this.channel}: ${reason}`.slice(0, 4000),
        row.body,
      );
      this.bump('reports_poisoned', this.deleteBatch(id));
    })();
  }
}
