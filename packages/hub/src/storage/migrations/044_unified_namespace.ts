// Unified namespace export (issue 17 item 5). uns_org_settings: an org's opt-in and the slug that
// names its tree (`wattfleet/v1/{slug}/…`), unique across the hub because topics are global on the
// broker. uns_credentials: MQTT readers of that tree, password stored only as a Mosquitto $7$ hash
// (shown once when created). Both belong to an org: its members read them, only fleet admins and
// the org's own org_admin change them; the hash column is not granted to the tenant role at all.
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
CREATE TABLE uns_org_settings (
  org_id uuid PRIMARY KEY REFERENCES orgs (id),
  enabled boolean NOT NULL DEFAULT false,
  slug text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$' AND length(slug) <= 48),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE uns_credentials (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  org_id uuid NOT NULL REFERENCES orgs (id),
  username text NOT NULL UNIQUE CHECK (username ~ '^uns-[0-9a-f]{12}$'),
  password_hash text NOT NULL,
  label text,
  created_at timestamptz NOT NULL DEFAULT now(),
  revoked_at timestamptz
);
CREATE INDEX uns_credentials_org ON uns_credentials (org_id);
`.execute(db);
  for (const t of ['uns_org_settings', 'uns_credentials']) {
    for (const s of [
      `ALTER TABLE ${t} ENABLE ROW LEVEL SECURITY`,
      `ALTER TABLE ${t} FORCE ROW LEVEL SECURITY`,
      `CREATE POLICY wf_system ON ${t} USING (wattfleet_is_system()) WITH CHECK (wattfleet_is_system())`,
      `CREATE POLICY wf_read ON ${t} FOR SELECT TO wattfleet_app USING (wattfleet_is_admin() OR org_id = wattfleet_org_id())`,
      `CREATE POLICY wf_write ON ${t} FOR ALL TO wattfleet_app
         USING (wattfleet_is_admin() OR (org_id = wattfleet_org_id() AND wattfleet_role() = 'org_admin'))
         WITH CHECK (wattfleet_is_admin() OR (org_id = wattfleet_org_id() AND wattfleet_role() = 'org_admin'))`,
    ])
      await sql.raw(s).execute(db);
  }
  await sql`GRANT SELECT, INSERT, UPDATE ON uns_org_settings TO wattfleet_app`.execute(db);
  // No SELECT on password_hash: a tenant session can create and revoke a reader, never read a hash.
  await sql`GRANT SELECT (id, org_id, username, label, created_at, revoked_at), INSERT, UPDATE (revoked_at) ON uns_credentials TO wattfleet_app`.execute(
    db,
  );
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE uns_credentials, uns_org_settings`.execute(db);
}
