// Error-log bursts: one error line is news for the log, ten within a few minutes are news for the
// fleet operator. The logger hands every error-level line here; when `lines` of them fall within
// `windowS`, one event says how many (the hub's error_burst rule weighs it by that count) with a
// few of the messages, and counting starts again.
import { EVENT_KINDS } from '@wattfleet/protocol';
import type { EventJournal } from './journal.ts';

const SAMPLES = 5;

export class ErrorBurst {
  private times: number[] = [];
  private samples: string[] = [];
  journal: EventJournal | undefined;

  constructor(
    private readonly lines: number,
    private readonly windowS: number,
  ) {}

  record(message: string, now = Date.now()): void {
    const from = now - this.windowS * 1000;
    while (this.times.length && this.times[0]! < from) {
      this.times.shift();
      this.samples.shift();
    }
    this.times.push(now);
    this.samples.push(message.slice(0, 300));
    if (this.times.length < this.lines || !this.journal) return;
    const count = this.times.length;
    const spanS = Math.max(1, Math.round((now - this.times[0]!) / 1000));
    this.journal.emit(EVENT_KINDS.errorBurst, 'error', `${count} errors logged in ${spanS} s`, {
      data: { count, windowS: this.windowS, samples: [...new Set(this.samples)].slice(-SAMPLES) },
    });
    this.times = [];
    this.samples = [];
  }
}
