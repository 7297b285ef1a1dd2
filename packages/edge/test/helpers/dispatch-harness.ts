// A dispatcher over a real SQLite command log, recording its replies: what the command tests drive.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import pino from 'pino';
import { CommandLog } from '../../src/control/command-log.ts';
import { Dispatcher, type HandlerTable, type Response } from '../../src/control/dispatcher.ts';
import { Outbox } from '../../src/outbox/outbox.ts';

/** A temp directory for the calling test file, removed after it. */
export const dir = mkdtempSync(join(tmpdir(), 'wf-commands-'));
after(() => rmSync(dir, { recursive: true, force: true }));
export const logger = pino({ level: 'silent' });
let n = 0;

export function harness(handlers: HandlerTable, dbPath = join(dir, `c${n++}.db`)) {
  const outbox = Outbox.open(dbPath, { maxBytes: 1 << 30 });
  const replies: Response[] = [];
  const dispatcher = new Dispatcher(new CommandLog(outbox.db), handlers, (r) => void replies.push(r), {
    logger,
  });
  return { outbox, replies, dispatcher, dbPath, states: () => replies.map((r) => r.state) };
}

export const envelope = (type: string, args: Record<string, unknown> = {}, ttlMs = 60_000) => ({
  id: randomUUID(),
  type,
  args,
  issuedAt: Date.now(),
  expiresAt: Date.now() + ttlMs,
});
