// The durable outbox: every reading is committed here before anything is sent. Each step —
// append → batch formed → sent → acked → deleted — is one SQLite transaction, so a crash at any
// instant leaves either the state before or the state after, never something in between.
import { createHash, randomUUID } from 'node:crypto';
import Database from 'better-sqlite3';
import type { Reading } from '../sources/types.ts';
import { prepared } from './prepared.ts';
import { openStateDb } from './schema.ts';

export interface OutboxOptions {
  /**
   * Bound on the bytes the state file really holds: pages in use × page size, as SQLite counts
   * them (freed pages are reused before the file grows, so this is also the file's size on disk,
   * give or take one append). When an append takes it over, the oldest unsent samples are dropped
   * (and counted) until it is back under the bound.
   */
  maxBytes: number;
  /** Called inside the append transaction, so the local history never disagrees with the outbox. */
  onAppend?: (readings: Reading[], now: number) => void;
  /**
   * Asked first when the file is over its bound, to free space that matters less than unsent
   * readings (the local history beyond what the dashboard shows). Returns whether it deleted
   * anything; called again while the file is still over.
   */
  reclaim?: (excessBytes: number) => boolean;
}

/** After a drop the file is brought this far below the bound, so a full outbox does not drop on every append. */
const LOW_WATER = 0.98;

export interface FormedBatch {
  id: string;
  count: number;
  /** The exact JSON sent (before gzip); rebuilt from stored rows, identical on every resend. */
  body: string;
  attempts: number;
  createdAt: number;
  /**
   * Per-node telemetry batch sequence number (null for a batch formed before the outbox had them;
   * absent for event and daily report batches, which have none).
   */
  seq?: number | null;
}

export interface OutboxStats {
  depth: number;
  batches: number;
  /** Bytes in use in the state file (what maxBytes bounds). */
  bytes: number;
  appended: number;
  acked: number;
  dropped: number;
  poisoned: number;
  oldestTs: number | null;
}

interface SampleRow {
  seq: number;
  metric: string;
  equipment: string | null;
  ts: number;
  value: number;
  bytes: number;
  batch_id: string | null;
}

/**
 * Rough on-disk cost of one sample row plus its index entry. Only sizes each chunk of a drop; whether
 * the file is over its bound is decided by the pages SQLite really uses (Outbox.usedBytes).
 */
export function sampleBytes(r: Pick<Reading, 'metric' | 'equipment'>): number {
  return 48 + r.metric.length + (r.equipment?.length ?? 0);
}

export class Outbox {
  readonly db: Database.Database;
  private readonly opts: OutboxOptions;

  private constructor(db: Database.Database, opts: OutboxOptions) {
    this.db = db;
    this.opts = opts;
  }

  static open(path: string, opts: OutboxOptions): Outbox {
    return new Outbox(openStateDb(path, Database), opts);
  }

  private bump(name: string, by: number): void {
    if (by !== 0) prepared(this.db, 'UPDATE counters SET value = value + ? WHERE name = ?').run(by, name);
  }

  counter(name: string): number {
    const row = prepared(this.db, 'SELECT value FROM counters WHERE name = ?').get(name) as
      | { value: number }
      | undefined;
    return row?.value ?? 0;
  }

  /** Appends readings in one transaction; returns how many old samples had to be dropped. */
  append(readings: Reading[], now = Date.now()): { dropped: number } {
    if (readings.length === 0) return { dropped: 0 };
    const insert = prepared(
      this.db,
      'INSERT INTO samples(metric, equipment, ts, value, bytes, appended_at) VALUES (?, ?, ?, ?, ?, ?)',
    );
    return this.db.transaction(() => {
      for (const r of readings) insert.run(r.metric, r.equipment ?? null, r.ts, r.value, sampleBytes(r), now);
      this.bump('appended', readings.length);
      this.opts.onAppend?.(readings, now);
      return { dropped: this.enforceBound() };
    })();
  }

  /**
   * Bytes the state file holds: pages in use (all pages less the free list) × page size. Read from
   * the database header, so it is cheap, and inside a transaction it includes that transaction.
   */
  usedBytes(): number {
    const pages = this.db.pragma('page_count', { simple: true }) as number;
    const free = this.db.pragma('freelist_count', { simple: true }) as number;
    const size = this.db.pragma('page_size', { simple: true }) as number;
    return (pages - free) * size;
  }

