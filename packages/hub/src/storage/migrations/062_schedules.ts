// Schedules (issue 13.3): one row per schedule of a channel, its rule (days, start, optional end,
// action) as JSON, read in the site's time zone; `version` counts edits so every automatic
// action can name the version that switched (13.8). `priority` is explicit and decides overlaps
// on a channel (higher wins; equal priorities: the older schedule wins, see docs). `checked_until`
// is the runner's watermark: occurrences up to it have been handled (run, missed or skipped).
// schedule_runs is the run log; UNIQUE (schedule_id, due_at) is the exactly-once guard when
// several hubs tick at once. Local dates are text 'YYYY-MM-DD' (a `date` column would be read
// back as a JS Date at the hub's own midnight).
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
CREATE TABLE schedules (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  site_id uuid NOT NULL REFERENCES sites (id),
  channel_id uuid NOT NULL REFERENCES equipment_channels (id),
  name text NOT NULL,
  enabled boolean NOT NULL DEFAULT true,
  priority integer NOT NULL,
  version integer NOT NULL DEFAULT 1,
  rule jsonb NOT NULL,
  valid_from text CHECK (valid_from ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$'),
  valid_until text CHECK (valid_until ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$'),
  except_dates jsonb NOT NULL DEFAULT '[]',
  grace_min integer NOT NULL DEFAULT 10 CHECK (grace_min BETWEEN 0 AND 1440),
  checked_until timestamptz NOT NULL DEFAULT now(),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  deleted_at timestamptz
);
CREATE INDEX schedules_site ON schedules (site_id);
CREATE INDEX schedules_channel ON schedules (channel_id) WHERE deleted_at IS NULL;

CREATE TABLE schedule_runs (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  schedule_id uuid NOT NULL REFERENCES schedules (id),
  schedule_version integer NOT NULL,
  site_id uuid NOT NULL REFERENCES sites (id),
  channel_id uuid NOT NULL REFERENCES equipment_channels (id),
  due_at timestamptz NOT NULL,
  edge text NOT NULL CHECK (edge IN ('start', 'end', 'once')),
  state text NOT NULL CHECK (state IN ('on', 'off')),
  -- 'running' only while a hub acts on it; one left behind means that hub stopped mid-run.
  outcome text NOT NULL CHECK (outcome IN ('running', 'done', 'missed', 'skipped-overlap', 'superseded', 'refused', 'failed')),
  error_code text,
  reason text NOT NULL,
  command_id uuid REFERENCES commands (id),
  ran_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (schedule_id, due_at)
);
CREATE INDEX schedule_runs_site ON schedule_runs (site_id, due_at);
CREATE INDEX schedule_runs_channel ON schedule_runs (channel_id, due_at);
`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE schedule_runs, schedules`.execute(db);
}
