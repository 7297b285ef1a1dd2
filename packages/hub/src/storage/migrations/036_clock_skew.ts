// A node whose clock is outside the signature window is refused over HTTP. The refusal is kept on
// the node (when, and by how much), so the clock_skew rule can raise an alert instead of the node
// being refused forever in silence; the next request inside the window clears it.
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE nodes
      ADD COLUMN clock_skew_at timestamptz,
      ADD COLUMN clock_skew_ms integer; -- clamped to ±2e9 ms (±23 days) like clock_offset_ms
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE nodes DROP COLUMN clock_skew_at, DROP COLUMN clock_skew_ms`.execute(db);
}
