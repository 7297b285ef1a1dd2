// A rollup bucket can hold energy without holding a reading: a counter read at 09:59 and 11:00 put
// a share of its increase into 10–11 (rollups/compute.ts). Such a bucket has count 0 and no
// min/max/first/last, so those columns may be null.
import { type Kysely, sql } from 'kysely';

const COLUMNS = ['min', 'max', 'first', 'last', 'first_ts', 'last_ts'];

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const table of ['rollup_hourly', 'rollup_daily']) {
    const alters = COLUMNS.map((c) => `ALTER COLUMN ${c} DROP NOT NULL`).join(', ');
    await sql.raw(`ALTER TABLE ${table} ${alters}`).execute(db);
  }
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ['rollup_hourly', 'rollup_daily']) {
    await sql.raw(`DELETE FROM ${table} WHERE count = 0`).execute(db);
    const alters = COLUMNS.map((c) => `ALTER COLUMN ${c} SET NOT NULL`).join(', ');
    await sql.raw(`ALTER TABLE ${table} ${alters}`).execute(db);
  }
}
