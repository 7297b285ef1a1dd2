// Bucket statistics from raw points. Pure, so the hand-computed reference cases test it directly.
//
// Energy per bucket:
// - power (W): the integral of the linearly interpolated signal over the part of each interval
//   that lies in the bucket, in Wh. Intervals longer than maxGapMs are not integrated: a node that
//   was silent produced no evidence of energy.
// - energy counter (Wh): the counter's increase, split across buckets in proportion to time. A
//   counter going backwards is a reset (meter replaced, firmware restart): the energy of that
//   interval is the new reading (counted up from zero), never a negative delta.
//
// A bucket with no reading inside still gets its share of every interval that spans it (a counter
// read at 09:59 and 11:00 put energy into 10–11): it comes back with count 0 and no min/max/first/
// last, so hourly energy adds up to daily energy however the readings fall.

export type SeriesKind = 'power' | 'energy' | 'gauge' | 'state';

export interface Point {
  ts: number;
  value: number;
}

export interface BucketStats {
  count: number;
  sum: number;
  /** null when no reading lies inside the bucket (it only carries energy of a spanning interval). */
  min: number | null;
  max: number | null;
  first: number | null;
  last: number | null;
  firstTs: number | null;
  lastTs: number | null;
  energyWh: number | null;
  resets: number;
}

const MS_PER_HOUR = 3_600_000;

/**
 * `points` sorted by ts; may extend beyond [start, end) so intervals crossing the bounds count.
 * Returns undefined when no point lies inside the bucket and no energy-carrying interval spans it.
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
  let spanned = false;
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
      spanned = true;
      const slope = (p.value - a.value) / dt;
      const vLo = a.value + slope * (lo - a.ts);
      const vHi = a.value + slope * (hi - a.ts);
      energy += (((vLo + vHi) / 2) * (hi - lo)) / MS_PER_HOUR;
    } else {
      spanned = true;
      const delta = p.value >= a.value ? p.value - a.value : p.value;
      energy += (delta * (hi - lo)) / dt;
    }
  }
  if (!first || !last) {
    if (!spanned) return undefined;
    return {
      count: 0,
      sum: 0,
      min: null,
      max: null,
      first: null,
      last: null,
      firstTs: null,
      lastTs: null,
      energyWh: energy,
      resets,
    };
  }
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
