// A serial device for tests: `socat` makes a pseudo-terminal and bridges it to a TCP port (where
// an RTU stand-in listens). The agent opens the pty's path with the real serialport stack, exactly
// as it opens /dev/ttyUSB0. Started and stopped per test; the link lives in a temporary directory.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface SerialBridge {
  /** The serial device path (a symlink to the pty). */
  readonly path: string;
  close(): Promise<void>;
}

export async function startSerialBridge(tcpPort: number): Promise<SerialBridge> {
  const dir = mkdtempSync(join(tmpdir(), 'wf-tty-'));
  const path = join(dir, 'ttyWF0');
  // raw,echo=0: a byte-exact line, as a USB RS-485 adapter is; the TCP side connects at start.
  const child: ChildProcess = spawn('socat', [`PTY,raw,echo=0,link=${path}`, `TCP:127.0.0.1:${tcpPort}`], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d) => {
    stderr += d;
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  for (let i = 0; !existsSync(path); i++) {
    if (child.exitCode !== null || i > 200) {
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`socat did not make ${path}: ${stderr || `exit ${child.exitCode}`}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  return {
    path,
    async close() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
