// The OS's own word on its clock (time/ntp.ts), asked every few minutes. A clock that stays
// unsynchronised for `graceMs` is news: a Raspberry Pi has no RTC and is unsynchronised for the
// first minute of every boot until NTP answers, which is not. One event when it goes (kept in the
// state file, so a restart does not say it twice), one when it is back; "cannot tell" says nothing.
import { EVENT_KINDS } from '@wattfleet/protocol';
import type { Logger } from 'pino';
import type { AgentState } from '../outbox/agent-state.ts';
import { type NtpState, probeNtp } from '../time/ntp.ts';
import type { EventJournal } from './journal.ts';

const KEY = 'ntp';
export const NTP_PROBE_MS = 5 * 60_000;
/** Unsynchronised for this long before it is said (boot without RTC: NTP takes a minute or so). */
export const NTP_GRACE_MS = 10 * 60_000;

export interface NtpView extends NtpState {
  checkedAt: number | null;
  /** Since when the OS has said "not synchronised" without a break; null otherwise. */
  unsynchronisedSince: number | null;
}

export interface NtpMonitorOptions {
  probe?: () => Promise<NtpState>;
  graceMs?: number;
  intervalMs?: number;
  /** Durations only (grace): the process's clock, not the agent's wall clock. */
  now?: () => number;
  logger?: Logger | undefined;
}

export class NtpMonitor {
  readonly view: NtpView = {
    synchronised: null,
    via: null,
    detail: 'not checked yet',
    checkedAt: null,
    unsynchronisedSince: null,
  };
  private timer: NodeJS.Timeout | undefined;
  private readonly probe: () => Promise<NtpState>;
  private readonly now: () => number;

  constructor(
    private readonly journal: EventJournal,
    private readonly state: AgentState,
    private readonly opts: NtpMonitorOptions = {},
  ) {
    this.probe = opts.probe ?? (() => probeNtp());
    this.now = opts.now ?? Date.now;
  }

  start(): void {
    if (this.timer) return;
    void this.check();
    this.timer = setInterval(() => void this.check(), this.opts.intervalMs ?? NTP_PROBE_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One probe; emits on a change that matters. Returns what the OS said. */
  async check(): Promise<NtpState> {
    const answer = await this.probe().catch(
      (err: Error): NtpState => ({ synchronised: null, via: null, detail: err.message }),
    );
    const now = this.now();
    const flagged = this.state.get<boolean>(KEY) ?? false;
    const since = answer.synchronised === false ? (this.view.unsynchronisedSince ?? now) : null;
    Object.assign(this.view, answer, { checkedAt: now, unsynchronisedSince: since });
    if (answer.synchronised === false && !flagged && now - since! >= (this.opts.graceMs ?? NTP_GRACE_MS)) {
      this.state.set(KEY, true);
      const forS = Math.round((now - since!) / 1000);
      this.opts.logger?.warn({ ...answer, forS }, 'the OS says the clock is not NTP-synchronised');
      this.journal.emit(
        EVENT_KINDS.ntpUnsynchronised,
        'warning',
        `clock not synchronised by NTP for ${forS} s (${answer.via}: ${answer.detail})`,
        { data: { via: answer.via, detail: answer.detail, forS } },
      );
    } else if (answer.synchronised === true && flagged) {
      this.state.set(KEY, false);
      this.opts.logger?.info({ ...answer }, 'the OS says the clock is NTP-synchronised again');
      this.journal.emit(
        EVENT_KINDS.ntpSynchronised,
        'info',
        `clock synchronised by NTP again (${answer.via}: ${answer.detail})`,
        { data: { via: answer.via, detail: answer.detail } },
      );
    }
    return answer;
  }
}
