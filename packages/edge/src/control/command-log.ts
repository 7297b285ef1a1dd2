// Persistent memory of commands: a redelivered command id is ignored, and a command that was
// running when the agent died (RESTART and SELF_UPDATE do that on purpose) is finished on return.
import type Database from 'better-sqlite3';

export type LoggedState = 'delivered' | 'running' | 'succeeded' | 'failed';

export interface LoggedCommand {
  id: string;
  type: string;
  state: LoggedState;
}

export class CommandLog {
  constructor(private readonly db: Database.Database) {}

  /** Records the first sight of a command; false when this id was already handled. */
  claim(id: string, type: string, now = Date.now()): boolean {
    const r = this.db
      .prepare(`INSERT OR IGNORE INTO commands(id, type, state, received_at) VALUES (?, ?, 'delivered', ?)`)
      .run(id, type, now);
    return r.changes === 1;
  }

  set(id: string, state: LoggedState, now = Date.now()): void {
    const final = state === 'succeeded' || state === 'failed';
    this.db
      .prepare(
        'UPDATE commands SET state = ?, finished_at = CASE WHEN ? THEN ? ELSE finished_at END WHERE id = ?',
      )
      .run(state, final ? 1 : 0, now, id);
  }

  get(id: string): LoggedCommand | undefined {
    return this.db.prepare('SELECT id, type, state FROM commands WHERE id = ?').get(id) as
      | LoggedCommand
      | undefined;
  }

  /** Commands that never reached a final state: the process stopped while they ran. */
  unfinished(): LoggedCommand[] {
    return this.db
      .prepare(
        `SELECT id, type, state FROM commands WHERE state IN ('delivered', 'running') ORDER BY received_at`,
      )
      .all() as LoggedCommand[];
  }

  /** Ids only need remembering for as long as the hub might redeliver them. */
  prune(olderThan: number): number {
    return this.db
      .prepare('DELETE FROM commands WHERE finished_at IS NOT NULL AND finished_at < ?')
      .run(olderThan).changes;
  }
}
