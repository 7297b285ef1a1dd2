// Alerts: per org / per site rule settings, alerts with one open row per rule and target, every
// transition, the pending state that implements duration and hysteresis, and mutes.
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
CREATE TABLE alert_rule_settings (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  org_id uuid REFERENCES orgs (id),
  site_id uuid REFERENCES sites (id),
  rule text NOT NULL,
  enabled boolean,
  severity text CHECK (severity IN ('info', 'warning', 'critical')),
  duration_s integer CHECK (duration_s >= 0),
  repeat_s integer CHECK (repeat_s >= 0),
  params jsonb NOT NULL DEFAULT '{}',
  updated_at timestamptz NOT NULL DEFAULT now(),
  CHECK ((org_id IS NULL) <> (site_id IS NULL))
);
CREATE UNIQUE INDEX alert_rule_settings_org ON alert_rule_settings (org_id, rule) WHERE org_id IS NOT NULL;
CREATE UNIQUE INDEX alert_rule_settings_site ON alert_rule_settings (site_id, rule) WHERE site_id IS NOT NULL;

CREATE TABLE alerts (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  rule text NOT NULL,
  target_type text NOT NULL CHECK (target_type IN ('site', 'node', 'equipment', 'series')),
  target_id text NOT NULL,
  org_id uuid NOT NULL REFERENCES orgs (id),
  site_id uuid NOT NULL REFERENCES sites (id),
  node_id uuid REFERENCES nodes (id),
  severity text NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
  state text NOT NULL CHECK (state IN ('open', 'acknowledged', 'resolved')),
  message text NOT NULL,
  value double precision,
  opened_at timestamptz NOT NULL DEFAULT now(),
  acknowledged_at timestamptz,
  acknowledged_by text,
  resolved_at timestamptz,
  resolved_by text,
  last_notified_at timestamptz,
  repeat_count integer NOT NULL DEFAULT 0,
  updated_at timestamptz NOT NULL DEFAULT now()
);
-- One open (or acknowledged) alert per rule and target, even with several hubs evaluating.
CREATE UNIQUE INDEX alerts_one_open ON alerts (rule, target_id) WHERE state <> 'resolved';
CREATE INDEX alerts_site ON alerts (site_id, opened_at DESC);

CREATE TABLE alert_transitions (
  id bigserial PRIMARY KEY,
  alert_id uuid NOT NULL REFERENCES alerts (id),
  at timestamptz NOT NULL DEFAULT now(),
  from_state text,
  to_state text NOT NULL,
  actor text NOT NULL,
  note text
);
CREATE INDEX alert_transitions_alert ON alert_transitions (alert_id, id);

-- Since when a condition has held (to honour duration) or cleared (to honour hysteresis in time).
CREATE TABLE alert_conditions (
  rule text NOT NULL,
  target_id text NOT NULL,
  firing_since timestamptz,
  clear_since timestamptz,
  -- Set when a person resolves an alert whose condition still holds: it re-opens only after the
  -- condition has cleared once, so a manual resolve is not undone on the next evaluation.
  rearm_required boolean NOT NULL DEFAULT false,
  PRIMARY KEY (rule, target_id)
);

CREATE TABLE alert_mutes (
  site_id uuid NOT NULL REFERENCES sites (id),
  rule text NOT NULL,
  until timestamptz NOT NULL,
  created_by text,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (site_id, rule)
);
`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE alert_mutes, alert_conditions, alert_transitions, alerts, alert_rule_settings`.execute(
    db,
  );
}
