// Scenes (issue 13.4): named presets of channel states across the nodes of a site. A scene has a
// version that goes up with every edit, so each activation (and each switch it caused) says which
// version acted. An activation keeps one row per target with its outcome, updated as the commands
// confirm or fail (an offline node's target stays pending until it returns or the TTL expires).
// All three tables are site resources under the usual row-level security.
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
CREATE TABLE scenes (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  site_id uuid NOT NULL REFERENCES sites (id),
  name text NOT NULL,
  description text,
  version integer NOT NULL DEFAULT 1,
  ttl_s integer NOT NULL DEFAULT 600 CHECK (ttl_s > 0),
  -- [{ "channelId": uuid, "state": "on" | "off" }], checked against the site's channels on save.
  targets jsonb NOT NULL DEFAULT '[]',
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (site_id, name)
);

CREATE TABLE scene_activations (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  scene_id uuid NOT NULL REFERENCES scenes (id) ON DELETE CASCADE,
  site_id uuid NOT NULL REFERENCES sites (id),
  scene_name text NOT NULL,
  scene_version integer NOT NULL,
  activated_by text NOT NULL,
  settled_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX scene_activations_scene ON scene_activations (scene_id, created_at);

CREATE TABLE scene_activation_targets (
  activation_id uuid NOT NULL REFERENCES scene_activations (id) ON DELETE CASCADE,
  channel_id uuid NOT NULL REFERENCES equipment_channels (id),
  site_id uuid NOT NULL REFERENCES sites (id),
  state text NOT NULL CHECK (state IN ('on', 'off')),
  outcome text NOT NULL CHECK (outcome IN ('pending', 'confirmed', 'failed', 'refused', 'unchanged')),
  error_code text,
  reason text,
  command_id uuid REFERENCES commands (id),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (activation_id, channel_id)
);
CREATE INDEX scene_activation_targets_command ON scene_activation_targets (command_id);
CREATE INDEX scene_activation_targets_pending ON scene_activation_targets (channel_id) WHERE outcome = 'pending';
`.execute(db);
  for (const t of ['scenes', 'scene_activations', 'scene_activation_targets'])
    await sql.raw(`SELECT wattfleet_enable_site_rls('${t}')`).execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE scene_activation_targets, scene_activations, scenes`.execute(db);
}
