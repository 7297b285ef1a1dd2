// OPEN_TUNNEL: a reverse SSH tunnel so an installer can reach a node behind NAT. Host, user and
// the allowed remote ports come from the local config, never from the command; the argv is fixed
// except for the remote port, which must lie in the configured range. It always closes.
import { type ChildProcess, spawn } from 'node:child_process';

export interface TunnelConfig {
  host: string;
  user: string;
  port: number;
  remotePortMin: number;
  remotePortMax: number;
}

export const MAX_TUNNEL_S = 15 * 60;
const HOST_RE = /^[A-Za-z0-9][A-Za-z0-9.-]{0,252}$/;
const USER_RE = /^[a-z_][a-z0-9_-]{0,31}$/;

/** Builds the ssh argv; throws when anything falls outside the whitelist. */
export function tunnelArgv(cfg: TunnelConfig, remotePort: number): string[] {
  if (!Number.isInteger(remotePort) || remotePort < cfg.remotePortMin || remotePort > cfg.remotePortMax) {
    throw new RangeError(`remote port ${remotePort} is outside ${cfg.remotePortMin}-${cfg.remotePortMax}`);
  }
  if (!HOST_RE.test(cfg.host)) throw new Error('tunnel host is not a plain host name');
  if (!USER_RE.test(cfg.user)) throw new Error('tunnel user is not a plain user name');
  if (!Number.isInteger(cfg.port) || cfg.port < 1 || cfg.port > 65535) throw new Error('bad ssh port');
  return [
    '-N',
    '-R',
    `${remotePort}:localhost:22`,
    '-p',
    String(cfg.port),
    '-o',
    'BatchMode=yes',
    '-o',
    'ExitOnForwardFailure=yes',
    '-o',
    'StrictHostKeyChecking=yes',
    '-o',
    'ServerAliveInterval=30',
    '-o',
    'ServerAliveCountMax=3',
    '--',
    `${cfg.user}@${cfg.host}`,
  ];
}

export interface OpenTunnel {
  remotePort: number;
  pid: number;
  openedAt: number;
  closesAt: number;
}

export class TunnelManager {
  private child: ChildProcess | undefined;
  private timer: NodeJS.Timeout | undefined;
  current: OpenTunnel | undefined;

  constructor(
    /** Replaced by a CONFIG_PUSH; an open tunnel keeps the settings it was opened with. */
    public cfg: TunnelConfig | undefined,
    private readonly opts: { env?: NodeJS.ProcessEnv; startupGraceMs?: number } = {},
  ) {}

  async open(remotePort: number, durationS = MAX_TUNNEL_S): Promise<OpenTunnel> {
    if (!this.cfg) throw new Error('no tunnel is configured on this node');
    const argv = tunnelArgv(this.cfg, remotePort);
    if (this.current) throw new Error(`a tunnel is already open on port ${this.current.remotePort}`);
    const seconds = Math.min(Math.max(1, durationS), MAX_TUNNEL_S);
    const child = spawn('ssh', argv, {
      env: this.opts.env ?? process.env,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-2000);
    });
    // ExitOnForwardFailure makes ssh quit at once when it cannot forward: wait a moment to see.
    const early = await new Promise<{ code: number | null; error?: Error } | undefined>((resolve) => {
      const t = setTimeout(() => resolve(undefined), this.opts.startupGraceMs ?? 1500);
      child.once('exit', (code) => {
        clearTimeout(t);
        resolve({ code });
      });
      child.once('error', (error) => {
        clearTimeout(t);
        resolve({ code: null, error });
      });
    });
    if (early)
      throw new Error(`ssh exited at once (${early.error?.message ?? early.code}): ${stderr.trim()}`);
    const now = Date.now();
    this.child = child;
    this.current = { remotePort, pid: child.pid!, openedAt: now, closesAt: now + seconds * 1000 };
    this.timer = setTimeout(() => void this.close(), seconds * 1000);
    child.once('exit', () => {
      if (this.child === child) this.reset();
    });
    return this.current;
  }

  private reset(): void {
    clearTimeout(this.timer);
    this.child = undefined;
    this.current = undefined;
  }

  async close(): Promise<void> {
    const child = this.child;
    if (!child) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(killer);
    this.reset();
  }
}