  /**
   * Brings the file under its bound: first whatever `reclaim` can spare, then the oldest samples.
   * Each round deletes a chunk sized from the per-row estimate and measures the pages again, until
   * the file is below the low-water mark or no unsent sample is left (what remains is not ours).
   */
  private enforceBound(keepBatch?: string): number {
    if (this.usedBytes() <= this.opts.maxBytes) return 0;
    const target = Math.floor(this.opts.maxBytes * LOW_WATER);
    let dropped = 0;
    for (;;) {
      const excess = this.usedBytes() - target;
      if (excess <= 0) break;
      if (this.opts.reclaim?.(excess)) continue;
      const n = this.dropOldest(excess, keepBatch);
      if (n === 0) break;
      dropped += n;
    }
    this.bump('dropped', dropped);
    return dropped;
  }

  /**
   * Deletes about `bytes` worth of the oldest samples; returns how many went. A formed batch is
   * dropped whole: changing its content would break the promise that a resend is identical.
   */
  private dropOldest(bytes: number, keepBatch?: string): number {
    const rows = prepared(this.db, 'SELECT seq, bytes, batch_id FROM samples ORDER BY seq LIMIT ?').all(
      Math.max(64, Math.ceil(bytes / 40)),
    ) as Pick<SampleRow, 'seq' | 'bytes' | 'batch_id'>[];
    const first = rows[0];
    if (!first) return 0;
    if (first.batch_id) return first.batch_id === keepBatch ? 0 : this.deleteBatch(first.batch_id).count;
    let lastSeq = first.seq;
    let freed = 0;
    for (const r of rows) {
      if (r.batch_id || freed >= bytes) break;
      lastSeq = r.seq;
      freed += r.bytes;
    }
    return prepared(this.db, 'DELETE FROM samples WHERE seq <= ? AND batch_id IS NULL').run(lastSeq).changes;
  }

  private deleteBatch(id: string): { count: number } {
    const count = prepared(this.db, 'DELETE FROM samples WHERE batch_id = ?').run(id).changes;
    prepared(this.db, 'DELETE FROM batches WHERE id = ?').run(id);
    return { count };
  }

  /**
   * Forms the next batch from the oldest unbatched samples when there are `maxSamples` of them or
   * the oldest has waited `maxAgeMs`. Membership and id are stored, so after a crash the same batch
   * is resent with the same id and the same bytes.
   */
  formBatch(opts: { maxSamples: number; maxAgeMs: number; now?: number }): FormedBatch | undefined {
    const now = opts.now ?? Date.now();
    return this.db.transaction(() => {
      const oldest = prepared(
        this.db,
        'SELECT seq, appended_at FROM samples WHERE batch_id IS NULL ORDER BY seq LIMIT 1',
      ).get() as { seq: number; appended_at: number } | undefined;
      if (!oldest) return undefined;
      const full = prepared(
        this.db,
        'SELECT seq FROM samples WHERE batch_id IS NULL ORDER BY seq LIMIT 1 OFFSET ?',
      ).get(opts.maxSamples - 1) as { seq: number } | undefined;
      if (!full && now - oldest.appended_at < opts.maxAgeMs) return undefined;
      const id = randomUUID();
      const lastSeq = full?.seq ?? Number.MAX_SAFE_INTEGER;
      // The batch sequence number: the counter moves in the same transaction as the batch, so a
      // number is never given twice, and one given is never taken back (a batch dropped later for
      // space is a hole the hub reports as lost, which is what it is).
      this.bump('batch_seq', 1);
      const seq = this.counter('batch_seq');
      prepared(
        this.db,
        'INSERT INTO batches(id, first_seq, count, digest, created_at, seq) VALUES (?, ?, 0, ?, ?, ?)',
      ).run(id, oldest.seq, '', now, seq);
      const { changes } = prepared(
        this.db,
        'UPDATE samples SET batch_id = ? WHERE batch_id IS NULL AND seq BETWEEN ? AND ?',
      ).run(id, oldest.seq, lastSeq);
      const body = this.buildBody(id);
      prepared(this.db, 'UPDATE batches SET count = ?, digest = ? WHERE id = ?').run(
        changes,
        digest(body),
        id,
      );
      // Batch ids in the index take room too: the bound holds after forming, not only after appends.
      this.enforceBound(id);
      return { id, count: changes, body, attempts: 0, createdAt: now, seq };
    })();
  }

