// Does the OS say its clock is synchronised? The hub comparison (events/clock-monitor.ts) sees a
// clock that is already wrong; this sees the cause early: NTP not reaching its servers (a
// firewalled site, a Pi without RTC that booted offline). Asked in order:
//   1. `timedatectl show -p NTPSynchronized --value` — systemd's answer is the kernel's own flag
//      (adjtimex: STA_UNSYNC cleared by whichever NTP daemon runs: timesyncd, chrony, ntpd);
//   2. `chronyc -n tracking` — chrony without systemd (containers, Alpine): "Leap status";
//   3. otherwise unknown: no event either way (an unknown is no news, and no alert).
// Node cannot call adjtimex itself and /proc does not expose the flag, hence the programs. The
// runner is injectable: tests feed it the outputs of real machines (systemd cannot run there).
import { type ExecResult, run } from '../ops/exec.ts';

export interface NtpState {
  /** null = the OS could not tell (no timedatectl/chronyc, or neither could answer). */
  synchronised: boolean | null;
  via: 'timedatectl' | 'chronyc' | null;
  detail: string;
}

export type RunProgram = (file: string, args: readonly string[]) => Promise<ExecResult>;

/** `timedatectl show -p NTPSynchronized --value`: "yes" / "no"; undefined = it cannot tell. */
export function parseTimedatectl(r: ExecResult): NtpState | undefined {
  // Not booted with systemd, no D-Bus, no timedated: exit ≠ 0, and the next probe is asked.
  if (r.code !== 0) return undefined;
  const value = r.stdout.trim().toLowerCase();
  if (value === 'yes') return { synchronised: true, via: 'timedatectl', detail: 'NTPSynchronized=yes' };
  if (value === 'no') return { synchronised: false, via: 'timedatectl', detail: 'NTPSynchronized=no' };
  return undefined;
}

/** `chronyc -n tracking`: "Leap status : Normal" (or leap second pending) = synchronised. */
export function parseChronyTracking(r: ExecResult): NtpState | undefined {
  // chronyd not running: "506 Cannot talk to daemon", exit 1.
  if (r.code !== 0) return undefined;
  const leap = /^Leap status\s*:\s*(.+)$/im.exec(r.stdout)?.[1]?.trim();
  if (!leap) return undefined;
  const reference = /^Reference ID\s*:\s*(.+)$/im.exec(r.stdout)?.[1]?.trim();
  const detail = `Leap status: ${leap}${reference ? `; reference ${reference}` : ''}`;
  if (/not synchroni[sz]ed/i.test(leap)) return { synchronised: false, via: 'chronyc', detail };
  if (/normal|insert second|delete second/i.test(leap)) return { synchronised: true, via: 'chronyc', detail };
  return undefined;
}

const UNKNOWN: NtpState = {
  synchronised: null,
  via: null,
  detail: 'neither timedatectl nor chronyc could tell',
};

/** Asks the OS, first answer wins; never throws (a missing program is just "cannot tell"). */
export async function probeNtp(
  runProgram: RunProgram = (f, a) => run(f, a, { timeoutMs: 5000, env: withoutNotifySocket() }),
): Promise<NtpState> {
  const attempts: [string, string[], (r: ExecResult) => NtpState | undefined][] = [
    ['timedatectl', ['show', '-p', 'NTPSynchronized', '--value'], parseTimedatectl],
    ['chronyc', ['-n', 'tracking'], parseChronyTracking],
  ];
  for (const [file, args, parse] of attempts) {
    const answer = parse(await runProgram(file, args).catch(() => ({ code: 1, stdout: '', stderr: '' })));
    if (answer) return answer;
  }
  return UNKNOWN;
}

/**
 * systemd's own tools report a failing exit over NOTIFY_SOCKET ("ERRNO=…"): a probe inherits the
 * agent's socket under systemd and would speak to the service manager in the agent's name.
 */
function withoutNotifySocket(): NodeJS.ProcessEnv {
  const { NOTIFY_SOCKET: _, ...env } = process.env;
  return env;
}
