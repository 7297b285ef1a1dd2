// A real Mosquitto for tests: started on a free loopback port with its own config, password file
// and ACL file (written by the hub's own generator), stopped (and its directory removed) after.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MosquittoFilesConfig } from '../../src/mqtt/config.ts';
import { MOSQUITTO_NODE_LISTENER_SETTINGS } from '../../src/mqtt/mosquitto-files.ts';

export const MOSQUITTO = process.env.MOSQUITTO_BIN ?? '/usr/sbin/mosquitto';
export const HUB_USER = { username: 'wattfleet-hub', password: 'hub-secret-for-tests' };

export interface TestMosquitto {
  port: number;
  url: string;
  /** The listener for nodes with the hub's node-listener settings (only with `nodeListener`). */
  nodeUrl: string | undefined;
  files: MosquittoFilesConfig;
  dir: string;
  /** Everything Mosquitto logged (for failure messages). */
  log: () => string;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Paths only; the caller writes the password and ACL files (the hub's sync) before start. */
export function mosquittoFiles(): { dir: string; files: MosquittoFilesConfig } {
  const dir = mkdtempSync(join(tmpdir(), 'wf-mosquitto-'));
  return {
    dir,
    files: {
      passwordFile: join(dir, 'passwd'),
      aclFile: join(dir, 'acl'),
      pidFile: join(dir, 'mosquitto.pid'),
    },
  };
}

async function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ host: '127.0.0.1', port }, () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}

/**
 * `persistence` keeps sessions and queues on disk in `dir` (saved at shutdown, as in production).
 * `extraLines` are appended to the generated config (benchmarks raise queue limits). With
 * `nodeListener` a second listener carries MOSQUITTO_NODE_LISTENER_SETTINGS, as in production:
 * the hub connects on `url`, nodes on `nodeUrl`.
 */
export async function startMosquitto(
  dir: string,
  files: MosquittoFilesConfig,
  extraLines: readonly string[] = [],
  opts: { nodeListener?: boolean; persistence?: boolean } = {},
): Promise<TestMosquitto> {
  const port = await freePort();
  const nodePort = opts.nodeListener ? await freePort() : undefined;
  const conf = join(dir, 'mosquitto.conf');
  const lines = [
    `listener ${port} 127.0.0.1`,
    'allow_anonymous false',
    `password_file ${files.passwordFile}`,
    `acl_file ${files.aclFile}`,
    `pid_file ${files.pidFile}`,
    ...(opts.persistence ? ['persistence true', `persistence_location ${dir}/`] : ['persistence false']),
    'log_dest stderr',
    'log_type error',
    'log_type warning',
    'log_type notice',
    'log_type information',
    'log_type subscribe',
  ];
  lines.push(...extraLines);
  if (nodePort) lines.push(`listener ${nodePort} 127.0.0.1`, ...MOSQUITTO_NODE_LISTENER_SETTINGS);
  // Started as root, Mosquitto would switch to the 'mosquitto' user, who cannot read our temp dir.
  if (process.getuid?.() === 0) lines.push('user root');
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
  const deadline = Date.now() + 10_000;
  while (!(await canConnect(port)) || (nodePort && !(await canConnect(nodePort)))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`mosquitto did not start: ${output}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    port,
    url: `mqtt://127.0.0.1:${port}`,
    nodeUrl: nodePort ? `mqtt://127.0.0.1:${nodePort}` : undefined,
    files,
    dir,
    log: () => output,
    stop: async () => {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
