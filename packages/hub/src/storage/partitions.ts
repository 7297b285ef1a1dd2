// Daily partitions of `samples`. Created ahead by a job and on demand by ingest (a backfill may
// reach days the job never made); dropped whole by retention, never deleted row by row.
import { type Kysely, sql } from 'kysely';

const DAY_MS = 86_400_000;
const known = new WeakMap<object, Set<string>>();

export function partitionName(dayStartMs: number): string {
  return `samples_p${new Date(dayStartMs).toISOString().slice(0, 10).replaceAll('-', '')}`;
}

export function utcDayStart(ms: number): number {
  return Math.floor(ms / DAY_MS) * DAY_MS;
}

// biome-ignore lint/suspicious/noExplicitAny: partitions work on any schema.
type AnyDb = Kysely<any>;

/** Makes sure a partition exists for every UTC day in [fromMs, toMs]. Cheap when cached. */
export async function ensurePartitionsForRange(db: AnyDb, fromMs: number, toMs: number): Promise<void> {
  let cache = known.get(db);
  if (!cache) {
    cache = new Set();
    known.set(db, cache);
  }
  const missing: number[] = [];
  for (let d = utcDayStart(fromMs); d <= toMs; d += DAY_MS) {
    if (!cache.has(partitionName(d))) missing.push(d);
  }
  if (missing.length === 0) return;
  await db.transaction().execute(async (trx) => {
    // Two hubs creating the same partition would race on the catalogue; serialise them.
    await sql`SELECT pg_advisory_xact_lock(hashtext('wattfleet.partitions'))`.execute(trx);
    for (const d of missing) {
      const name = partitionName(d);
      const from = new Date(d).toISOString();
      const to = new Date(d + DAY_MS).toISOString();
      await sql
        .raw(
          `CREATE TABLE IF NOT EXISTS ${name} PARTITION OF samples FOR VALUES FROM ('${from}') TO ('${to}')`,
        )
        .execute(trx);
    }
  });
  for (const d of missing) cache.add(partitionName(d));
}

export async function ensurePartitions(
  db: AnyDb,
  now: Date,
  aheadDays: number,
  behindDays = 1,
): Promise<void> {
  await ensurePartitionsFor(db, now.getTime() - behindDays * DAY_MS, now.getTime() + aheadDays * DAY_MS);
}

const ensurePartitionsFor = ensurePartitionsForRange;

/** Lists sample partitions with their UTC day. */
export async function listPartitions(db: AnyDb): Promise<{ name: string; day: number }[]> {
  const { rows } = await sql<{ name: string }>`
    SELECT c.relname AS name FROM pg_inherits i
    JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
    WHERE p.relname = 'samples' ORDER BY c.relname`.execute(db);
  return rows
    .map((r) => {
      const m = /^samples_p(\d{4})(\d{2})(\d{2})$/.exec(r.name);
      return m ? { name: r.name, day: Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) } : undefined;
    })
    .filter((p): p is { name: string; day: number } => p !== undefined);
}

/** Drops partitions whose whole day lies before now − rawDays. Returns the dropped names. */
export async function dropExpiredPartitions(db: AnyDb, now: Date, rawDays: number): Promise<string[]> {
  const cutoff = now.getTime() - rawDays * DAY_MS;
  const dropped: string[] = [];
  for (const p of await listPartitions(db)) {
    if (p.day + DAY_MS <= cutoff) {
      await sql.raw(`DROP TABLE IF EXISTS ${p.name}`).execute(db);
      known.get(db)?.delete(p.name);
      dropped.push(p.name);
    }
  }
  return dropped;
}

/** Oldest instant raw samples are still kept for: the start of the oldest partition retention keeps. */
export function rawRetentionStart(now: number, rawDays: number): number {
  return utcDayStart(now - rawDays * DAY_MS);
}
