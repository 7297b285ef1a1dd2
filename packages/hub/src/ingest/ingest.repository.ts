// SQL of the small ingest paths (daily reports, node events) and of the telemetry service's
// bookkeeping. The telemetry samples themselves are written by telemetry-writer.ts and
// sample-writer.ts, and series ids resolved by series-cache.ts (their own batched SQL).
import { type Insertable, type Kysely, sql } from 'kysely';
import type { DB } from '../storage/schema.ts';

/** Claims a batch id for this node inside the storing transaction; false when it was claimed before. */
export async function claimBatch(
  trx: Kysely<DB>,
  nodeId: string,
  batchId: string,
  kind: 'daily' | 'events',
  count: number,
): Promise<boolean> {
  const r = await sql`INSERT INTO ingest_batches (node_id, batch_id, kind, item_count)
    VALUES (${nodeId}, ${batchId}, ${kind}, ${count}) ON CONFLICT DO NOTHING`.execute(trx);
  return Number(r.numAffectedRows ?? 0) > 0;
}

/**
 * A later report for the same day replaces the earlier one: the device's own view of a day can
 * still grow until the day ends.
 */
export async function upsertDailyReport(
  trx: Kysely<DB>,
  r: { nodeId: string; siteId: string; equipment: string; day: string; values: unknown; batchId: string },
): Promise<void> {
  await trx
    .insertInto('daily_reports')
    .values({
      node_id: r.nodeId,
      site_id: r.siteId,
      equipment: r.equipment,
      day: r.day,
      values: JSON.stringify(r.values),
      batch_id: r.batchId,
    })
    .onConflict((oc) =>
      oc.columns(['node_id', 'equipment', 'day']).doUpdateSet((eb) => ({
        values: eb.ref('excluded.values'),
        batch_id: eb.ref('excluded.batch_id'),
        received_at: sql`now()`,
      })),
    )
    .execute();
}

export type NodeEventRow = Insertable<DB['node_events']>;

export async function insertNodeEvents(trx: Kysely<DB>, rows: NodeEventRow[]): Promise<void> {
  await trx.insertInto('node_events').values(rows).execute();
}

/** Data arriving is a sign of life: moves last_seen_at forward (never back). */
export async function touchLastSeen(db: Kysely<DB>, nodeId: string, at: Date): Promise<void> {
  await db
    .updateTable('nodes')
    .set({ last_seen_at: at })
    .where('id', '=', nodeId)
    .where((eb) => eb.or([eb('last_seen_at', 'is', null), eb('last_seen_at', '<', at)]))
    .execute();
}

export async function siteTimezone(db: Kysely<DB>, siteId: string): Promise<string | undefined> {
  const row = await db.selectFrom('sites').select('timezone').where('id', '=', siteId).executeTakeFirst();
  return row?.timezone;
}
