// Run a periodic job on one hub only. Several hubs share one PostgreSQL; a session-level advisory
// lock, held for the duration of `fn` on the database's own lock connection (never one of the work
// pool's: a job holding one pool connection while its queries wait for others deadlocks when the
// pool is exhausted), makes the other hubs skip this round instead of waiting (their next tick
// tries again).
//
// PGlite is embedded: only one process can own its data directory, and its pool has a single
// connection that `fn` itself needs, so there the process-local guard below is the whole lock.
import { type Kysely, sql } from 'kysely';
import type pg from 'pg';
import type { Database } from '../storage/database.ts';

export type ExclusiveResult<T> = { ran: true; value: T } | { ran: false };

// biome-ignore lint/suspicious/noExplicitAny: any Kysely schema; the lock touches no table.
type AnyKysely = Kysely<any>;

/** Lock names running in this process, per database, so overlapping ticks do not stack either. */
const running = new WeakMap<object, Set<string>>();
const embedded = new WeakMap<object, Promise<boolean>>();

function isEmbedded(db: AnyKysely): Promise<boolean> {
  let known = embedded.get(db);
  if (!known) {
    known = sql<{ v: string }>`SELECT version() AS v`
      .execute(db)
      .then((r) => /PGlite|emscripten/i.test(r.rows[0]?.v ?? ''));
    embedded.set(db, known);
  }
  return known;
}

/** Runs `fn` unless another holder (this process or another hub) has `lockName`; never waits. */
export async function runExclusive<T>(
  target: AnyKysely | Database,
  lockName: string,
  fn: () => Promise<T>,
): Promise<ExclusiveResult<T>> {
  const db: AnyKysely = 'engine' in target ? target.db : target;
  let names = running.get(db);
  if (!names) {
    names = new Set();
    running.set(db, names);
  }
  if (names.has(lockName)) return { ran: false };
  names.add(lockName);
  try {
    const pglite = 'engine' in target ? target.engine === 'pglite' : await isEmbedded(db);
    if (pglite) return { ran: true, value: await fn() };
    const key = `wattfleet:${lockName}`;
    const lockPool = 'engine' in target ? target.lockPool : undefined;
    if (lockPool) return await withLockSession(lockPool, key, fn);
    return await db.connection().execute(async (conn) => {
      const got = await sql<{
        ok: boolean;
      }>`SELECT pg_try_advisory_lock(hashtextextended(${key}, 0)) AS ok`.execute(conn);
      if (!got.rows[0]?.ok) return { ran: false } as const;
      try {
        return { ran: true, value: await fn() } as const;
      } finally {
        // If the connection died, the lock died with it; nothing to undo.
        await sql`SELECT pg_advisory_unlock(hashtextextended(${key}, 0))`.execute(conn).catch(() => {});
      }
    });
  } finally {
    names.delete(lockName);
  }
}

/**
 * The lock lives on the database's lock connection (one per hub, shared by all its locks: a
 * session can hold many advisory locks), so `fn` has the whole work pool to itself.
 */
async function withLockSession<T>(
  lockPool: pg.Pool,
  key: string,
  fn: () => Promise<T>,
): Promise<ExclusiveResult<T>> {
  const got = await lockPool.query<{ ok: boolean }>(
    'SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS ok',
    [key],
  );
  if (!got.rows[0]?.ok) return { ran: false };
  try {
    return { ran: true, value: await fn() };
  } finally {
    // If the connection died meanwhile, the lock died with it and this unlock answers false.
    await lockPool.query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [key]).catch(() => {});
  }
}
