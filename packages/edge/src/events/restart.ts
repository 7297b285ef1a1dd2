// Why did the agent (re)start? The previous process leaves a record in the state file: its boot
// id, whether it shut down cleanly, whether a restart was asked for (RESTART, SELF_UPDATE) and
// whether it was withholding systemd watchdog keepalives (unhealthy) when it went. Read at start:
//   different boot id            → os_reboot (a power cut too: clean=false says so)
//   restart asked for            → command / update (clean or not: systemd may have had to kill it)
//   clean shutdown               → stopped (systemctl stop/restart by an operator, a package upgrade)
//   unclean, watchdog withheld   → watchdog (systemd killed a hung agent)
//   unclean otherwise            → crash (uncaught error, OOM killer, SIGKILL)
import { readFileSync } from 'node:fs';
import { uptime } from 'node:os';
import { EVENT_KINDS, type EventSeverity, type RestartReason } from '@wattfleet/protocol';
import type { AgentState } from '../outbox/agent-state.ts';
import type { EventJournal } from './journal.ts';

const KEY = 'run';

interface RunRecord {
  bootId: string;
  pid: number;
  startedAt: number;
  clean: boolean;
  requested?: 'command' | 'update';
  requestReason?: string;
  watchdogWithheldSince?: number;
}

/** Linux's id of this boot; elsewhere the boot time to the minute stands in for it. */
export function currentBootId(path = '/proc/sys/kernel/random/boot_id'): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return `boot-${Math.round((Date.now() - uptime() * 1000) / 60_000)}`;
  }
}

export interface RestartVerdict {
  reason: RestartReason;
  previous: RunRecord | undefined;
}

export function restartReason(previous: RunRecord | undefined, bootId: string): RestartReason {
  if (!previous) return 'first_start';
  if (previous.bootId !== bootId) return 'os_reboot';
  if (previous.requested) return previous.requested;
  if (previous.clean) return 'stopped';
  if (previous.watchdogWithheldSince !== undefined) return 'watchdog';
  return 'crash';
}

const SEVERITY: Record<RestartReason, EventSeverity> = {
  crash: 'error',
  watchdog: 'error',
  os_reboot: 'warning',
  command: 'info',
  update: 'info',
  stopped: 'info',
  first_start: 'info',
};

export class RestartTracker {
  private record: RunRecord;

  constructor(
    private readonly state: AgentState,
    bootId: string,
    startedAt: number,
  ) {
    this.record = { bootId, pid: process.pid, startedAt, clean: false };
  }

  /** Reads what the previous process left, starts this process's record, and says why. */
  begin(journal: EventJournal): RestartVerdict {
    const previous = this.state.get<RunRecord>(KEY);
    const reason = restartReason(previous, this.record.bootId);
    this.save();
    if (reason !== 'first_start') {
      const how = previous?.clean ? 'after a clean shutdown' : 'after an unclean end';
      journal.emit(EVENT_KINDS.agentRestarted, SEVERITY[reason], `agent restarted: ${reason} (${how})`, {
        data: {
          reason,
          clean: previous?.clean ?? false,
          previousPid: previous?.pid,
          previousStartedAt: previous?.startedAt,
          ...(previous?.requestReason ? { requestReason: previous.requestReason } : {}),
        },
      });
    }
    return { reason, previous };
  }

  /** Before handing over to the service manager on purpose. */
  requested(kind: 'command' | 'update', why: string): void {
    this.record = { ...this.record, requested: kind, requestReason: why.slice(0, 200) };
    this.save();
  }

  /** The watchdog keepalives stopped (true) or resumed (false); written only on a change. */
  watchdogWithheld(withheld: boolean): void {
    if (withheld === (this.record.watchdogWithheldSince !== undefined)) return;
    const { watchdogWithheldSince: _, ...rest } = this.record;
    this.record = withheld ? { ...rest, watchdogWithheldSince: Date.now() } : rest;
    this.save();
  }

  /** Last thing a clean stop does. */
  clean(): void {
    this.record = { ...this.record, clean: true };
    this.save();
  }

  private save(): void {
    this.state.set(KEY, this.record);
  }
}
