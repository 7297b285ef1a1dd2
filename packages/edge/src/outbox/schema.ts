// SQLite layout of the agent's state file. One file holds the outbox, the local history for the
// dashboard and the control channel's memory, so one WAL and one fsync policy cover them all.
import type Database from 'better-sqlite3';

const MIGRATIONS: string[] = [
  `
  CREATE TABLE samples (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    metric TEXT NOT NULL,
    equipment TEXT,
    ts INTEGER NOT NULL,
    value REAL NOT NULL,
    bytes INTEGER NOT NULL,
    appended_at INTEGER NOT NULL,
    batch_id TEXT REFERENCES batches(id)
  );
  CREATE INDEX samples_unbatched ON samples(batch_id, seq);
  CREATE TABLE batches (
    id TEXT PRIMARY KEY,
    first_seq INTEGER NOT NULL,
    count INTEGER NOT NULL,
    digest TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT
  );
  CREATE TABLE poison (
    id TEXT PRIMARY KEY,
    moved_at INTEGER NOT NULL,
    reason TEXT NOT NULL,
    body TEXT NOT NULL
  );
  CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
  INSERT INTO counters(name, value) VALUES
    ('appended', 0), ('acked', 0), ('dropped', 0), ('poisoned', 0), ('bytes', 0);
  CREATE TABLE history (ts INTEGER NOT NULL, metric TEXT NOT NULL, equipment TEXT NOT NULL, value REAL NOT NULL);
  CREATE INDEX history_ts ON history(ts);
  CREATE TABLE daily (
    date TEXT NOT NULL, equipment TEXT NOT NULL, metric TEXT NOT NULL,
    min REAL NOT NULL, max REAL NOT NULL, sum REAL NOT NULL, count INTEGER NOT NULL,
    first REAL NOT NULL, last REAL NOT NULL,
    PRIMARY KEY (date, equipment, metric)
  );
  CREATE TABLE commands (
    id TEXT PRIMARY KEY,
    type TEXT NOT NULL,
    state TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    finished_at INTEGER
  );
  `,
  // 2: events and daily reports for the hub (same durability as telemetry: a row is committed
  // before anything is sent, a formed batch keeps its id and bytes until the hub has it), the
  // agent's small persistent state (restart bookkeeping, equipment reachability, last daily
  // report), and per-day energy from the counters.
  `
  CREATE TABLE reports (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    channel TEXT NOT NULL CHECK (channel IN ('events', 'daily')),
    item TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    batch_id TEXT REFERENCES report_batches(id)
  );
  CREATE INDEX reports_unbatched ON reports(channel, batch_id, seq);
  CREATE TABLE report_batches (
    id TEXT PRIMARY KEY,
    channel TEXT NOT NULL,
    first_seq INTEGER NOT NULL,
    count INTEGER NOT NULL,
    body TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT
  );
  INSERT INTO counters(name, value) VALUES
    ('reports_appended', 0), ('reports_acked', 0), ('reports_dropped', 0), ('reports_poisoned', 0);
  CREATE TABLE agent_state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
  CREATE TABLE counter_last (
    equipment TEXT NOT NULL, metric TEXT NOT NULL, ts INTEGER NOT NULL, value REAL NOT NULL,
    PRIMARY KEY (equipment, metric)
  );
  CREATE TABLE daily_energy (
    date TEXT NOT NULL, equipment TEXT NOT NULL, metric TEXT NOT NULL, wh REAL NOT NULL,
    PRIMARY KEY (date, equipment, metric)
  );
  `,
  // 3: per-node batch sequence numbers (issue 17): a telemetry batch gets the next number when it
  // is formed and keeps it on every resend, so the hub can tell a batch that never arrived.
  // Batches formed before this migration have none (NULL) and are sent as before.
  `
  ALTER TABLE batches ADD COLUMN seq INTEGER;
  INSERT INTO counters(name, value) VALUES ('batch_seq', 0);
  `,
];

/** Applies pending schema migrations; `user_version` records how far this file has come. */
export function migrateState(db: Database.Database): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  for (let v = current; v < MIGRATIONS.length; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v]!);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
}

export function openStateDb(path: string, DatabaseCtor: typeof Database): Database.Database {
  const db = new DatabaseCtor(path);
  db.pragma('journal_mode = WAL');
  // FULL: a power cut must not lose a formed batch, or the same samples could later leave under a
  // new id. Cheap enough because the agent commits once per poll cycle, not once per reading.
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  // The bound (outbox.maxBytes) counts the pages of the database itself. The WAL beside it grows
  // to ~4 MB between automatic checkpoints; this truncates it back after each one.
  db.pragma(`journal_size_limit = ${4 * 1024 * 1024}`);
  // 512 KiB of page cache instead of SQLite's 2 MiB: the outbox works at the tail of its tables,
  // and what a dashboard query reads again comes from the OS page cache, not the agent's memory.
  db.pragma('cache_size = -512');
  migrateState(db);
  return db;
}
