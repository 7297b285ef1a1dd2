// systemd watchdog (WatchdogSec=) without a native binding: `systemd-notify` sends READY=1 and
// WATCHDOG=1 for us. The unit needs NotifyAccess=all because the sender is a child process;
// systemd-notify waits (BARRIER=1) until systemd has read the message, so the child exiting first
// cannot make systemd drop it. Keepalives are sent only while the agent's main loop is alive, so a
// hung agent gets restarted.
import type { Logger } from 'pino';
import { run, tail } from './exec.ts';

export class Watchdog {
  private timer: NodeJS.Timeout | undefined;
  private failing = false;

  constructor(
    private readonly alive: () => boolean,
    private readonly logger?: Logger,
  ) {}

  static enabled(): boolean {
    return Boolean(process.env.NOTIFY_SOCKET);
  }

  /** How often keepalives go out: a third of WATCHDOG_USEC (two missed still leave margin), ≥ 1 s. */
  static intervalMs(): number | undefined {
    const usec = Number(process.env.WATCHDOG_USEC);
    if (!Number.isFinite(usec) || usec <= 0) return undefined;
    return Math.max(1000, usec / 3000);
  }

  async start(): Promise<void> {
    if (!Watchdog.enabled()) return;
    await this.notify(['--ready']);
    const every = Watchdog.intervalMs();
    if (every === undefined) return;
    this.timer = setInterval(() => {
      if (this.alive()) void this.notify(['WATCHDOG=1']);
    }, every);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private async notify(args: string[]): Promise<void> {
    const r = await run('systemd-notify', args, { timeoutMs: 5000 });
    if (r.code !== 0 && !this.failing) {
      // Once per failure streak: a missing or broken systemd-notify ends in a watchdog restart.
      this.logger?.error({ args, error: tail(r.stderr, 3) }, 'systemd-notify failed');
    }
    this.failing = r.code !== 0;
  }
}
