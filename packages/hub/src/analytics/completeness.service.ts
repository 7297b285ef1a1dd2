// Data completeness per node and local day: samples expected at the node's interval vs received,
// and the gaps. A "received" slot is an interval in which the node sent at least one sample of
// any metric, so a node with ten metrics is not counted ten times.
//
// The interval is the one the node reports (enrollment, heartbeat). The hub also learns it from
// the day's data, per series (the median spacing of its samples: gaps and jitter do not move a
// median), as a cross-check: it is used when the node never said, and a disagreement is shown.
import { WattfleetError } from '@wattfleet/protocol';
import { type Kysely, sql } from 'kysely';
import type { DB } from '../storage/schema.ts';
import { localDayBounds } from '../time/zoned.ts';

export interface Gap {
  from: string;
  to: string;
  seconds: number;
}

/** Used when the node never reported an interval and sent nothing to learn one from. */
export const DEFAULT_INTERVAL_S = 10;
/** Reported and learned intervals further apart than this (ratio) are flagged. */
const MISMATCH_RATIO = 1.5;

export interface NodeDayCompleteness {
  nodeId: string;
  day: string;
  /** The interval the day was measured against, and where it came from. */
  intervalS: number;
  intervalSource: 'reported' | 'learned' | 'default';
  reportedIntervalS: number | null;
  /** The shortest per-series median spacing seen that day (null without two samples). */
  learnedIntervalS: number | null;
  /** Reported and learned disagree by more than 1.5×: the node's setting or its data is off. */
  intervalMismatch: boolean;
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
  const [start, end] = localDayBounds(day, node.timezone);
  const learnedS = await learnedIntervalS(db, nodeId, start, end);
  const reportedS = node.sample_interval_s;
  const intervalS = reportedS ?? learnedS ?? DEFAULT_INTERVAL_S;
  const intervalMs = intervalS * 1000;
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
    intervalS,
    intervalSource: reportedS !== null ? 'reported' : learnedS !== null ? 'learned' : 'default',
    reportedIntervalS: reportedS,
    learnedIntervalS: learnedS,
    intervalMismatch:
      reportedS !== null &&
      learnedS !== null &&
      Math.max(reportedS, learnedS) / Math.min(reportedS, learnedS) > MISMATCH_RATIO,
    expected,
    received: slots.length,
    pct: expected > 0 ? (slots.length / expected) * 100 : 0,
    gaps,
  };
}

/**
 * The node's interval as its data shows it: per series the median spacing of consecutive samples
 * within the day, then the shortest of those (a series read less often, e.g. a slow template
 * register, does not make the node look slower). Timestamps jitter by a few hundred ms (a read
 * takes time), so it is rounded to whole seconds, or to 0.1 s for sub-5 s intervals.
 */
async function learnedIntervalS(
  db: Kysely<DB>,
  nodeId: string,
  start: number,
  end: number,
): Promise<number | null> {
  const { rows } = await sql<{ s: number | null }>`
    SELECT min(median_s) AS s FROM (
      SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY d) AS median_s
      FROM (
        SELECT s.series_id,
          extract(epoch FROM s.ts - lag(s.ts) OVER (PARTITION BY s.series_id ORDER BY s.ts)) AS d
        FROM samples s JOIN series r ON r.id = s.series_id
        WHERE r.node_id = ${nodeId} AND s.ts >= ${new Date(start)} AND s.ts < ${new Date(end)}
      ) deltas
      WHERE d > 0
      GROUP BY series_id
    ) per_series`.execute(db);
  const s = rows[0]?.s;
  if (s === null || s === undefined) return null;
  const v = Number(s);
  return v >= 5 ? Math.round(v) : Math.max(0.1, Math.round(v * 10) / 10);
}
