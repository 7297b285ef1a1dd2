// SQL of heartbeats: one statement applies a whole flushed batch (status, clock offset, versions,
// outbox drops as events), plus the offline transitions (clean disconnect or last will, silence)
// and clock events. The batching and what each change means are in heartbeat.service.ts.
import { type Kysely, sql } from 'kysely';
import type { DB } from '../storage/schema.ts';

/**
 * Applies `doc` (a JSON array of {id, seen, offset, status}) and returns only the rows whose state
 * changed: a node coming (back) online, its clock crossing `boundMs` either way, or new outbox drops.
 */
export async function applyHeartbeatBatch(db: Kysely<DB>, doc: string, boundMs: number) {
  const bound = boundMs;
  const { rows } = await sql<{
    id: string;
    site_id: string;
    was: string;
    old_offset: number | null;
    offset: number;
    dropped: string;
  }>`
    WITH u AS (
      SELECT id, to_timestamp(seen / 1000.0) AS seen, "offset" AS offset_ms, status,
             status->>'agentVersion' AS agent_version, status->>'gitCommit' AS git_commit,
             status->>'osVersion' AS os_version,
             (status->>'pollIntervalS')::float8 AS poll_interval_s
      FROM json_to_recordset(${doc}::json) AS u(id uuid, seen float8, "offset" int, status jsonb)
    ), old AS (
      SELECT n.id, n.site_id, n.status, n.clock_offset_ms,
             (n.last_status->>'outboxDropped')::int8 AS old_dropped FROM nodes n
      WHERE n.id IN (SELECT id FROM u) AND n.active ORDER BY n.id FOR UPDATE
    ), drops AS (
      -- outboxDropped only ever grows on a node, so a smaller number is a reset (agent
      -- reinstalled, state file replaced): all of it is new. Kept as events so a rule can ask
      -- "how many in the last window", which the cumulative count alone cannot answer.
      SELECT old.id, old.site_id, u.seen, (u.status->>'outboxDropped')::int8 AS total,
             CASE WHEN old.old_dropped IS NULL OR (u.status->>'outboxDropped')::int8 < old.old_dropped
                  THEN (u.status->>'outboxDropped')::int8
                  ELSE (u.status->>'outboxDropped')::int8 - old.old_dropped END AS delta
      FROM u JOIN old ON old.id = u.id
      WHERE u.status->>'outboxDropped' IS NOT NULL
    ), drop_events AS (
      INSERT INTO node_events (node_id, site_id, ts, kind, severity, message, data, batch_id)
      SELECT id, site_id, seen, 'node.outbox_dropped', 'warning',
             'Outbox full: ' || delta || ' buffered samples dropped (' || total || ' in all)',
             jsonb_build_object('dropped', delta, 'total', total),
             'hub:outbox:' || (extract(epoch FROM seen) * 1000)::int8
      FROM drops WHERE delta > 0
    ), updated AS (
      UPDATE nodes n SET
        last_seen_at = GREATEST(u.seen, n.last_seen_at),
        mqtt_seen_at = GREATEST(u.seen, n.mqtt_seen_at),
        status = 'online',
        status_reason = CASE WHEN old.status = 'online' THEN n.status_reason ELSE 'heartbeat' END,
        status_changed_at = CASE WHEN old.status = 'online' THEN n.status_changed_at ELSE u.seen END,
        clock_offset_ms = u.offset_ms,
        agent_version = COALESCE(u.agent_version, n.agent_version),
        git_commit = COALESCE(u.git_commit, n.git_commit),
        os_version = COALESCE(u.os_version, n.os_version),
        sample_interval_s = COALESCE(u.poll_interval_s, n.sample_interval_s),
        last_status = u.status
      FROM u JOIN old ON old.id = u.id
      WHERE n.id = u.id
      RETURNING n.id, n.site_id, old.status AS was, old.clock_offset_ms AS old_offset, n.clock_offset_ms AS "offset"
    )
    SELECT updated.*, coalesce(drops.delta, 0)::int8 AS dropped
    FROM updated LEFT JOIN drops ON drops.id = updated.id
    WHERE was IS DISTINCT FROM 'online'
       OR drops.delta > 0
       OR (abs("offset") > ${bound}) IS DISTINCT FROM (old_offset IS NOT NULL AND abs(old_offset) > ${bound})`.execute(
    db,
  );
  return rows;
}

export async function insertClockEvent(
  db: Kysely<DB>,
  e: { nodeId: string; siteId: string; now: Date; offsetMs: number; drifting: boolean },
): Promise<void> {
  const { nodeId, siteId, now, offsetMs, drifting } = e;
  await db
    .insertInto('node_events')
    .values({
      node_id: nodeId,
      site_id: siteId,
      ts: now,
      kind: drifting ? 'node.clock_drift' : 'node.clock_ok',
      severity: drifting ? 'warning' : 'info',
      equipment: null,
      message: drifting
        ? `Node clock is off by ${Math.round(offsetMs / 1000)} s`
        : 'Node clock is back within bounds',
      data: JSON.stringify({ offsetMs }),
      batch_id: `hub:clock:${now.getTime()}`,
    })
    .execute();
}

/** Offline now (unless already); returns the node's site when it changed. */
export function markNodeOffline(db: Kysely<DB>, nodeId: string, reason: string) {
  return db
    .updateTable('nodes')
    .set({ status: 'offline', status_reason: reason, status_changed_at: new Date(), mqtt_seen_at: null })
    .where('id', '=', nodeId)
    .where('status', '!=', 'offline')
    .returning(['id', 'site_id'])
    .executeTakeFirst();
}

/** Online nodes last seen before `cutoff` go offline for silence; returns them. */
export function markSilentOffline(db: Kysely<DB>, cutoff: Date, now: Date) {
  return db
    .updateTable('nodes')
    .set({ status: 'offline', status_reason: 'silence', status_changed_at: now })
    .where('status', '=', 'online')
    .where('last_seen_at', '<', cutoff)
    .returning(['id', 'site_id'])
    .execute();
}
