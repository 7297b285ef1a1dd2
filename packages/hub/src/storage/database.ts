// The storage seam: one Kysely instance over either PostgreSQL (pg Pool) or PGlite (embedded,
// real Postgres in WASM). Same SQL and migrations on both; only bulk sample writes differ.
import { mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { createPgConfig } from '@electric-sql/pglite/node-postgres';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { DB } from './schema.ts';

// timestamptz → Date is the default; bigint (int8) counts come back as numbers, they fit.
pg.types.setTypeParser(20, (v) => Number(v));
pg.types.setTypeParser(1700, (v) => Number(v));

export type Engine = 'postgres' | 'pglite';

/**
 * True when `err` says the database connection went away (server restart, failover,
 * pg_terminate_backend): SQLSTATE class 08 (connection exception) or 57P01–57P03 (shutdown), or
 * the driver's own "Connection terminated". The work is not done and may simply be retried.
 */
export function isConnectionLost(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown } | undefined;
  const code = typeof e?.code === 'string' ? e.code : '';
  if (code.startsWith('08') || /^57P0[123]$/.test(code)) return true;
  if (code === 'ECONNRESET' || code === 'ECONNREFUSED' || code === 'EPIPE') return true;
  return (
    typeof e?.message === 'string' &&
    /Connection terminated|Client has encountered a connection error/.test(e.message)
  );
}

/**
 * Runs `work` again while it fails only because the database connection went away (up to
 * `attempts` tries, 100 ms doubling to 5 s between them: about 20 s in all). For work whose
 * acknowledgement waits for it (an MQTT QoS 1 batch is acknowledged once its handler returns), so a
 * short database outage delays the acknowledgement instead of acknowledging a batch never stored.
 * Any other error, and the last connection error, is thrown as it came.
 */
export async function retryWhileConnectionLost<T>(work: () => Promise<T>, attempts = 8): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await work();
    } catch (err) {
      if (i >= attempts || !isConnectionLost(err)) throw err;
      await new Promise((r) => setTimeout(r, Math.min(5_000, 100 * 2 ** (i - 1))));
    }
  }
}

export interface Database {
  readonly engine: Engine;
  readonly db: Kysely<DB>;
  readonly pool: pg.Pool;
  /** Set in embedded mode; bulk writes go through it directly. */
  readonly pglite: PGlite | undefined;
  /**
   * PostgreSQL only: one connection of its own for session-level advisory locks (jobs/lock.ts).
   * A lock held on a connection from the work pool while the job's queries need more connections
   * from that same pool deadlocks once the others are all busy; here holding a lock costs no
   * pool connection. Never closed for idleness: closing it would silently drop the locks it holds.
   */
  readonly lockPool?: pg.Pool | undefined;
  /**
   * Where dashboard, telemetry and fleet-overview reads go (through withTenantRead, identity/
   * tenant.ts): a streaming replica's pool when DATABASE_READ_URL is set, else `db` itself. Never
   * for writes, nor for a read that must see this request's own writes (the replica may lag).
   */
  readonly readDb: Kysely<DB>;
  /** The replica's pool, set only when DATABASE_READ_URL is (PostgreSQL only; PGlite has no replica). */
  readonly readPool?: pg.Pool | undefined;
  close(): Promise<void>;
}

export interface OpenOptions {
  databaseUrl?: string | undefined;
  /** PGlite data directory; 'memory://' keeps it in memory (tests). */
  dataDir?: string;
  poolSize?: number;
  /** PGlite only: start from this dump (dumpDataDir) instead of an empty cluster. */
  loadDataDir?: Blob;
  /**
   * PostgreSQL only: a hot-standby replica of databaseUrl for reads that may lag (readDb).
   * Ignored by PGlite, which is one embedded database with no replication.
   */
  readUrl?: string | undefined;
  /** Told about every lost connection (PostgreSQL only), e.g. to log it. */
  onConnectionError?: (err: Error) => void;
}

export async function openDatabase(opts: OpenOptions): Promise<Database> {
  if (opts.databaseUrl) {
    const pool = new pg.Pool({
      connectionString: opts.databaseUrl,
      max: opts.poolSize ?? Number(process.env.DATABASE_POOL_SIZE ?? 16),
    });
    const lost = opts.onConnectionError ?? (() => {});
    // A connection can die at any moment (server restart, failover, pg_terminate_backend). pg-pool
    // listens for 'error' only on idle clients: a client that is checked out — held by a job lock,
    // the telemetry writer, a transaction — emits 'error' with no listener, which kills the process.
    // Every client gets a listener for its whole life instead. The work on it fails on its own
    // (its query rejects with the same error), the pool drops the dead client on release (it is no
    // longer queryable) and opens a fresh one on the next checkout.
    pool.on('connect', (client) => {
      client.on('error', lost);
    });
    // An idle client lost its connection; the pool replaces it on next use.
    pool.on('error', lost);
    const lockPool = new pg.Pool({ connectionString: opts.databaseUrl, max: 1, idleTimeoutMillis: 0 });
    lockPool.on('connect', (client) => {
      client.on('error', lost);
    });
    lockPool.on('error', lost);
    const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool }) });
    // The replica gets the same listeners: a standby restarting must not kill the process either.
    const readPool = opts.readUrl
      ? new pg.Pool({
          connectionString: opts.readUrl,
          max: opts.poolSize ?? Number(process.env.DATABASE_POOL_SIZE ?? 16),
          application_name: 'wattfleet-hub-read',
        })
      : undefined;
    readPool?.on('connect', (client) => {
      client.on('error', lost);
    });
    readPool?.on('error', lost);
    const readDb = readPool ? new Kysely<DB>({ dialect: new PostgresDialect({ pool: readPool }) }) : db;
    return {
      engine: 'postgres',
      db,
      pool,
      pglite: undefined,
      lockPool,
      readDb,
      readPool,
      close: async () => {
        await db.destroy();
        await lockPool.end();
        if (readDb !== db) await readDb.destroy();
      },
    };
  }
  const dataDir = opts.dataDir ?? 'memory://';
  if (!dataDir.startsWith('memory://')) mkdirSync(dataDir, { recursive: true });
  const pglite = await PGlite.create(dataDir, opts.loadDataDir ? { loadDataDir: opts.loadDataDir } : {});
  // PGlite is one connection: a pool of one serialises transactions instead of interleaving them.
  const pool = new pg.Pool({ ...(createPgConfig(pglite) as object), max: 1 });
  const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool }) });
  return {
    engine: 'pglite',
    db,
    pool,
    pglite,
    readDb: db,
    close: async () => {
      await db.destroy();
      await pglite.close();
    },
  };
}
