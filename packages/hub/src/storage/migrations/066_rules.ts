// Rules (issue 13.5): trigger → conditions → actions, one site each, with a version that goes up
// with every edit so each firing (and each switch it caused) names the version that acted.
// rule_firings is the run log and the claim: a firing is recorded once per (rule, version, series,
// crossing instant) — two hubs that see the same crossing insert the same key and only the one
// whose insert wins runs the actions. Both tables are site resources under row-level security.
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
CREATE TABLE rules (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  site_id uuid NOT NULL REFERENCES sites (id),
  name text NOT NULL,
  description text,
  enabled boolean NOT NULL DEFAULT true,
  version integer NOT NULL DEFAULT 1,
  -- The definition as the API takes it (validated on save): { trigger, conditions, actions }.
  definition jsonb NOT NULL,
  -- Set when the run-time loop guard stopped the rule; cleared by an edit or re-enable.
  suspended_at timestamptz,
  suspended_reason text,
  created_by text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (site_id, name)
);
CREATE INDEX rules_site ON rules (site_id) WHERE enabled;

CREATE TABLE rule_firings (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  rule_id uuid NOT NULL REFERENCES rules (id) ON DELETE CASCADE,
  site_id uuid NOT NULL REFERENCES sites (id),
  rule_version integer NOT NULL,
  -- What crossed: a series (node/equipment/metric), a node, an alert, or the time of day.
  source_key text NOT NULL,
  crossing_at timestamptz NOT NULL,
  fired_at timestamptz NOT NULL,
  reason text NOT NULL,
  -- 'fired' (actions ran, see results), 'skipped' (a condition did not hold), 'suspended'.
  outcome text NOT NULL CHECK (outcome IN ('fired', 'skipped', 'suspended')),
  results jsonb NOT NULL DEFAULT '[]',
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (rule_id, rule_version, source_key, crossing_at)
);
CREATE INDEX rule_firings_rule ON rule_firings (rule_id, fired_at);
`.execute(db);
  for (const t of ['rules', 'rule_firings'])
    await sql.raw(`SELECT wattfleet_enable_site_rls('${t}')`).execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE rule_firings, rules`.execute(db);
}