  private buildBody(id: string): string {
    const batch = prepared(this.db, 'SELECT seq FROM batches WHERE id = ?').get(id) as
      | { seq: number | null }
      | undefined;
    const rows = prepared(
      this.db,
      'SELECT metric, equipment, ts, value FROM samples WHERE batch_id = ? ORDER BY seq',
    ).all(id) as SampleRow[];
    const samples = rows.map((r) =>
      r.equipment === null
        ? { metric: r.metric, ts: r.ts, value: r.value }
        : { metric: r.metric, ts: r.ts, value: r.value, equipment: r.equipment },
    );
    // A batch formed before sequence numbers existed keeps its exact old bytes (and digest).
    const seq = batch?.seq ?? null;
    return JSON.stringify(seq === null ? { batchId: id, samples } : { batchId: id, seq, samples });
  }

  /** Formed batches, oldest first: the uplink drains a backlog in the order it was recorded. */
  batches(limit = 10): FormedBatch[] {
    const rows = prepared(
      this.db,
      'SELECT id, count, digest, attempts, created_at, seq FROM batches ORDER BY first_seq LIMIT ?',
    ).all(limit) as {
      id: string;
      count: number;
      digest: string;
      attempts: number;
      created_at: number;
      seq: number | null;
    }[];
    return rows.map((r) => {
      const body = this.buildBody(r.id);
      if (digest(body) !== r.digest) throw new Error(`outbox batch ${r.id} no longer matches its digest`);
      return { id: r.id, count: r.count, body, attempts: r.attempts, createdAt: r.created_at, seq: r.seq };
    });
  }

  batchCount(): number {
    return (prepared(this.db, 'SELECT count(*) AS n FROM batches').get() as { n: number }).n;
  }

  recordAttempt(id: string, error?: string): void {
    prepared(this.db, 'UPDATE batches SET attempts = attempts + 1, last_error = ? WHERE id = ?').run(
      error ?? null,
      id,
    );
  }

  /** The hub has the batch (stored or duplicate): delete it. Unknown ids (already dropped) are fine. */
  ack(id: string): number {
    return this.db.transaction(() => {
      const { count } = this.deleteBatch(id);
      this.bump('acked', count);
      return count;
    })();
  }

  /** The hub refused the batch as invalid: keep its body aside for a human, stop retrying it. */
  poison(id: string, reason: string, now = Date.now()): void {
    this.db.transaction(() => {
      const body = this.buildBody(id);
      prepared(this.db, 'INSERT OR REPLACE INTO poison(id, moved_at, reason, body) VALUES (?, ?, ?, ?)').run(
        id,
        now,
        reason.slice(0, 4000),
        body,
      );
      const { count } = this.deleteBatch(id);
      this.bump('poisoned', count);
      this.enforceBound(); // the kept body takes room
    })();
  }

  /** Refused batches are kept a while for a human to look at, not forever. */
  prunePoison(olderThan: number): number {
    return prepared(this.db, 'DELETE FROM poison WHERE moved_at < ?').run(olderThan).changes;
  }

  poisoned(): { id: string; movedAt: number; reason: string }[] {
    return prepared(
      this.db,
      'SELECT id, moved_at AS movedAt, reason FROM poison ORDER BY moved_at',
    ).all() as {
      id: string;
      movedAt: number;
      reason: string;
    }[];
  }

  stats(): OutboxStats {
    const counters = Object.fromEntries(
      (prepared(this.db, 'SELECT name, value FROM counters').all() as { name: string; value: number }[]).map(
        (r) => [r.name, r.value],
      ),
    );
    // Depth from the counters, not count(*): a full outbox holds millions of rows and this runs on
    // every dashboard refresh. The crash test checks that the two always agree.
    const oldest = prepared(this.db, 'SELECT ts FROM samples ORDER BY seq LIMIT 1').get() as
      | { ts: number }
      | undefined;
    const c = (name: string) => counters[name] ?? 0;
    return {
      depth: c('appended') - c('acked') - c('dropped') - c('poisoned'),
      batches: this.batchCount(),
      bytes: this.usedBytes(),
      appended: c('appended'),
      acked: c('acked'),
      dropped: c('dropped'),
      poisoned: c('poisoned'),
      oldestTs: oldest?.ts ?? null,
    };
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

function digest(body: string): string {
  return createHash('sha256').update(body).digest('hex');
}
