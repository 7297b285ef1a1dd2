// Batch ids are chosen by the node per stream (telemetry, daily reports, events), so the same id
// may well appear in two streams: keyed on (node, batch id) alone, an events batch made a later
// telemetry batch with the same id look like a resend, answered "duplicate" and dropped. Each kind
// now has its own id space. Existing rows stay valid under the wider key.
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE ingest_batches
      DROP CONSTRAINT ingest_batches_pkey,
      ADD PRIMARY KEY (node_id, kind, batch_id);
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  // The narrower key cannot hold one id used by two kinds: keep the telemetry claim, whose loss
  // would let a resend store samples twice.
  await sql`
    DELETE FROM ingest_batches a USING ingest_batches b
      WHERE a.node_id = b.node_id AND a.batch_id = b.batch_id AND a.kind <> b.kind
        AND a.kind <> 'telemetry' AND (b.kind = 'telemetry' OR a.kind > b.kind);
    ALTER TABLE ingest_batches
      DROP CONSTRAINT ingest_batches_pkey,
      ADD PRIMARY KEY (node_id, batch_id);
  `.execute(db);
}
