// Restarting the agent is the service manager's job, not ours: in production systemd restarts
// the unit (a fixed argv, nothing else). Tests use a stand-in that records the request.
import { run, tail } from './exec.ts';

export interface Supervisor {
  readonly name: string;
  /** Asks for a restart. In production the caller's process is replaced and this never returns. */
  restart(reason: string): Promise<void>;
}

export const AGENT_UNIT = 'wattfleet-agent.service';

export class SystemdSupervisor implements Supervisor {
  readonly name = 'systemd';
  async restart(_reason: string): Promise<void> {
    // --no-block: the stop kills this process's cgroup, systemctl included; let systemd carry on.
    const r = await run('systemctl', ['restart', '--no-block', AGENT_UNIT], { timeoutMs: 30_000 });
    if (r.code !== 0) throw new Error(`systemctl restart failed: ${tail(r.stderr, 5)}`);
  }
}

/** For development and tests: remembers restarts and runs what the "next process" would run. */
export class StandInSupervisor implements Supervisor {
  readonly name = 'stand-in';
  readonly restarts: string[] = [];
  onRestart: ((reason: string) => Promise<void>) | undefined;
  async restart(reason: string): Promise<void> {
    this.restarts.push(reason);
    await this.onRestart?.(reason);
  }
}
