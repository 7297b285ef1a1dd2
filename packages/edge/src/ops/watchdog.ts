// systemd watchdog (WatchdogSec=) without a native binding: `systemd-notify` sends READY=1 and
// WATCHDOG=1 for us. The unit needs NotifyAccess=all because the sender is a child process.
// Keepalives are sent only while the agent's main loop is alive, so a hung agent gets restarted.
import { run } from './exec.ts';

export class Watchdog {
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly alive: () => boolean) {}

  static enabled(): boolean {
    return Boolean(process.env.NOTIFY_SOCKET);
  }

  async start(): Promise<void> {
    if (!Watchdog.enabled()) return;
    await run('systemd-notify', ['--ready'], { timeoutMs: 5000 });
    const usec = Number(process.env.WATCHDOG_USEC);
    if (!Number.isFinite(usec) || usec <= 0) return;
    // Ping at a third of the timeout: two missed pings still leave margin.
    this.timer = setInterval(
      () => {
        if (this.alive()) void run('systemd-notify', ['WATCHDOG=1'], { timeoutMs: 5000 });
      },
      Math.max(1000, usec / 3000),
    );
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
