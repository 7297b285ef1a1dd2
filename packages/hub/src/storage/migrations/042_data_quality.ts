// Data-quality findings (issue 17 item 6): what ingest found against the data contract of the
// equipment a sample comes from (@wattfleet/devices contracts). Aggregated: one row per node,
// equipment, metric and rule with a count, the first and last sample time it was seen at and
// the latest offending value; never one row per sample. The samples themselves are stored
// regardless. A node resource of a site: the same row-level security as every other site table.
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
CREATE TABLE data_quality_findings (
  id bigserial PRIMARY KEY,
  node_id uuid NOT NULL REFERENCES nodes (id),
  site_id uuid NOT NULL REFERENCES sites (id),
  equipment text NOT NULL,
  metric text NOT NULL,
  rule text NOT NULL CHECK (rule IN ('out_of_range', 'not_integer', 'required_missing')),
  contract text NOT NULL,
  count int8 NOT NULL,
  first_seen_at timestamptz NOT NULL,
  last_seen_at timestamptz NOT NULL,
  example_value float8,
  message text NOT NULL,
  -- Hub time of the last batch that added to it (what the alert rule looks at).
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (node_id, equipment, metric, rule)
);
CREATE INDEX data_quality_findings_site ON data_quality_findings (site_id, updated_at);
`.execute(db);
  await sql`SELECT wattfleet_enable_site_rls('data_quality_findings')`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE data_quality_findings`.execute(db);
}
