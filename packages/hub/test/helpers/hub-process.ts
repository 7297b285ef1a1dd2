// A hub started as its own OS process (the real CLI), for crash tests and benchmarks.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));
/** The production bundle built by packages/hub/scripts/build.mjs. */
export const HUB_BUNDLE = fileURLToPath(new URL('../../dist/hub.mjs', import.meta.url));
export const HUB_BUILD_SCRIPT = fileURLToPath(new URL('../../scripts/build.mjs', import.meta.url));

export class HubProcess {
  child: ChildProcess | undefined;
  url = '';
  /** How long start() waits for "running at" (a fresh PGlite on a busy machine takes a while). */
  startTimeoutMs = 60_000;
  constructor(
    private readonly env: NodeJS.ProcessEnv,
    /** Extra node flags, e.g. --cpu-prof for profiling a benchmark. */
    private readonly nodeFlags: string[] = [],
    /** Run this built bundle with plain node (production) instead of the source through tsx. */
    private readonly bundle?: string,
  ) {}

  async start(): Promise<void> {
    const entry = this.bundle ? [this.bundle] : ['--import', 'tsx', CLI];
    const child = spawn(process.execPath, [...this.nodeFlags, ...entry, 'start'], {
      env: { ...process.env, ...this.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    let out = '';
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`hub did not start: ${out}`)), this.startTimeoutMs);
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        this.keepTail(d);
        const m = /running at (https?:\/\/\S+)/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]!);
        }
      });
      child.stderr!.on('data', (d: Buffer) => {
        out += d.toString();
        this.keepTail(d);
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`hub exited (${code}) during start: ${out}`));
      });
    });
    this.url = url.replace('localhost', '127.0.0.1');
  }

  private tail = '';

  /** The last 64 KiB the hub wrote to stdout/stderr (for a bench or test to show on failure). */
  get output(): string {
    return this.tail;
  }

  private keepTail(d: Buffer): void {
    this.tail = (this.tail + d.toString()).slice(-65_536);
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Graceful stop (SIGTERM): lets the hub close and, e.g., write a CPU profile. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode) return;
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    await exited;
  }

  async kill(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode) return;
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
  }
}
