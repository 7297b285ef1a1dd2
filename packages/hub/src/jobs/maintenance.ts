// Housekeeping that keeps storage bounded: partitions ahead, retention by dropping partitions,
// and pruning of bookkeeping tables whose rows only matter within a window.
import { sql } from 'kysely';
import type { HubContext } from '../context.ts';
import { dropExpiredPartitions, ensurePartitions } from '../storage/partitions.ts';

export async function createPartitionsAhead(hub: HubContext, now = new Date()): Promise<void> {
  await ensurePartitions(hub.db, now, hub.config.partitionsAheadDays);
}

export interface RetentionResult {
  droppedPartitions: string[];
  hourlyDeleted: number;
}

export async function applyRetention(hub: HubContext, now = new Date()): Promise<RetentionResult> {
  const { retention } = hub.config;
  const droppedPartitions = await dropExpiredPartitions(hub.db, now, retention.rawDays);
  // Hourly rollups are small (one row per series and hour); a bounded delete is fine here.
  const hourly = await hub.db
    .deleteFrom('rollup_hourly')
    .where('bucket', '<', new Date(now.getTime() - retention.hourlyDays * 86_400_000))
    .executeTakeFirst();
  // A batch id only has to be remembered as long as an agent could still resend it: agents keep
  // raw data 7 days, and the hub refuses samples older than raw retention anyway.
  await hub.db
    .deleteFrom('ingest_batches')
    .where('received_at', '<', new Date(now.getTime() - (retention.rawDays + 2) * 86_400_000))
    .execute();
  await sql`DELETE FROM request_nonces WHERE expires_at < now()`.execute(hub.db);
  return { droppedPartitions, hourlyDeleted: Number(hourly.numDeletedRows) };
}
