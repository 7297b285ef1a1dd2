// Switching safety by construction (issue 13.6): per-channel minimum on/off times and a maximum
// number of state changes per hour. Shared by the hub's single switch path (AutomationService)
// and the agent's edge automation (13.7), so a switch meets the same limits wherever it comes
// from. Pure logic: the caller reads the channel's recent changes and asks.
import type { OnOff } from './occurrences.ts';

export interface SwitchLimits {
  minOnS: number;
  minOffS: number;
  /** null: no hourly limit. */
  maxSwitchesPerHour: number | null;
}

export interface LimitRefusal {
  limit: 'min_on' | 'min_off' | 'max_switches_per_hour';
  /** The earliest instant the same switch would be accepted (ms since epoch). */
  allowedAt: number;
  message: string;
}

const HOUR_MS = 3_600_000;

const span = (s: number) => (s % 60 === 0 ? `${s / 60} min` : `${s} s`);

/**
 * Whether switching to `state` now breaks a limit. `changes` are the channel's accepted state
 * changes of the last hour (or at least the latest one), oldest first. Asking for the state the
 * channel is already in is not a change and is never refused (a repeated scene or schedule is
 * idempotent and does not count).
 */
export function limitRefusal(
  limits: SwitchLimits,
  changes: readonly { at: Date; state: OnOff }[],
  state: OnOff,
  now: number,
): LimitRefusal | undefined {
  const last = changes.at(-1);
  if (last) {
    const minS = last.state === 'on' ? limits.minOnS : limits.minOffS;
    const allowedAt = last.at.getTime() + minS * 1000;
    if (last.state !== state && minS > 0 && now < allowedAt) {
      return {
        limit: last.state === 'on' ? 'min_on' : 'min_off',
        allowedAt,
        message: `The channel must stay ${last.state} for at least ${span(minS)} (since ${last.at.toISOString()}); it may switch ${state} from ${new Date(allowedAt).toISOString()}`,
      };
    }
  }
  const max = limits.maxSwitchesPerHour;
  if (max !== null) {
    const inHour = changes.filter((c) => c.at.getTime() > now - HOUR_MS);
    if (inHour.length >= max) {
      // Allowed again once enough of this hour's changes are older than an hour.
      const allowedAt = inHour[inHour.length - max]!.at.getTime() + HOUR_MS;
      return {
        limit: 'max_switches_per_hour',
        allowedAt,
        message: `The channel may switch at most ${max} time(s) per hour; the next switch is allowed from ${new Date(allowedAt).toISOString()}`,
      };
    }
  }
  return undefined;
}
