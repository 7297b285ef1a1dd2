// Small named values the agent keeps across restarts (in the state file, so they share its WAL
// and its fsync policy): restart bookkeeping, equipment reachability, the last daily report.
import type Database from 'better-sqlite3';
import { prepared } from './prepared.ts';

export class AgentState {
  constructor(private readonly db: Database.Database) {}

  get<T>(key: string): T | undefined {
    const row = prepared(this.db, 'SELECT value FROM agent_state WHERE key = ?').get(key) as
      | { value: string }
      | undefined;
    return row ? (JSON.parse(row.value) as T) : undefined;
  }

  set(key: string, value: unknown): void {
    prepared(
      this.db,
      'INSERT INTO agent_state(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value',
    ).run(key, JSON.stringify(value));
  }

  delete(key: string): void {
    prepared(this.db, 'DELETE FROM agent_state WHERE key = ?').run(key);
  }
}
