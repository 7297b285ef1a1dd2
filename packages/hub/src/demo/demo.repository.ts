// SQL of the demo runner: its simulated nodes' status, set as heartbeats and silence would.
import type { Kysely } from 'kysely';
import type { DB } from '../storage/schema.ts';

/** Online now, as a heartbeat would set it; true when the node was not online before. */
export async function markDemoNodeOnline(db: Kysely<DB>, nodeId: string, now: Date): Promise<boolean> {
  const updated = await db
    .updateTable('nodes')
    .set({ status: 'online', status_reason: 'demo', status_changed_at: now, last_seen_at: now })
    .where('id', '=', nodeId)
    .where('status', '!=', 'online')
    .executeTakeFirst();
  return Number(updated.numUpdatedRows) > 0;
}

/** The demo's silent site: offline for silence since `since`. */
export async function markDemoNodeSilent(db: Kysely<DB>, nodeId: string, since: Date): Promise<void> {
  await db
    .updateTable('nodes')
    .set({ status: 'offline', status_reason: 'silence', status_changed_at: since })
    .where('id', '=', nodeId)
    .execute();
}
