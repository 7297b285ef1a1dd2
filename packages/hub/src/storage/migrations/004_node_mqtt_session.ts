// Whether a node has a control channel: when the hub last heard from it over MQTT (its heartbeat
// on nodes/{id}/status, which only ever arrives through the broker). A node can upload over HTTP
// and look alive while it has no MQTT session at all — then no command reaches it, and the portal
// must say so instead of showing it simply online.
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE nodes ADD COLUMN mqtt_seen_at timestamptz`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE nodes DROP COLUMN mqtt_seen_at`.execute(db);
}
