// Indexes the dashboard reads need (issue 15, dashboard bench). Telemetry reads daily rollups by
// series and bucket time (the portal asks for instants, not local dates), which the primary key
// (series_id, day) only serves by reading every day a series has ever had; the fleet overview and
// fleet totals look up the open alerts of a set of sites, which alerts_site (site_id, opened_at)
// serves by reading resolved alerts too.
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
CREATE INDEX rollup_daily_series_bucket ON rollup_daily (series_id, bucket);
CREATE INDEX alerts_site_open ON alerts (site_id) WHERE state <> 'resolved';
`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP INDEX rollup_daily_series_bucket, alerts_site_open`.execute(db);
}
