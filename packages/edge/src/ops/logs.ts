// Where FETCH_LOGS reads from: the agent's own log file (logging.file) when configured, else the
// systemd journal of the agent's unit. Reading from the end keeps memory flat.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { run, tail } from './exec.ts';
import { AGENT_UNIT } from './supervisor.ts';

export interface LogSource {
  tail(lines: number): Promise<string[]>;
}

export class FileLogSource implements LogSource {
  constructor(private readonly path: string) {}

  async tail(lines: number): Promise<string[]> {
    const fd = openSync(this.path, 'r');
    try {
      const size = fstatSync(fd).size;
      const chunk = 64 * 1024;
      let pos = size;
      let text = '';
      while (pos > 0 && text.split('\n').length <= lines + 1) {
        const len = Math.min(chunk, pos);
        pos -= len;
        const buf = Buffer.alloc(len);
        readSync(fd, buf, 0, len, pos);
        text = buf.toString('utf8') + text;
      }
      const all = text.split('\n');
      if (all.at(-1) === '') all.pop();
      return all.slice(-lines);
    } finally {
      closeSync(fd);
    }
  }
}

/** Under systemd without a log file: the unit's journal (user needs the systemd-journal group). */
export class JournalLogSource implements LogSource {
  async tail(lines: number): Promise<string[]> {
    const n = String(Math.max(1, Math.min(5000, Math.trunc(lines))));
    const r = await run('journalctl', ['--unit', AGENT_UNIT, '--lines', n, '--no-pager', '--output', 'cat'], {
      timeoutMs: 30_000,
    });
    if (r.code !== 0) throw new Error(`journalctl failed: ${tail(r.stderr, 3)}`);
    return r.stdout.split('\n').filter((l, i, all) => l !== '' || i < all.length - 1);
  }
}
