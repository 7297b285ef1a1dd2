// Ingest answers list every problem of a batch at once: the schema's and the semantic ones
// (catalogue, time range, magnitude) together, so a device developer fixes everything in one go.
import { checker, type Problem, Sample, TelemetryBatch, WattfleetError } from '@wattfleet/protocol';
import { dedupeProblems } from '../http/problems.ts';
import { type NormalisedSample, normaliseSamples } from './validate-samples.ts';

const batchCheck = checker(TelemetryBatch);
const sampleCheck = checker(Sample);

export function validateTelemetry(body: unknown, now: number, oldestAllowedMs: number): NormalisedSample[] {
  if (batchCheck.check(body)) {
    try {
      return normaliseSamples(body.samples, now, oldestAllowedMs);
    } catch (err) {
      if (err instanceof WattfleetError && err.problems) {
        throw new WattfleetError(
          err.code,
          err.message,
          err.problems.map((p) => ({ ...p, path: `/body${p.path}` })),
        );
      }
      throw err;
    }
  }
  const problems: Problem[] = batchCheck.problems(body, '/body');
  // Samples that are well-formed on their own still get their semantic check.
  const samples = (body as { samples?: unknown })?.samples;
  if (Array.isArray(samples)) {
    const wellFormed = samples.map((s, i) => [s, i] as const).filter(([s]) => sampleCheck.check(s));
    for (const [s, i] of wellFormed) {
      try {
        normaliseSamples([s as Sample], now, oldestAllowedMs);
      } catch (err) {
        if (err instanceof WattfleetError && err.problems) {
          for (const p of err.problems)
            problems.push({ ...p, path: p.path.replace('/samples/0', `/body/samples/${i}`) });
        }
      }
    }
  }
  throw new WattfleetError(
    'WF_VALIDATION',
    'The batch is invalid; nothing was stored',
    dedupeProblems(problems),
  );
}
