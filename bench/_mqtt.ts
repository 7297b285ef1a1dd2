// Shared by the MQTT benchmarks: a real Mosquitto on a free loopback port with its own config,
// password and ACL files (in a temp dir removed on stop), and CPU time of a process from /proc.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashMqttPassword } from '../packages/hub/src/nodes/credentials.ts';
import { freePort, MOSQUITTO } from '../packages/hub/test/mqtt/mosquitto.ts';

export interface BenchMosquitto {
  url: string;
  port: number;
  dir: string;
  passwordFile: string;
  aclFile: string;
  pidFile: string;
  /** Everything Mosquitto logged so far (connections, subscriptions, warnings). */
  log: () => string;
  stop(): Promise<void>;
}

/** Writes the password file (users hashed in Mosquitto's $7$ format) and the ACL, then starts Mosquitto. */
export async function startBenchMosquitto(
  users: { username: string; password: string }[],
  acl: string,
): Promise<BenchMosquitto> {
  const dir = mkdtempSync(join(tmpdir(), 'wf-bench-mosquitto-'));
  const passwordFile = join(dir, 'passwd');
  const aclFile = join(dir, 'acl');
  const pidFile = join(dir, 'mosquitto.pid');
  writeFileSync(passwordFile, users.map((u) => `${u.username}:${hashMqttPassword(u.password)}\n`).join(''));
  writeFileSync(aclFile, acl);
  const port = await freePort();
  const lines = [
    `listener ${port} 127.0.0.1`,
    'allow_anonymous false',
    `password_file ${passwordFile}`,
    `acl_file ${aclFile}`,
    `pid_file ${pidFile}`,
    'persistence false',
    // The default (1000 queued QoS 1 messages per client) would make a slow consumer lose messages
    // silently; a production broker in front of hubs is configured the same way.
    'max_queued_messages 10000000',
    'max_queued_bytes 0',
    'log_dest stderr',
    'log_type error',
    'log_type warning',
    'log_type notice',
    'log_type information',
    'log_type subscribe',
  ];
  if (process.getuid?.() === 0) lines.push('user root');
  const conf = join(dir, 'mosquitto.conf');
  writeFileSync(conf, `${lines.join('\n')}\n`);
  let output = '';
  const child: ChildProcess = spawn(MOSQUITTO, ['-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.on('data', (d) => {
    output += d;
  });
  child.stderr?.on('data', (d) => {
    output += d;
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && !child.signalCode) {
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 10_000;
  while (!/mosquitto version .* running/.test(output)) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`mosquitto did not start: ${output}`);
    }
    await sleep(50);
  }
  return {
    url: `mqtt://127.0.0.1:${port}`,
    port,
    dir,
    passwordFile,
    aclFile,
    pidFile,
    log: () => output,
    stop,
  };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const TICKS_PER_S = 100; // USER_HZ on Linux

/** User + system CPU seconds a process has used so far (Linux /proc). */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces) start at field 3; utime and stime are 14, 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_S;
}

/** Polls until `fn` returns a truthy value; throws after `ms`. */
export async function until<T>(fn: () => Promise<T> | T, ms: number, what: string): Promise<NonNullable<T>> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}
