// Data completeness per node and local day: samples expected at the node's interval vs received,
// and the gaps. A "received" slot is an interval in which the node sent at least one sample of
// any metric, so a node with ten metrics is not counted ten times.
//
// The interval is the one the node reports (enrollment, heartbeat). The hub also learns it from
// the day's data, per series (the median spacing of its samples: gaps and jitter do not move a
// median), as a cross-check: it is used when the node never said, and a disagreement is shown.
//
// Lost batches: holes in the node's telemetry batch sequence (ingest/batch-seq.ts), shown on the
// day the batch after the hole began. A hole filled later (the outbox resent the batch) is gone.
import { WattfleetError } from '@wattfleet/protocol';
import type { Kysely } from 'kysely';
import type { DB } from '../storage/schema.ts';
import { localDayBounds } from '../time/zoned.ts';
import {
  lostBatchRanges,
  medianSpacingS,
  nodeIntervalAndZone,
  occupiedSlots,
} from './analytics.repository.ts';
import type { Gap, NodeDayCompleteness } from './analytics.schema.ts';

/** Used when the node never reported an interval and sent nothing to learn one from. */
export const DEFAULT_INTERVAL_S = 10;
/** Reported and learned intervals further apart than this (ratio) are flagged. */
const MISMATCH_RATIO = 1.5;

/** db is the tenant's transaction in routes: a node hidden by row-level security is not found. */
export async function nodeCompleteness(
  db: Kysely<DB>,
  nodeId: string,
  day: string,
): Promise<NodeDayCompleteness> {
  const node = await nodeIntervalAndZone(db, nodeId);
  if (!node) throw new WattfleetError('WF_NOT_FOUND', 'Node not found');
  const [start, end] = localDayBounds(day, node.timezone);
  const learnedS = roundLearnedIntervalS(await medianSpacingS(db, nodeId, start, end));
  const reportedS = node.sample_interval_s;
  const intervalS = reportedS ?? learnedS ?? DEFAULT_INTERVAL_S;
  const intervalMs = intervalS * 1000;
  const slots = await occupiedSlots(db, nodeId, start, end, intervalMs);
  const expected = Math.ceil((end - start) / intervalMs);
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
  const lost = (await lostBatchRanges(db, nodeId, start, end)).map((g) => ({
    fromSeq: Number(g.from_seq),
    toSeq: Number(g.to_seq),
    batches: Number(g.to_seq) - Number(g.from_seq) + 1,
    nextSampleAt: g.next_sample_at ? g.next_sample_at.toISOString() : null,
    detectedAt: g.detected_at.toISOString(),
  }));
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
    lostBatchCount: lost.reduce((n, g) => n + g.batches, 0),
    lostBatches: lost,
  };
}

/**
 * The node's interval as its data shows it (medianSpacingS: per series the median spacing of
 * consecutive samples, then the shortest of those; a series read less often, e.g. a slow
 * template register, does not make the node look slower). Timestamps jitter by a few hundred ms
 * (a read takes time), so it is rounded to whole seconds, or to 0.1 s for sub-5 s intervals.
 */
export function roundLearnedIntervalS(medianS: number | null): number | null {
  if (medianS === null || !Number.isFinite(medianS) || medianS <= 0) return null;
  return medianS >= 5 ? Math.round(medianS) : Math.max(0.1, Math.round(medianS * 10) / 10);
}
