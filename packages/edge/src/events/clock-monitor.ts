// The node's clock against the hub's. Every signed answer carries the hub's time; the offset is
// kept for the local dashboard, /metrics and the heartbeat, logged when it crosses the bound, and
// an event says when the clock went out of (and back into) step. Not corrected here: the clock is
// the OS's job (NTP); what this node signs and stamps stays what its clock says, so the hub sees
// the truth and refuses what it must.
import { EVENT_KINDS } from '@wattfleet/protocol';
import type { Logger } from 'pino';
import type { AgentState } from '../outbox/agent-state.ts';
import type { EventJournal } from './journal.ts';

const KEY = 'clock';
/** Off by more than this = not synchronised (the hub's clock_drift rule uses the same bound). */
export const CLOCK_UNSYNC_MS = 60_000;
/** Back in step below this (hysteresis: a clock at the bound does not flap). */
const CLOCK_OK_MS = 30_000;

export interface ClockView {
  /** This node's clock − the hub's, ms; null until an answer said. */
  offsetMs: number | null;
  measuredAt: number | null;
  synchronised: boolean | null;
}

export class ClockMonitor {
  readonly view: ClockView = { offsetMs: null, measuredAt: null, synchronised: null };

  constructor(
    private readonly journal: EventJournal,
    private readonly state: AgentState,
    private readonly logger?: Logger,
  ) {
    const flagged = state.get<boolean>(KEY);
    if (flagged !== undefined) this.view.synchronised = !flagged;
  }

  /** An answer from the hub: `offsetMs` = our clock − hub's, `hubTime` = what the hub said. */
  observe(offsetMs: number, hubTime: number): void {
    this.view.offsetMs = offsetMs;
    this.view.measuredAt = Date.now();
    const abs = Math.abs(offsetMs);
    const flagged = this.state.get<boolean>(KEY) ?? false;
    if (!flagged && abs > CLOCK_UNSYNC_MS) {
      this.state.set(KEY, true);
      this.view.synchronised = false;
      this.logger?.warn({ offsetMs, hubTime }, `clock is ${Math.round(offsetMs / 1000)} s off the hub's`);
      // Stamped in the hub's time: the node's own would put it where the hub cannot take it.
      this.journal.emit(
        EVENT_KINDS.clockUnsynchronised,
        'warning',
        `clock is ${Math.round(offsetMs / 1000)} s off the hub's`,
        { ts: hubTime, data: { offsetMs } },
      );
    } else if (flagged && abs < CLOCK_OK_MS) {
      this.state.set(KEY, false);
      this.view.synchronised = true;
      this.logger?.info({ offsetMs }, 'clock back in step with the hub');
      this.journal.emit(EVENT_KINDS.clockSynchronised, 'info', 'clock back in step with the hub', {
        ts: hubTime,
        data: { offsetMs },
      });
    } else if (this.view.synchronised === null) this.view.synchronised = !flagged;
  }
}
