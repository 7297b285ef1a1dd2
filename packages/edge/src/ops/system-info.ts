// Facts about the machine for the heartbeat. Anything unreadable (no thermal zone in a container,
// no git in a tarball install) is left out rather than guessed.
import { readFileSync } from 'node:fs';
import { statfs } from 'node:fs/promises';
import os from 'node:os';
import { run } from './exec.ts';

export interface SystemInfo {
  osVersion?: string;
  lastRebootAt: number;
  uptimeS: number;
  memFreeBytes: number;
  memTotalBytes: number;
  cpuTempC?: number;
  diskFreeBytes?: number;
}

let osVersion: string | undefined;
function readOsVersion(): string {
  if (osVersion) return osVersion;
  try {
    const text = readFileSync('/etc/os-release', 'utf8');
    const pretty = /^PRETTY_NAME="?([^"\n]*)"?/m.exec(text)?.[1];
    osVersion = `${pretty ?? os.type()} (${os.release()})`;
  } catch {
    osVersion = `${os.type()} ${os.release()}`;
  }
  return osVersion.slice(0, 200);
}

export async function systemInfo(diskPath: string): Promise<SystemInfo> {
  const uptimeS = os.uptime();
  const info: SystemInfo = {
    osVersion: readOsVersion(),
    uptimeS,
    lastRebootAt: Math.round(Date.now() - uptimeS * 1000),
    memFreeBytes: os.freemem(),
    memTotalBytes: os.totalmem(),
  };
  try {
    const milli = Number(readFileSync('/sys/class/thermal/thermal_zone0/temp', 'utf8').trim());
    if (Number.isFinite(milli)) info.cpuTempC = milli / 1000;
  } catch {}
  try {
    const fs = await statfs(diskPath);
    info.diskFreeBytes = fs.bavail * fs.bsize;
  } catch {}
  return info;
}

let commit: string | null | undefined;
/** The commit of the code that is running, from the release checkout (cached). */
export async function gitCommit(cwd: string): Promise<string | undefined> {
  if (commit === undefined) {
    const r = await run('git', ['rev-parse', '--short=12', 'HEAD'], { cwd, timeoutMs: 5000 });
    commit = r.code === 0 ? r.stdout.trim() : null;
  }
  return commit ?? undefined;
}
