// Checks what a schema cannot: catalogue membership, real instants within retention, finite
// magnitudes, no contradictory duplicates. Every problem is listed; nothing of a bad batch is kept.
import {
  isAcceptedMetric,
  LIMITS,
  type Problem,
  type Sample,
  toEpochMs,
  WattfleetError,
} from '@wattfleet/protocol';

export interface NormalisedSample {
  metric: string;
  equipment: string;
  ts: number;
  value: number;
}

export function normaliseSamples(
  samples: Sample[],
  now: number,
  oldestAllowedMs: number,
): NormalisedSample[] {
  const problems: Problem[] = [];
  const out: NormalisedSample[] = new Array(samples.length);
  const seen = new Map<string, number>();
  for (let i = 0; i < samples.length; i++) {
    const s = samples[i]!;
    if (!isAcceptedMetric(s.metric)) {
      problems.push({
        path: `/samples/${i}/metric`,
        code: 'WF_UNKNOWN_METRIC',
        message: `Unknown metric "${s.metric}": use a catalogue name or the custom prefix x_`,
      });
    }
    const ts = toEpochMs(s.ts);
    if (ts === undefined) {
      problems.push({
        path: `/samples/${i}/ts`,
        code: 'WF_BAD_TIMESTAMP',
        message: 'Not a valid instant (RFC 3339 with offset, or epoch ms)',
      });
    } else if (ts > now + LIMITS.maxFutureSkewMs) {
      problems.push({
        path: `/samples/${i}/ts`,
        code: 'WF_BAD_TIMESTAMP',
        message: 'Timestamp is in the future',
      });
    } else if (ts < oldestAllowedMs) {
      problems.push({
        path: `/samples/${i}/ts`,
        code: 'WF_BAD_TIMESTAMP',
        message: `Timestamp is older than raw retention (${new Date(oldestAllowedMs).toISOString()})`,
      });
    }
    if (!Number.isFinite(s.value) || Math.abs(s.value) > LIMITS.maxAbsValue) {
      problems.push({
        path: `/samples/${i}/value`,
        message: `Value must be finite with magnitude ≤ ${LIMITS.maxAbsValue}`,
      });
    }
    const equipment = s.equipment ?? '';
    if (ts !== undefined) {
      const key = `${equipment}\u0000${s.metric}\u0000${ts}`;
      const prev = seen.get(key);
      if (prev !== undefined && samples[prev]!.value !== s.value) {
        problems.push({
          path: `/samples/${i}`,
          message: `Contradicts sample ${prev}: same metric, equipment and time`,
        });
      }
      seen.set(key, i);
    }
    out[i] = { metric: s.metric, equipment, ts: ts ?? 0, value: s.value };
  }
  if (problems.length > 0) {
    throw new WattfleetError(
      'WF_VALIDATION',
      `The batch has ${problems.length} problem(s); nothing was stored`,
      problems,
    );
  }
  return out;
}
