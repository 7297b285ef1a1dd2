// Equipment reachability, per source: N consecutive failed reads make it unreachable (one
// timeout is a busy bus, not a dead inverter), the next good read makes it reachable again. The
// state is kept in the state file, so an agent restarted while a device is down still says
// "reachable again" when it answers, and the hub's alert does not stay open forever.
import { EVENT_KINDS } from '@wattfleet/protocol';
import type { AgentState } from '../outbox/agent-state.ts';
import type { EventJournal } from './journal.ts';

const KEY = 'unreachable';

interface Down {
  since: number;
  error: string;
}

export class Reachability {
  private readonly failures = new Map<string, number>();

  constructor(
    private readonly journal: EventJournal,
    private readonly state: AgentState,
    private readonly threshold: number,
  ) {}

  private down(): Record<string, Down> {
    return this.state.get<Record<string, Down>>(KEY) ?? {};
  }

  ok(key: string): void {
    this.failures.set(key, 0);
    const down = this.down();
    const was = down[key];
    if (!was) return;
    delete down[key];
    this.state.set(KEY, down);
    this.journal.emit(EVENT_KINDS.equipmentReachable, 'info', `${key} answers again`, {
      equipment: key,
      data: { downForS: Math.round((Date.now() - was.since) / 1000) },
    });
  }

  failed(key: string, error: string): void {
    const n = (this.failures.get(key) ?? 0) + 1;
    this.failures.set(key, n);
    if (n < this.threshold) return;
    const down = this.down();
    if (down[key]) return; // already said so
    down[key] = { since: Date.now(), error };
    this.state.set(KEY, down);
    this.journal.emit(EVENT_KINDS.equipmentUnreachable, 'warning', `${n} reads failed: ${error}`, {
      equipment: key,
      data: { failures: n, error },
    });
  }

  /** Sources no longer configured cannot come back: their open "unreachable" is closed. */
  retain(keys: Iterable<string>): void {
    const keep = new Set(keys);
    const down = this.down();
    for (const key of Object.keys(down)) {
      if (keep.has(key)) continue;
      delete down[key];
      this.state.set(KEY, down);
      this.journal.emit(EVENT_KINDS.equipmentReachable, 'info', `${key} removed from the configuration`, {
        equipment: key,
        data: { removed: true },
      });
    }
  }
}
