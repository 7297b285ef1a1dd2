// Plan validation: which node goes in which ring. Ring sizes are cumulative (1 canary, then 10 %,
// then 100 % of the selected nodes); a ring that would add no node (10 % of 3 nodes after a
// canary of 1) is dropped, so ring indexes always name rings that hold nodes.
import { type RolloutRing, WattfleetError } from '@wattfleet/protocol';

export const DEFAULT_RINGS: RolloutRing[] = [{ count: 1 }, { percent: 10 }, { percent: 100 }];

export interface RingPlan {
  /** The rings that hold nodes, as requested. */
  rings: RolloutRing[];
  /** Ring index of each node, in the order given. */
  ringOf: number[];
}

const cumulative = (ring: RolloutRing, n: number) =>
  'count' in ring ? Math.min(ring.count, n) : Math.ceil((ring.percent * n) / 100 - 1e-9);

export function planRings(nodeCount: number, requested: RolloutRing[] = DEFAULT_RINGS): RingPlan {
  if (nodeCount < 1) throw new WattfleetError('WF_VALIDATION', 'A rollout needs at least one node');
  const rings: RolloutRing[] = [];
  const ringOf: number[] = [];
  let reached = 0;
  requested.forEach((ring, i) => {
    const size = cumulative(ring, nodeCount);
    if (size < reached)
      throw new WattfleetError('WF_VALIDATION', 'Ring sizes are cumulative and may not shrink', [
        { path: `/body/rings/${i}`, message: `reaches ${size} nodes, the ring before reached ${reached}` },
      ]);
    if (size === reached) return;
    for (let k = reached; k < size; k++) ringOf.push(rings.length);
    rings.push(ring);
    reached = size;
  });
  if (reached !== nodeCount)
    throw new WattfleetError('WF_VALIDATION', 'The last ring must reach every selected node', [
      { path: '/body/rings', message: `the rings reach ${reached} of ${nodeCount} nodes` },
    ]);
  return { rings, ringOf };
}

/** Versions as agents report them ("1.2.0") against tags ("v1.2.0"). */
export const sameVersion = (version: string | null, tag: string) =>
  version !== null && version.replace(/^v/, '') === tag.replace(/^v/, '');
