// Telemetry ingest, shared by HTTP and MQTT: validate → resolve series → one transaction that
// records the batch id, writes the samples and marks the rollup buckets they touch. A batch is
// thus stored completely or not at all, and exactly once however often it is resent.
import type { HubContext } from '../context.ts';
import { ensurePartitionsForRange, rawRetentionStart } from '../storage/partitions.ts';
import { localDate, localDayBounds, localDayStart } from '../time/zoned.ts';
import { validateTelemetry } from './batch-validation.ts';
import { copySamples, insertSamplesOnConflict, type SampleRows } from './sample-writer.ts';
import { SeriesCache } from './series-cache.ts';

export interface IngestResult {
  status: 'stored' | 'duplicate';
  batchId: string;
  stored: number;
}

export interface NodeRef {
  nodeId: string;
  siteId: string;
}

const HOUR_MS = 3_600_000;
const SLOT_MS = 15 * 60_000;

export class TelemetryIngest {
  readonly series: SeriesCache;
  private readonly timezones = new Map<string, { tz: string; at: number }>();

  constructor(private readonly hub: HubContext) {
    this.series = new SeriesCache(hub);
  }

  /** One transaction: claim the batch id, write the samples, mark the rollup buckets. */
  private async writeBatch(
    client: import('pg').PoolClient,
    nodeId: string,
    batchId: string,
    rows: SampleRows,
    hourly: Set<string>,
    daily: Set<string>,
    fast: boolean,
  ): Promise<number | 'duplicate'> {
    await client.query('BEGIN');
    const claimed = await client.query(
      `INSERT INTO ingest_batches (node_id, batch_id, kind, item_count) VALUES ($1, $2, 'telemetry', $3)
       ON CONFLICT DO NOTHING`,
      [nodeId, batchId, rows.seriesIds.length],
    );
    if (claimed.rowCount === 0) {
      await client.query('ROLLBACK');
      return 'duplicate';
    }
    const stored = fast ? await copySamples(client, rows) : await insertSamplesOnConflict(client, rows);
    await markDirty(client, hourly, daily);
    await client.query('COMMIT');
    return stored;
  }

  private readonly lastSeenWritten = new Map<string, number>();

  /** Data arriving is a sign of life too; written at most every 30 s per node to spare the row. */
  private async touchLastSeen(nodeId: string, now: number): Promise<void> {
    const last = this.lastSeenWritten.get(nodeId) ?? 0;
    if (now - last < 30_000) return;
    this.lastSeenWritten.set(nodeId, now);
    await this.hub.db
      .updateTable('nodes')
      .set({ last_seen_at: new Date(now) })
      .where('id', '=', nodeId)
      .where((eb) => eb.or([eb('last_seen_at', 'is', null), eb('last_seen_at', '<', new Date(now))]))
      .execute();
  }

  private async siteTimezone(siteId: string): Promise<string> {
    const hit = this.timezones.get(siteId);
    if (hit && Date.now() - hit.at < 60_000) return hit.tz;
    const row = await this.hub.db
      .selectFrom('sites')
      .select('timezone')
      .where('id', '=', siteId)
      .executeTakeFirst();
    const tz = row?.timezone ?? 'UTC';
    this.timezones.set(siteId, { tz, at: Date.now() });
    return tz;
  }

