// Data completeness per node and local day: samples expected at the node's interval vs received,
// and the gaps. A "received" slot is an interval in which the node sent at least one sample of
// any metric, so a node with ten metrics is not counted ten times.
import { WattfleetError } from '@wattfleet/protocol';
import { type Kysely, sql } from 'kysely';
import type { DB } from '../storage/schema.ts';
import { localDayBounds } from '../time/zoned.ts';

export interface Gap {
  from: string;
  to: string;
  seconds: number;
}

export interface NodeDayCompleteness {
  nodeId: string;
  day: string;
  intervalS: number;
  expected: number;
  received: number;
  pct: number;
  gaps: Gap[];
}

/** db is the tenant's transaction in routes: a node hidden by row-level security is not found. */
export async function nodeCompleteness(
  db: Kysely<DB>,
  nodeId: string,
  day: string,
): Promise<NodeDayCompleteness> {
  const node = await db
    .selectFrom('nodes')
    .innerJoin('sites', 'sites.id', 'nodes.site_id')
    .select(['nodes.sample_interval_s', 'sites.timezone'])
    .where('nodes.id', '=', nodeId)
    .executeTakeFirst();
  if (!node) throw new WattfleetError('WF_NOT_FOUND', 'Node not found');
  const intervalMs = node.sample_interval_s * 1000;
  const [start, end] = localDayBounds(day, node.timezone);
  const { rows } = await sql<{ slot: number }>`
    SELECT DISTINCT floor((extract(epoch FROM s.ts) * 1000 - ${start}) / ${intervalMs})::int AS slot
    FROM samples s JOIN series r ON r.id = s.series_id
    WHERE r.node_id = ${nodeId} AND s.ts >= ${new Date(start)} AND s.ts < ${new Date(end)}
    ORDER BY 1`.execute(db);
  const expected = Math.ceil((end - start) / intervalMs);
  const slots = rows.map((r) => Number(r.slot));
  const gaps: Gap[] = [];
  // A gap is a run of empty intervals; a single missed interval is jitter, not a gap.
  let prev = -1;
  for (const s of [...slots, expected]) {
    if (s - prev - 1 >= 2) {
      const from = start + (prev + 1) * intervalMs;
      const to = Math.min(end, start + s * intervalMs);
      gaps.push({
        from: new Date(from).toISOString(),
        to: new Date(to).toISOString(),
        seconds: (to - from) / 1000,
      });
    }
    prev = s;
  }
  return {
    nodeId,
    day,
    intervalS: node.sample_interval_s,
    expected,
    received: slots.length,
    pct: expected > 0 ? (slots.length / expected) * 100 : 0,
    gaps,
  };
}
