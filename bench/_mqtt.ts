// Shared by the MQTT benchmarks: a real Mosquitto on a free loopback port with its own config,
// password and ACL files (in a temp dir removed on stop), and CPU time of a process from /proc.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashMqttPassword } from '../packages/hub/src/nodes/credentials.ts';
import { startMosquitto } from '../packages/hub/test/mqtt/mosquitto.ts';

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
  const files = {
    passwordFile: join(dir, 'passwd'),
    aclFile: join(dir, 'acl'),
    pidFile: join(dir, 'mosquitto.pid'),
  };
  writeFileSync(
    files.passwordFile,
    users.map((u) => `${u.username}:${hashMqttPassword(u.password)}\n`).join(''),
  );
  writeFileSync(files.aclFile, acl);
  const broker = await startMosquitto(dir, files, [
    // The default (1000 queued QoS 1 messages per client) would make a slow consumer lose messages
    // silently; a production broker in front of hubs is configured the same way.
    'max_queued_messages 10000000',
    'max_queued_bytes 0',
  ]);
  return {
    url: broker.url,
    port: broker.port,
    dir,
    passwordFile: files.passwordFile,
    aclFile: files.aclFile,
    pidFile: files.pidFile,
    log: broker.log,
    stop: broker.stop,
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