  /** `body` is untrusted: HTTP and MQTT hand it over as parsed, and it is validated here. */
  async ingest(node: NodeRef, body: unknown, now = Date.now()): Promise<IngestResult> {
    const { config } = this.hub;
    const samples = validateTelemetry(body, now, rawRetentionStart(now, config.retention.rawDays));
    const batch = body as { batchId: string };
    const pairs = samples.map((s) => [s.equipment, s.metric] as [string, string]);
    const seriesByKey = await this.series.resolve(node.nodeId, node.siteId, pairs);
    const tz = await this.siteTimezone(node.siteId);

    const n = samples.length;
    const rows = { seriesIds: new Array<number>(n), ts: new Array<number>(n), values: new Array<number>(n) };
    let minTs = Number.POSITIVE_INFINITY;
    let maxTs = Number.NEGATIVE_INFINITY;
    const hourly = new Set<string>();
    const daily = new Set<string>();
    // Every zone offset is a multiple of 15 min, so a 15-min slot never straddles local midnight.
    const daysBySlot = new Map<number, [number, number]>();
    const gapMs = config.maxIntegrationGapS * 1000;
    for (let i = 0; i < n; i++) {
      const s = samples[i]!;
      const id = seriesByKey.get(`${s.equipment}\u0000${s.metric}`)!;
      rows.seriesIds[i] = id;
      rows.ts[i] = s.ts;
      rows.values[i] = s.value;
      if (s.ts < minTs) minTs = s.ts;
      if (s.ts > maxTs) maxTs = s.ts;
      // A sample changes its own bucket and, through the interval that starts at it, maybe the next.
      const hour = Math.floor(s.ts / HOUR_MS) * HOUR_MS;
      hourly.add(`${id}:${hour}`);
      if (s.ts + gapMs > hour + HOUR_MS) hourly.add(`${id}:${hour + HOUR_MS}`);
      const slot = Math.floor(s.ts / SLOT_MS);
      let day = daysBySlot.get(slot);
      if (!day) {
        const start = localDayStart(s.ts, tz);
        day = [start, localDayBounds(localDate(s.ts, tz), tz)[1]];
        daysBySlot.set(slot, day);
      }
      daily.add(`${id}:${day[0]}`);
      if (s.ts + gapMs > day[1]) daily.add(`${id}:${day[1]}`);
    }
    await ensurePartitionsForRange(this.hub.db, minTs, maxTs);

    const client = await this.hub.database.pool.connect();
    let stored: number | 'duplicate';
    try {
      // Fast path: COPY straight into samples. A sample already stored by another batch aborts
      // the transaction (unique violation); then the whole batch is redone with ON CONFLICT.
      // Cheaper than a savepoint round trip on every batch, and the slow path is rare.
      const fast = this.hub.database.engine === 'postgres';
      try {
        stored = await this.writeBatch(client, node.nodeId, batch.batchId, rows, hourly, daily, fast);
      } catch (err) {
        await client.query('ROLLBACK').catch(() => {});
        if (!fast || (err as { code?: string }).code !== '23505') throw err;
        stored = await this.writeBatch(client, node.nodeId, batch.batchId, rows, hourly, daily, false);
      }
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      throw err;
    } finally {
      client.release();
    }
    if (stored === 'duplicate') return { status: 'duplicate', batchId: batch.batchId, stored: 0 };
    await this.touchLastSeen(node.nodeId, now);
    this.hub.bus.emitEvent('telemetry.ingested', { ...node, count: stored, fromMs: minTs, toMs: maxTs });
    return { status: 'stored', batchId: batch.batchId, stored };
  }
}

async function markDirty(client: import('pg').PoolClient, hourly: Set<string>, daily: Set<string>) {
  const ids: number[] = [];
  const res: string[] = [];
  const buckets: number[] = [];
  // Sorted so concurrent batches lock dirty rows in the same order (no deadlocks).
  const all = [...[...hourly].map((k) => `hour:${k}`), ...[...daily].map((k) => `day:${k}`)].sort();
  for (const k of all) {
    const [r, id, b] = k.split(':');
    res.push(r!);
    ids.push(Number(id));
    buckets.push(Number(b));
  }
  // DO UPDATE (not NOTHING): a rollup job that read this row before us must see it changed and
  // keep it, or our samples would never be rolled up.
  await client.query(
    `INSERT INTO rollup_dirty (series_id, resolution, bucket, marked_at)
     SELECT s, r, to_timestamp(b / 1000.0), clock_timestamp()
     FROM unnest($1::int4[], $2::text[], $3::float8[]) AS u(s, r, b)
     ON CONFLICT (series_id, resolution, bucket)
     DO UPDATE SET generation = rollup_dirty.generation + 1, marked_at = EXCLUDED.marked_at`,
    [ids, res, buckets],
  );
}
