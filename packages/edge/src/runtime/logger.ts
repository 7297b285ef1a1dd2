// Logs go to stdout (journald under systemd) and, when configured, to a file FETCH_LOGS can read.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import pino, { type Logger } from 'pino';

export function createLogger(opts: {
  level: string;
  file?: string;
  /** Sees every error-level (and worse) line, e.g. to notice bursts of them. */
  onError?: (message: string) => void;
}): Logger {
  const onError = opts.onError;
  const base: pino.LoggerOptions = {
    level: opts.level,
    ...(onError
      ? {
          hooks: {
            logMethod(args, method, level) {
              if (level >= 50) onError(errorText(args));
              return method.apply(this, args);
            },
          },
        }
      : {}),
  };
  if (!opts.file) return pino(base);
  mkdirSync(dirname(opts.file), { recursive: true });
  const streams = pino.multistream([
    { level: opts.level as pino.Level, stream: process.stdout },
    {
      level: opts.level as pino.Level,
      stream: pino.destination({ dest: opts.file, mkdir: true, sync: false }),
    },
  ]);
  return pino(base, streams);
}

/** The message of a pino call: `(msg)`, `(obj, msg)` or `(err)`. */
function errorText(args: unknown[]): string {
  const [first, second] = args;
  if (typeof first === 'string') return first;
  if (typeof second === 'string') return second;
  if (first instanceof Error) return first.message;
  const err = (first as { err?: unknown } | undefined)?.err;
  return err instanceof Error ? err.message : 'error';
}
