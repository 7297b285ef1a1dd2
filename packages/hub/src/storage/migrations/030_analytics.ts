// Analytics: stored daily site summaries (recomputed when late data touches a day), the queue of
// days to recompute, reconciliation against device-sent daily reports, and tariff versions.
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
CREATE TABLE site_daily (
  site_id uuid NOT NULL REFERENCES sites (id),
  day date NOT NULL,
  solar_wh double precision NOT NULL,
  load_wh double precision NOT NULL,
  import_wh double precision NOT NULL,
  export_wh double precision NOT NULL,
  charge_wh double precision NOT NULL,
  discharge_wh double precision NOT NULL,
  solar_to_load_wh double precision NOT NULL,
  battery_solar_to_load_wh double precision NOT NULL,
  solar_export_wh double precision NOT NULL,
  self_consumption_pct double precision,
  self_sufficiency_pct double precision,
  peak_demand_kw double precision,
  peak_load_kw double precision,
  coverage double precision NOT NULL,
  counter_resets integer NOT NULL DEFAULT 0,
  -- Battery content by origin at the end of the day: the next day's opening ledger.
  battery_solar_wh double precision NOT NULL DEFAULT 0,
  battery_grid_wh double precision NOT NULL DEFAULT 0,
  tariff_version_id uuid,
  currency text,
  cost double precision,
  baseline_cost double precision,
  savings double precision,
  computed_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (site_id, day)
);

CREATE TABLE site_daily_dirty (
  site_id uuid NOT NULL REFERENCES sites (id),
  day date NOT NULL,
  marked_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (site_id, day)
);

-- Device-sent daily figures against the hub's own: differences above the tolerance are flagged
-- for a person to look at; neither figure overwrites the other.
CREATE TABLE daily_reconciliation (
  site_id uuid NOT NULL REFERENCES sites (id),
  day date NOT NULL,
  node_id uuid NOT NULL REFERENCES nodes (id),
  equipment text NOT NULL DEFAULT '',
  metric text NOT NULL,
  reported_wh double precision NOT NULL,
  computed_wh double precision NOT NULL,
  diff_pct double precision,
  flagged boolean NOT NULL,
  checked_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (site_id, day, node_id, equipment, metric)
);

-- A tariff applies from valid_from until the next version's valid_from: a new version never
-- reaches back before its own date, so earlier days keep their costs.
CREATE TABLE tariff_versions (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  site_id uuid NOT NULL REFERENCES sites (id),
  valid_from date NOT NULL,
  name text,
  definition jsonb NOT NULL,
  created_by text,
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (site_id, valid_from)
);
`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE tariff_versions, daily_reconciliation, site_daily_dirty, site_daily`.execute(db);
}
