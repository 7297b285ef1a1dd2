// Switchable equipment (issue 13): one row per channel a node registered (a single relay is one
// channel '' of its equipment; a relay board has one per coil), with the state last asked for
// (desired) and the state the device last reported on read-back, and where the switch stands
// (pending → confirmed / failed with a reason). Equipment rows themselves live in the spine's
// `equipment` table, now written from the agent's channel inventory.
// org_control_settings: what an org allows its owners (manual control is on unless switched off).
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
CREATE TABLE equipment_channels (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  equipment_id uuid NOT NULL REFERENCES equipment (id),
  node_id uuid NOT NULL REFERENCES nodes (id),
  site_id uuid NOT NULL REFERENCES sites (id),
  channel text NOT NULL DEFAULT '',
  label text,
  capabilities jsonb NOT NULL DEFAULT '{}',
  -- Still in the node's latest inventory; a channel that went away keeps its history.
  present boolean NOT NULL DEFAULT true,
  desired_state text CHECK (desired_state IN ('on', 'off')),
  desired_at timestamptz,
  desired_by text,
  command_id uuid REFERENCES commands (id),
  reported_state text CHECK (reported_state IN ('on', 'off')),
  reported_at timestamptz,
  status text NOT NULL DEFAULT 'unknown' CHECK (status IN ('unknown', 'pending', 'confirmed', 'failed')),
  failure_reason text,
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (equipment_id, channel)
);
CREATE INDEX equipment_channels_site ON equipment_channels (site_id);
CREATE INDEX equipment_channels_node ON equipment_channels (node_id);
CREATE INDEX equipment_channels_command ON equipment_channels (command_id);

CREATE TABLE org_control_settings (
  org_id uuid PRIMARY KEY REFERENCES orgs (id),
  owner_control boolean NOT NULL DEFAULT true,
  updated_at timestamptz NOT NULL DEFAULT now()
);
`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE org_control_settings, equipment_channels`.execute(db);
}
