// The agent's wall clock. Everything that carries a wall-clock meaning (reading timestamps,
// events, request signatures, heartbeats, local day boundaries) reads it here, so a test can run
// the real agent with its clock off by a known amount, as a node with a wrong RTC would be.
// Durations and timers keep using the process's own clock: they are not affected by wall time.

export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** A clock `offsetMs` ahead of (or, negative, behind) the system clock. */
export function offsetClock(offsetMs: number): Clock {
  return { now: () => Date.now() + offsetMs };
}

/**
 * WATTFLEET_CLOCK_OFFSET_MS shifts the agent's wall clock: for tests, and to reproduce in the lab
 * what a field node with a drifting clock does. Absent or 0 = the system clock.
 */
export function clockFromEnv(env: NodeJS.ProcessEnv = process.env): Clock {
  const raw = env.WATTFLEET_CLOCK_OFFSET_MS;
  if (!raw) return systemClock;
  const offset = Number(raw);
  if (!Number.isFinite(offset)) throw new Error(`WATTFLEET_CLOCK_OFFSET_MS="${raw}" is not a number`);
  return offset === 0 ? systemClock : offsetClock(offset);
}
