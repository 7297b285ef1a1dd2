// Stores validated telemetry batches with group commit: batches that arrive while a transaction is
// running are written together by the next one (claim every batch id, one COPY of all their
// samples, mark their rollup buckets, commit). Each batch is still stored completely or not at
// all and exactly once — its claim and its samples share one transaction — but a busy hub pays
// four round trips per group instead of per batch.

import type { ContractViolation } from '@wattfleet/devices';
import type pg from 'pg';
import { Coalescer } from '../storage/coalesce.ts';
import type { Database } from '../storage/database.ts';
import { trackBatchSeq } from './batch-seq.ts';
import { writeFindings } from './data-quality.ts';
import { copySamples, insertSamplesOnConflict, type SampleRows } from './sample-writer.ts';

export interface PreparedBatch {
  nodeId: string;
  batchId: string;
  rows: SampleRows;
  /** Rollup buckets touched, as `seriesId:bucketMs`. */
  hourly: Set<string>;
  daily: Set<string>;
  siteId: string;
  /** Local dates (YYYY-MM-DD) of the site whose daily analytics these samples change. */
  siteDays: Set<string>;
  /** The agent's batch sequence number, when it sent one (batch-seq.ts). */
  seq?: number;
  /** Earliest sample time (epoch ms). */
  minTs: number;
  /** Data-contract violations of the batch (data-quality.ts); its samples are stored regardless. */
  findings?: ContractViolation[];
}

export type WriteResult = number | 'duplicate';

export interface TelemetryWriterOptions {
  /** Transactions in flight at once (INGEST_WRITERS). */
  writers: number;
  /** Samples per transaction at most (INGEST_GROUP_SAMPLES). */
  maxGroupSamples: number;
  /** Told the size of every group written (metrics). */
  onGroup?: (batches: number, samples: number) => void;
}

export class TelemetryWriter {
  private readonly group: Coalescer<PreparedBatch, WriteResult>;

  constructor(
    private readonly database: Database,
    private readonly opts: TelemetryWriterOptions,
  ) {
    this.group = new Coalescer((batches) => this.flush(batches), {
      // PGlite is a single connection: more than one writer would only queue on the pool.
      concurrency: database.engine === 'pglite' ? 1 : opts.writers,
      maxWeight: opts.maxGroupSamples,
      weight: (b) => b.rows.seriesIds.length,
      // The same batch sent twice at once: the second waits and then finds the first's claim.
      key: (b) => `${b.nodeId}\u0000${b.batchId}`,
    });
  }

  write(batch: PreparedBatch): Promise<WriteResult> {
    return this.group.submit(batch);
  }

  private async flush(batches: PreparedBatch[]): Promise<(WriteResult | Error)[]> {
    // Fast path: COPY straight into samples. A sample already stored by another batch aborts the
    // transaction (unique violation); then the group is redone with ON CONFLICT. Cheaper than a
    // savepoint round trip on every group, and the slow path is rare.
    const fast = this.database.engine === 'postgres';
    let failure: unknown;
    try {
      return await this.transaction(batches, fast);
    } catch (err) {
      failure = err;
    }
    if (fast && (failure as { code?: string }).code === '23505') {
      try {
        return await this.transaction(batches, false);
      } catch (err) {
        failure = err;
      }
    }
    if (batches.length === 1) throw failure;
    // Whatever failed must fail only its own batch: write each alone.
    const results: (WriteResult | Error)[] = [];
    for (const b of batches) {
      try {
        results.push(...(await this.transaction([b], false)));
      } catch (err) {
        results.push(err instanceof Error ? err : new Error(String(err)));
      }
    }
    return results;
  }

  private async transaction(batches: PreparedBatch[], fast: boolean): Promise<WriteResult[]> {
    const client = await this.database.pool.connect();
    // A client whose ROLLBACK fails is broken (its connection died): the pool must not reuse it.
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      const claimed = await claim(client, batches);
      const mine = batches.filter((b) => claimed.has(`${b.nodeId}\u0000${b.batchId}`));
      const stored = new Map<PreparedBatch, number>();
      if (fast) {
        await copySamples(client, concatRows(mine));
        for (const b of mine) stored.set(b, b.rows.seriesIds.length);
      } else {
        for (const b of mine) stored.set(b, await insertSamplesOnConflict(client, b.rows));
      }
      if (mine.length > 0) {
        await markDirty(client, mine);
        // Only batches this transaction claimed: a duplicate neither moves the sequence watermark
        // nor counts its findings again.
        await trackBatchSeq(client, mine);
        await writeFindings(client, mine);
      }
      await client.query('COMMIT');
      this.opts.onGroup?.(
        batches.length,
        mine.reduce((n, b) => n + b.rows.seriesIds.length, 0),
      );
      return batches.map((b) => stored.get(b) ?? 'duplicate');
    } catch (err) {
      await client.query('ROLLBACK').catch((e: Error) => {
        broken = e;
      });
      throw err;
    } finally {
      client.release(broken);
    }
  }
}

