// Where FETCH_LOGS reads from: the agent's own log file (configured under logging.file). Reading
// from the end keeps memory flat however large the file has grown.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

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
