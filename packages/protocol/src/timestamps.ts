// Timestamps arrive as epoch ms or RFC 3339 with any offset; everything internal is epoch ms UTC.

/** Returns epoch ms, or undefined when the value is not a real instant. */
export function toEpochMs(ts: number | string): number | undefined {
  if (typeof ts === 'number') return Number.isSafeInteger(ts) ? ts : undefined;
  // Require an explicit offset: a local time without zone is ambiguous, and we refuse to guess.
  if (!/(Z|[+-]\d{2}:\d{2})$/i.test(ts)) return undefined;
  const ms = Date.parse(ts);
  return Number.isFinite(ms) ? ms : undefined;
}
