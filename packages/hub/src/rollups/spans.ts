// Which buckets a recompute must cover. A reading changes the two intervals it ends and starts,
// and with them every bucket those intervals span — not only the reading's own bucket: a counter
// read at 09:59 and then at 11:00 puts energy into 10–11, and a reading at 11:00:00 sharp changes
// the energy of 10–11 alone. Ingest marks the reading's own bucket (it cannot see the neighbours
// another batch stored); the job widens that here, where both neighbours are loaded anyway.
import type { Point, SeriesKind } from './compute.ts';

export interface Span {
  start: number;
  end: number;
}

/**
 * Buckets (from `bucketAt`) spanned by the energy-carrying intervals of `points` that touch one
 * of `dirty` (sorted by start, not overlapping), the dirty buckets themselves included.
 * An interval [a, b] touches bucket [s, e) when a < e and b >= s: one ending exactly at s changes
 * the bucket before s.
 */
export function spannedBuckets<B extends Span>(
  points: readonly Point[],
  dirty: readonly B[],
  kind: SeriesKind,
  maxGapMs: number,
  bucketAt: (ms: number) => B,
): B[] {
  const out = new Map<number, B>(dirty.map((d) => [d.start, d]));
  if (kind !== 'power' && kind !== 'energy') return [...out.values()];
  for (let i = 1; i < points.length; i++) {
    const a = points[i - 1]!.ts;
    const b = points[i]!.ts;
    if (b <= a || (kind === 'power' && b - a > maxGapMs)) continue;
    if (!touches(dirty, a, b)) continue;
    for (let bucket = bucketAt(a); bucket.start < b; bucket = bucketAt(bucket.end)) {
      if (!out.has(bucket.start)) out.set(bucket.start, bucket);
    }
  }
  return [...out.values()].sort((x, y) => x.start - y.start);
}

function touches(dirty: readonly Span[], a: number, b: number): boolean {
  // First dirty bucket ending after a (binary search), then whether it starts by b.
  let lo = 0;
  let hi = dirty.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (dirty[mid]!.end > a) hi = mid;
    else lo = mid + 1;
  }
  return lo < dirty.length && dirty[lo]!.start <= b;
}
