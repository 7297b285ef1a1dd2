// The durable outbox: every reading is committed here before anything is sent. Each step —
// append → batch formed → sent → acked → deleted — is one SQLite transaction, so a crash at any
// instant leaves either the state before or the state after, never something in between.
import { createHash, randomUUID } from 'node:crypto';
import Database from 'better-sqlite3';
import type { Reading } from '../sources/types.ts';
import { openStateDb } from './schema.ts';

export interface OutboxOptions {
  /** Bound on the estimated size of unsent samples; oldest are dropped (and counted) beyond it. */
  maxBytes: number;
  /** Called inside the append transaction, so the local history never disagrees with the outbox. */
  onAppend?: (readings: Reading[], now: number) => void;
}

export interface FormedBatch {
  id: string;
  count: number;
  /** The exact JSON sent (before gzip); rebuilt from stored rows, identical on every resend. */
  body: string;
  attempts: number;
  createdAt: number;
}

export interface OutboxStats {
  depth: number;
  batches: number;
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

/** Rough on-disk cost of one sample row plus its index entry; good enough to bound the file. */
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
    if (by !== 0) this.db.prepare('UPDATE counters SET value = value + ? WHERE name = ?').run(by, name);
  }

  counter(name: string): number {
    const row = this.db.prepare('SELECT value FROM counters WHERE name = ?').get(name) as
      | { value: number }
      | undefined;
    return row?.value ?? 0;
  }

  /** Appends readings in one transaction; returns how many old samples had to be dropped. */
  append(readings: Reading[], now = Date.now()): { dropped: number } {
    if (readings.length === 0) return { dropped: 0 };
    const insert = this.db.prepare(
      'INSERT INTO samples(metric, equipment, ts, value, bytes, appended_at) VALUES (?, ?, ?, ?, ?, ?)',
    );
    return this.db.transaction(() => {
      let bytes = 0;
      for (const r of readings) {
        const b = sampleBytes(r);
        insert.run(r.metric, r.equipment ?? null, r.ts, r.value, b, now);
        bytes += b;
      }
      this.bump('appended', readings.length);
      this.bump('bytes', bytes);
      this.opts.onAppend?.(readings, now);
      return { dropped: this.enforceBound() };
    })();
  }

  /**
   * Drops the oldest samples until the outbox fits. A formed batch is dropped whole: changing its
   * content would break the promise that a resend is identical to the first send.
   */
  private enforceBound(): number {
    let excess = this.counter('bytes') - this.opts.maxBytes;
    let dropped = 0;
    const oldest = this.db.prepare('SELECT seq, bytes, batch_id FROM samples ORDER BY seq LIMIT 1000');
    while (excess > 0) {
      const rows = oldest.all() as Pick<SampleRow, 'seq' | 'bytes' | 'batch_id'>[];
      if (rows.length === 0) break;
      const first = rows[0]!;
      if (first.batch_id) {
        const freed = this.deleteBatch(first.batch_id);
        dropped += freed.count;
        excess -= freed.bytes;
        continue;
      }
      let lastSeq = first.seq;
      let freedBytes = 0;
      let n = 0;
      for (const r of rows) {
        if (r.batch_id || excess - freedBytes <= 0) break;
        lastSeq = r.seq;
        freedBytes += r.bytes;
        n++;
      }
      this.db.prepare('DELETE FROM samples WHERE seq <= ? AND batch_id IS NULL').run(lastSeq);
      this.bump('bytes', -freedBytes);
      dropped += n;
      excess -= freedBytes;
    }
    this.bump('dropped', dropped);
    return dropped;
  }

  private deleteBatch(id: string): { count: number; bytes: number } {
    const agg = this.db
      .prepare('SELECT count(*) AS count, coalesce(sum(bytes), 0) AS bytes FROM samples WHERE batch_id = ?')
      .get(id) as { count: number; bytes: number };
    this.db.prepare('DELETE FROM samples WHERE batch_id = ?').run(id);
    this.db.prepare('DELETE FROM batches WHERE id = ?').run(id);
    this.bump('bytes', -agg.bytes);
    return agg;
  }

  /**
   * Forms the next batch from the oldest unbatched samples when there are `maxSamples` of them or
   * the oldest has waited `maxAgeMs`. Membership and id are stored, so after a crash the same batch
   * is resent with the same id and the same bytes.
   */
  formBatch(opts: { maxSamples: number; maxAgeMs: number; now?: number }): FormedBatch | undefined {
    const now = opts.now ?? Date.now();
    return this.db.transaction(() => {
      const oldest = this.db
        .prepare('SELECT seq, appended_at FROM samples WHERE batch_id IS NULL ORDER BY seq LIMIT 1')
        .get() as { seq: number; appended_at: number } | undefined;
      if (!oldest) return undefined;
      const full = this.db
        .prepare('SELECT seq FROM samples WHERE batch_id IS NULL ORDER BY seq LIMIT 1 OFFSET ?')
        .get(opts.maxSamples - 1) as { seq: number } | undefined;
      if (!full && now - oldest.appended_at < opts.maxAgeMs) return undefined;
      const id = randomUUID();
      const lastSeq = full?.seq ?? Number.MAX_SAFE_INTEGER;
      this.db
        .prepare('INSERT INTO batches(id, first_seq, count, digest, created_at) VALUES (?, ?, 0, ?, ?)')
        .run(id, oldest.seq, '', now);
      const { changes } = this.db
        .prepare('UPDATE samples SET batch_id = ? WHERE batch_id IS NULL AND seq BETWEEN ? AND ?')
        .run(id, oldest.seq, lastSeq);
      const body = this.buildBody(id);
      this.db.prepare('UPDATE batches SET count = ?, digest = ? WHERE id = ?').run(changes, digest(body), id);
      return { id, count: changes, body, attempts: 0, createdAt: now };
    })();
  }

  private buildBody(id: string): string {
    const rows = this.db
      .prepare('SELECT metric, equipment, ts, value FROM samples WHERE batch_id = ? ORDER BY seq')
      .all(id) as SampleRow[];
    const samples = rows.map((r) =>
      r.equipment === null
        ? { metric: r.metric, ts: r.ts, value: r.value }
        : { metric: r.metric, ts: r.ts, value: r.value, equipment: r.equipment },
    );
    return JSON.stringify({ batchId: id, samples });
  }

  /** Formed batches, oldest first: the uplink drains a backlog in the order it was recorded. */
  batches(limit = 10): FormedBatch[] {
    const rows = this.db
      .prepare('SELECT id, count, digest, attempts, created_at FROM batches ORDER BY first_seq LIMIT ?')
      .all(limit) as { id: string; count: number; digest: string; attempts: number; created_at: number }[];
    return rows.map((r) => {
      const body = this.buildBody(r.id);
      if (digest(body) !== r.digest) throw new Error(`outbox batch ${r.id} no longer matches its digest`);
      return { id: r.id, count: r.count, body, attempts: r.attempts, createdAt: r.created_at };
    });
  }

  batchCount(): number {
    return (this.db.prepare('SELECT count(*) AS n FROM batches').get() as { n: number }).n;
  }

  recordAttempt(id: string, error?: string): void {
    this.db
      .prepare('UPDATE batches SET attempts = attempts + 1, last_error = ? WHERE id = ?')
      .run(error ?? null, id);
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
      this.db
        .prepare('INSERT OR REPLACE INTO poison(id, moved_at, reason, body) VALUES (?, ?, ?, ?)')
        .run(id, now, reason.slice(0, 4000), body);
      const { count } = this.deleteBatch(id);
      this.bump('poisoned', count);
    })();
  }

  /** Refused batches are kept a while for a human to look at, not forever. */
  prunePoison(olderThan: number): number {
    return this.db.prepare('DELETE FROM poison WHERE moved_at < ?').run(olderThan).changes;
  }

  poisoned(): { id: string; movedAt: number; reason: string }[] {
    return this.db.prepare('SELECT id, moved_at AS movedAt, reason FROM poison ORDER BY moved_at').all() as {
      id: string;
      movedAt: number;
      reason: string;
    }[];
  }

  stats(): OutboxStats {
    const counters = Object.fromEntries(
      (this.db.prepare('SELECT name, value FROM counters').all() as { name: string; value: number }[]).map(
        (r) => [r.name, r.value],
      ),
    );
    // Depth from the counters, not count(*): a full outbox holds millions of rows and this runs on
    // every dashboard refresh. The crash test checks that the two always agree.
    const oldest = this.db.prepare('SELECT ts FROM samples ORDER BY seq LIMIT 1').get() as
      | { ts: number }
      | undefined;
    const c = (name: string) => counters[name] ?? 0;
    return {
      depth: c('appended') - c('acked') - c('dropped') - c('poisoned'),
      batches: this.batchCount(),
      bytes: c('bytes'),
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