/** Claims the batch ids; returns the keys this transaction won (the others were stored before). */
async function claim(client: pg.PoolClient, batches: PreparedBatch[]): Promise<Set<string>> {
  const r = await client.query<{ node_id: string; batch_id: string }>(
    `INSERT INTO ingest_batches (node_id, batch_id, kind, item_count)
     SELECT n, b, 'telemetry', c FROM unnest($1::uuid[], $2::text[], $3::int4[]) AS u(n, b, c)
     ON CONFLICT DO NOTHING
     RETURNING node_id, batch_id`,
    [
      batches.map((b) => b.nodeId),
      batches.map((b) => b.batchId),
      batches.map((b) => b.rows.seriesIds.length),
    ],
  );
  return new Set(r.rows.map((row) => `${row.node_id}\u0000${row.batch_id}`));
}

function concatRows(batches: PreparedBatch[]): SampleRows {
  if (batches.length === 1) return batches[0]!.rows;
  const out: SampleRows = { seriesIds: [], ts: [], values: [] };
  for (const b of batches) {
    for (let i = 0; i < b.rows.seriesIds.length; i++) {
      out.seriesIds.push(b.rows.seriesIds[i]!);
      out.ts.push(b.rows.ts[i]!);
      out.values.push(b.rows.values[i]!);
    }
  }
  return out;
}

/**
 * Marks, in the batch's own transaction, the rollup buckets and the site days to recompute: a hub
 * dying right after the commit must not leave stored samples that no rollup will ever include.
 */
async function markDirty(client: pg.PoolClient, batches: PreparedBatch[]) {
  const keys = new Set<string>();
  const days = new Set<string>();
  for (const b of batches) {
    for (const k of b.hourly) keys.add(`hour:${k}`);
    for (const k of b.daily) keys.add(`day:${k}`);
    for (const d of b.siteDays) days.add(`${b.siteId}|${d}`);
  }
  const daySites: string[] = [];
  const dayDates: string[] = [];
  for (const k of [...days].sort()) {
    const [site, day] = k.split('|');
    daySites.push(site!);
    dayDates.push(day!);
  }
  const ids: number[] = [];
  const res: string[] = [];
  const buckets: number[] = [];
  // Sorted so concurrent transactions lock dirty rows in the same order (no deadlocks).
  for (const k of [...keys].sort()) {
    const [r, id, b] = k.split(':');
    res.push(r!);
    ids.push(Number(id));
    buckets.push(Number(b));
  }
  // DO UPDATE (not NOTHING): a rollup job that read this row before us must see it changed and
  // keep it, or our samples would never be rolled up.
  // One statement for both (fewer round trips); sorted keys keep lock order the same everywhere.
  await client.query(
    `WITH rollups AS (
       INSERT INTO rollup_dirty (series_id, resolution, bucket, marked_at)
       SELECT s, r, to_timestamp(b / 1000.0), clock_timestamp()
       FROM unnest($1::int4[], $2::text[], $3::float8[]) AS u(s, r, b)
       ON CONFLICT (series_id, resolution, bucket)
       DO UPDATE SET generation = rollup_dirty.generation + 1, marked_at = EXCLUDED.marked_at
     ), site_days AS (
       INSERT INTO site_daily_dirty (site_id, day, marked_at)
       -- Milliseconds: the recompute job compares marked_at through a JS Date.
       SELECT s, d, date_trunc('milliseconds', clock_timestamp()) FROM unnest($4::uuid[], $5::date[]) AS u(s, d)
       ON CONFLICT (site_id, day) DO UPDATE SET marked_at = EXCLUDED.marked_at
     )
     SELECT 1`,
    [ids, res, buckets, daySites, dayDates],
  );
}
