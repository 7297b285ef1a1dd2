// Logs go to stdout (journald under systemd) and, when configured, to a file FETCH_LOGS can read.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import pino, { type Logger } from 'pino';

export function createLogger(opts: { level: string; file?: string }): Logger {
  if (!opts.file) return pino({ level: opts.level });
  mkdirSync(dirname(opts.file), { recursive: true });
  const streams = pino.multistream([
    { level: opts.level as pino.Level, stream: process.stdout },
    {
      level: opts.level as pino.Level,
      stream: pino.destination({ dest: opts.file, mkdir: true, sync: false }),
    },
  ]);
  return pino({ level: opts.level }, streams);
}
