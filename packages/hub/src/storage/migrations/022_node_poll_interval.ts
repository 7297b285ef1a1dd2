// A node's sample interval is what the node reports (enrollment, heartbeat), not a guess: the
// column held a default of 10 s that nothing but the demo ever changed, so a node reading every
// 60 s looked 83 % incomplete. NULL now means "not reported" (completeness then learns the
// interval from the data). Fractional: agents may poll every 0.5 s.
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE nodes
      ALTER COLUMN sample_interval_s TYPE double precision,
      ALTER COLUMN sample_interval_s DROP DEFAULT,
      ALTER COLUMN sample_interval_s DROP NOT NULL;
    -- 10 was only ever the column default, never a value a node reported.
    UPDATE nodes SET sample_interval_s = NULL WHERE sample_interval_s = 10;
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    UPDATE nodes SET sample_interval_s = 10 WHERE sample_interval_s IS NULL;
    ALTER TABLE nodes
      ALTER COLUMN sample_interval_s TYPE integer USING greatest(1, round(sample_interval_s)),
      ALTER COLUMN sample_interval_s SET DEFAULT 10,
      ALTER COLUMN sample_interval_s SET NOT NULL;
  `.execute(db);
}
