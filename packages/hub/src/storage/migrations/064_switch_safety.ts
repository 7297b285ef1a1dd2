// Switching safety (issue 13.6), enforced in the hub's single switch path whatever asked for the
// switch (manual, schedule, scene, rule):
// - per-channel limits on equipment_channels: minimum on and off times and a maximum number of
//   state changes per hour (0 / NULL = no limit);
// - equipment_switch_log: every accepted state change with when and what asked for it — what the
//   limits count and measure from (kept apart from the audit log, which records refusals too);
// - site_automation_settings: the per-site "automation paused" switch (no row = running).
// Both new tables are site resources under the same row-level security as every site table.
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
ALTER TABLE equipment_channels
  ADD COLUMN min_on_s integer NOT NULL DEFAULT 0 CHECK (min_on_s >= 0),
  ADD COLUMN min_off_s integer NOT NULL DEFAULT 0 CHECK (min_off_s >= 0),
  ADD COLUMN max_switches_per_hour integer CHECK (max_switches_per_hour > 0);

CREATE TABLE equipment_switch_log (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  channel_id uuid NOT NULL REFERENCES equipment_channels (id),
  site_id uuid NOT NULL REFERENCES sites (id),
  at timestamptz NOT NULL,
  state text NOT NULL CHECK (state IN ('on', 'off')),
  origin text NOT NULL,
  origin_id text
);
CREATE INDEX equipment_switch_log_channel_at ON equipment_switch_log (channel_id, at);

CREATE TABLE site_automation_settings (
  site_id uuid PRIMARY KEY REFERENCES sites (id),
  paused boolean NOT NULL DEFAULT false,
  changed_by text,
  reason text,
  updated_at timestamptz NOT NULL DEFAULT now()
);
`.execute(db);
  await sql`SELECT wattfleet_enable_site_rls('equipment_switch_log')`.execute(db);
  await sql`SELECT wattfleet_enable_site_rls('site_automation_settings')`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE site_automation_settings, equipment_switch_log`.execute(db);
  await sql`ALTER TABLE equipment_channels DROP COLUMN min_on_s, DROP COLUMN min_off_s, DROP COLUMN max_switches_per_hour`.execute(
    db,
  );
}
