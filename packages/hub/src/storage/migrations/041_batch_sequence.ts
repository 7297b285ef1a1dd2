// Batch sequence numbers (issue 17 item 6). Per node a watermark (the highest telemetry batch
// seq stored) and the holes below it: a run of sequence numbers never received while a later one
// was is a LOST batch range. Ingest writes the watermark once per node per group commit and
// touches the gaps table only when a hole opens or a late batch fills one (ingest/batch-seq.ts).
// Both are node resources of a site: the same row-level security as every other site table.
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
CREATE TABLE node_batch_seq (
  node_id uuid PRIMARY KEY REFERENCES nodes (id),
  site_id uuid NOT NULL REFERENCES sites (id),
  max_seq int8 NOT NULL,
  -- The watermark before the last update: the update's RETURNING reads it, so the writer learns
  -- the previous value under the row lock without a separate read.
  prev_max int8,
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX node_batch_seq_site ON node_batch_seq (site_id);

CREATE TABLE batch_seq_gaps (
  id bigserial PRIMARY KEY,
  node_id uuid NOT NULL REFERENCES nodes (id),
  site_id uuid NOT NULL REFERENCES sites (id),
  from_seq int8 NOT NULL,
  to_seq int8 NOT NULL CHECK (to_seq >= from_seq),
  -- The earliest sample of the batch that revealed the hole: the lost batches held readings
  -- from before it (completeness shows the gap on that local day).
  next_sample_at timestamptz,
  detected_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (node_id, from_seq)
);
CREATE INDEX batch_seq_gaps_site ON batch_seq_gaps (site_id);
`.execute(db);
  await sql`SELECT wattfleet_enable_site_rls('node_batch_seq')`.execute(db);
  await sql`SELECT wattfleet_enable_site_rls('batch_seq_gaps')`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE batch_seq_gaps, node_batch_seq`.execute(db);
}
