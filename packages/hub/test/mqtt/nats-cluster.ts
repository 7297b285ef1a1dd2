// A real 3-server NATS cluster for tests: JetStream (replicas 3 possible), an MQTT listener on
// every server, one shared authorization file written by the hub's generator, all on free
// loopback ports with store directories in one temp dir; stop() kills all and removes the dir.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NatsAuthFiles } from '../../src/mqtt/nats-files.ts';
import { freePort } from './mosquitto.ts';

export const NATS_SERVER = process.env.NATS_SERVER_BIN ?? '/usr/sbin/nats-server';

export interface TestNatsServer {
  name: string;
  clientUrl: string;
  mqttUrl: string;
  pidFile: string;
  proc: ChildProcess | undefined;
}

export interface TestNatsCluster {
  servers: TestNatsServer[];
  files: NatsAuthFiles;
  dir: string;
  log: () => string;
  /** SIGKILLs one server (the others keep the JetStream quorum). */
  kill(index: number): void;
  stop(): Promise<void>;
}

/** `authContent` is what natsAuthorization() rendered; it is written before the servers start. */
export async function startNatsCluster(authContent: string, size = 3): Promise<TestNatsCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'wf-nats-'));
  const authFile = join(dir, 'auth.conf');
  writeFileSync(authFile, authContent);
  const ports: { client: number; cluster: number; mqtt: number }[] = [];
  for (let i = 0; i < size; i++) {
    ports.push({ client: await freePort(), cluster: await freePort(), mqtt: await freePort() });
  }
  let logs = '';
  const servers: TestNatsServer[] = ports.map((p, i) => {
    const name = `wf-n${i + 1}`;
    const pidFile = join(dir, `${name}.pid`);
    const routes = ports.filter((_, j) => j !== i).map((o) => `"nats-route://127.0.0.1:${o.cluster}"`);
    const conf = join(dir, `${name}.conf`);
    writeFileSync(
      conf,
      [
        `server_name: ${name}`,
        `listen: "127.0.0.1:${p.client}"`,
        `pid_file: "${pidFile}"`,
        `jetstream { store_dir: "${join(dir, name)}" }`,
        `cluster { name: "wf-test", listen: "127.0.0.1:${p.cluster}", routes: [${routes.join(', ')}] }`,
        `mqtt { listen: "127.0.0.1:${p.mqtt}", stream_replicas: ${Math.min(size, 3)} }`,
        'include "auth.conf"',
        '',
      ].join('\n'),
    );
    const proc = spawn(NATS_SERVER, ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
    proc.stderr?.on('data', (d: Buffer) => {
      logs += `[${name}] ${d.toString()}`;
    });
    return {
      name,
      clientUrl: `nats://127.0.0.1:${p.client}`,
      mqttUrl: `mqtt://127.0.0.1:${p.mqtt}`,
      pidFile,
      proc,
    };
  });
  const stopAll = async () => {
    await Promise.all(
      servers.map(async (s) => {
        const proc = s.proc;
        s.proc = undefined;
        if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
        const exited = new Promise((r) => proc.once('exit', r));
        proc.kill('SIGKILL');
        await exited;
      }),
    );
    rmSync(dir, { recursive: true, force: true });
  };
  return {
    servers,
    files: { authFile, pidFiles: servers.map((s) => s.pidFile) },
    dir,
    log: () => logs,
    kill(index) {
      servers[index]?.proc?.kill('SIGKILL');
    },
    stop: stopAll,
  };
}
