// Bucket statistics from raw points. Pure, so the hand-computed reference cases test it directly.
//
// Energy per bucket:
// - power (W): the integral of the linearly interpolated signal over the part of each interval
//   that lies in the bucket, in Wh. Intervals longer than maxGapMs are not integrated: a node that
//   was silent produced no evidence of energy.
// - energy counter (Wh): the counter's increase, split across buckets in proportion to time. A
//   counter going backwards is a reset (meter replaced, firmware restart): the energy of that
//   interval is the new reading (counted up from zero), never a negative delta.

export type SeriesKind = 'power' | 'energy' | 'gauge' | 'state';

export interface Point {
  ts: number;
  value: number;
}

export interface BucketStats {
  count: number;
  sum: number;
  min: number;
  max: number;
  first: number;
  last: number;
  firstTs: number;
  lastTs: number;
  energyWh: number | null;
  resets: number;
}

const MS_PER_HOUR = 3_600_000;

/**
 * `points` sorted by ts; may extend beyond [start, end) so intervals crossing the bounds count.
 * Returns undefined when no point lies inside the bucket.
 */
export function computeBucket(
  points: readonly Point[],
  start: number,
  end: number,
  kind: SeriesKind,
  maxGapMs: number,
): BucketStats | undefined {
  let count = 0;
  let sum = 0;
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  let first: Point | undefined;
  let last: Point | undefined;
  let energy = 0;
  let resets = 0;
  for (let i = 0; i < points.length; i++) {
    const p = points[i]!;
    if (p.ts >= start && p.ts < end) {
      count++;
      sum += p.value;
      if (p.value < min) min = p.value;
      if (p.value > max) max = p.value;
      first ??= p;
      last = p;
    }
    if (i === 0 || (kind !== 'power' && kind !== 'energy')) continue;
    const a = points[i - 1]!;
    const dt = p.ts - a.ts;
    if (dt <= 0) continue;
    const lo = Math.max(a.ts, start);
    const hi = Math.min(p.ts, end);
    if (kind === 'energy' && p.ts >= start && p.ts < end && p.value < a.value) resets++;
    if (hi <= lo) continue;
    if (kind === 'power') {
      if (dt > maxGapMs) continue;
      const slope = (p.value - a.value) / dt;
      const vLo = a.value + slope * (lo - a.ts);
      const vHi = a.value + slope * (hi - a.ts);
      energy += (((vLo + vHi) / 2) * (hi - lo)) / MS_PER_HOUR;
    } else {
      const delta = p.value >= a.value ? p.value - a.value : p.value;
      energy += (delta * (hi - lo)) / dt;
    }
  }
  if (count === 0 || !first || !last) return undefined;
  return {
    count,
    sum,
    min,
    max,
    first: first.value,
    last: last.value,
    firstTs: first.ts,
    lastTs: last.ts,
    energyWh: kind === 'power' || kind === 'energy' ? energy : null,
    resets,
  };
}
