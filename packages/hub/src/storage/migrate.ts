import { Migrator } from 'kysely';
import type { Database } from './database.ts';
import { migrations } from './migrations/index.ts';
import { ensurePartitions } from './partitions.ts';

/** Applies every pending migration in order; safe to call from several hubs at once. */
export async function migrate(database: Database, partitionsAheadDays = 3): Promise<string[]> {
  const migrator = new Migrator({
    db: database.db,
    provider: { getMigrations: async () => migrations },
    migrationTableName: 'schema_migrations',
    migrationLockTableName: 'schema_migrations_lock',
    // Concerns own numbered ranges (see migrations/index.ts), so a new identity migration (01x) may
    // land after a control-plane one (02x) was applied; each is applied once all the same.
    allowUnorderedMigrations: true,
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error) throw error instanceof Error ? error : new Error(String(error));
  await ensurePartitions(database.db, new Date(), partitionsAheadDays);
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
