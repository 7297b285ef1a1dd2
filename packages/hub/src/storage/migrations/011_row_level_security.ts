// Row-level security: the second fence around tenants. Requests that run through withTenant()
// switch to the non-superuser role `wattfleet_app` and publish who they are in per-transaction
// settings; these policies then hide every row outside the caller's sites/org, whatever SQL the
// application sends. Ingest and jobs keep running as the table owner ("system"), which the
// wf_system policy lets through (FORCE makes RLS apply to a non-superuser owner too).
import { type Kysely, sql } from 'kysely';

export const APP_ROLE = 'wattfleet_app';

/** Tables whose rows belong to a site through a site_id column. */
const SITE_TABLES = ['nodes', 'series', 'node_events', 'daily_reports', 'enrollment_codes'];
/** Tables whose rows belong to a site through series_id. */
const SERIES_TABLES = ['samples', 'rollup_hourly', 'rollup_daily', 'rollup_dirty'];
const ALL_TENANT_TABLES = [
  'orgs',
  'sites',
  'users',
  'site_grants',
  'equipment',
  'audit_log',
  ...SITE_TABLES,
  ...SERIES_TABLES,
];

const WRITE = `wattfleet_role() <> 'viewer'`;

export async function up(db: Kysely<unknown>): Promise<void> {
  // Roles are cluster-global: several databases (parallel tests, several hubs) may race to create
  // it. "Already exists" in any of its two spellings means someone else won.
  await sql`
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'wattfleet_app') THEN
    CREATE ROLE wattfleet_app NOLOGIN;
  END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
END $$;
`.execute(db);
  // A non-superuser owner needs membership to SET ROLE; superusers (tests, PGlite) do not.
  await sql`
DO $$
BEGIN
  IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
     AND NOT pg_has_role(current_user, 'wattfleet_app', 'MEMBER') THEN
    EXECUTE format('GRANT wattfleet_app TO %I', current_user);
  END IF;
EXCEPTION WHEN duplicate_object OR unique_violation OR insufficient_privilege THEN NULL;
END $$;
`.execute(db);

  await sql`
CREATE FUNCTION wattfleet_role() RETURNS text LANGUAGE sql STABLE AS
  $$ SELECT coalesce(nullif(current_setting('wattfleet.role', true), ''), 'none') $$;
CREATE FUNCTION wattfleet_is_admin() RETURNS boolean LANGUAGE sql STABLE AS
  $$ SELECT wattfleet_role() = 'admin' $$;
CREATE FUNCTION wattfleet_org_id() RETURNS uuid LANGUAGE sql STABLE AS
  $$ SELECT nullif(current_setting('wattfleet.org_id', true), '')::uuid $$;
CREATE FUNCTION wattfleet_user_id() RETURNS uuid LANGUAGE sql STABLE AS
  $$ SELECT nullif(current_setting('wattfleet.user_id', true), '')::uuid $$;
-- The caller's visible sites, computed by the application's grants resolver for this transaction.
CREATE FUNCTION wattfleet_site_ids() RETURNS uuid[] LANGUAGE sql STABLE AS
  $$ SELECT coalesce(string_to_array(nullif(current_setting('wattfleet.site_ids', true), ''), ',')::uuid[], '{}'::uuid[]) $$;
CREATE FUNCTION wattfleet_is_system() RETURNS boolean LANGUAGE sql STABLE AS
  $$ SELECT current_user <> 'wattfleet_app' $$;
`.execute(db);

  const stmts: string[] = [];
  for (const t of ALL_TENANT_TABLES) {
    stmts.push(
      `ALTER TABLE ${t} ENABLE ROW LEVEL SECURITY`,
      `ALTER TABLE ${t} FORCE ROW LEVEL SECURITY`,
      `CREATE POLICY wf_system ON ${t} USING (wattfleet_is_system()) WITH CHECK (wattfleet_is_system())`,
    );
  }
  const sitePolicy = (t: string, visible: string) => {
    stmts.push(
      `CREATE POLICY wf_read ON ${t} FOR SELECT TO ${APP_ROLE} USING (wattfleet_is_admin() OR ${visible})`,
      `CREATE POLICY wf_insert ON ${t} FOR INSERT TO ${APP_ROLE} WITH CHECK (wattfleet_is_admin() OR (${WRITE} AND ${visible}))`,
      `CREATE POLICY wf_update ON ${t} FOR UPDATE TO ${APP_ROLE} USING (wattfleet_is_admin() OR (${WRITE} AND ${visible})) WITH CHECK (wattfleet_is_admin() OR (${WRITE} AND ${visible}))`,
      `CREATE POLICY wf_delete ON ${t} FOR DELETE TO ${APP_ROLE} USING (wattfleet_is_admin() OR (${WRITE} AND ${visible}))`,
    );
  };
  sitePolicy('sites', 'id = ANY (wattfleet_site_ids())');
  for (const t of SITE_TABLES) sitePolicy(t, 'site_id = ANY (wattfleet_site_ids())');
  // Subqueries are themselves filtered by the policies of nodes/series.
  sitePolicy('equipment', 'node_id IN (SELECT id FROM nodes)');
  for (const t of SERIES_TABLES) sitePolicy(t, 'series_id IN (SELECT id FROM series)');
  sitePolicy('site_grants', '(site_id = ANY (wattfleet_site_ids()) OR grantee_org_id = wattfleet_org_id())');
  // Orgs and users: only one's own org (admins manage the rest).
  stmts.push(
    `CREATE POLICY wf_read ON orgs FOR SELECT TO ${APP_ROLE} USING (wattfleet_is_admin() OR id = wattfleet_org_id())`,
    `CREATE POLICY wf_admin ON orgs FOR ALL TO ${APP_ROLE} USING (wattfleet_is_admin()) WITH CHECK (wattfleet_is_admin())`,
    `CREATE POLICY wf_read ON users FOR SELECT TO ${APP_ROLE} USING (wattfleet_is_admin() OR org_id = wattfleet_org_id())`,
    `CREATE POLICY wf_admin ON users FOR ALL TO ${APP_ROLE} USING (wattfleet_is_admin()) WITH CHECK (wattfleet_is_admin())`,
    `CREATE POLICY wf_self ON users FOR UPDATE TO ${APP_ROLE} USING (id = wattfleet_user_id()) WITH CHECK (id = wattfleet_user_id())`,
    // Audit: read your org's trail, append entries; no UPDATE/DELETE policy and no privilege either.
    `CREATE POLICY wf_read ON audit_log FOR SELECT TO ${APP_ROLE} USING (wattfleet_is_admin() OR org_id = wattfleet_org_id())`,
    `CREATE POLICY wf_insert ON audit_log FOR INSERT TO ${APP_ROLE} WITH CHECK (wattfleet_is_admin() OR org_id = wattfleet_org_id())`,
  );

  // Privileges: tenant tables only. Sessions, refresh tokens, secrets, nonces and ingest
  // bookkeeping stay invisible to the app role. Password hashes are not granted either.
  const rw = ALL_TENANT_TABLES.filter((t) => t !== 'audit_log' && t !== 'users');
  stmts.push(
    `GRANT SELECT, INSERT, UPDATE, DELETE ON ${rw.join(', ')} TO ${APP_ROLE}`,
    `GRANT SELECT (id, org_id, email, name, role, must_change_password, password_changed_at, disabled_at, last_login_at, created_at) ON users TO ${APP_ROLE}`,
    `GRANT INSERT, DELETE ON users TO ${APP_ROLE}`,
    `GRANT UPDATE (email, name, role, disabled_at, must_change_password) ON users TO ${APP_ROLE}`,
    `GRANT SELECT, INSERT ON audit_log TO ${APP_ROLE}`,
    `REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM ${APP_ROLE}`,
    `GRANT USAGE ON SEQUENCE audit_log_id_seq, node_events_id_seq, series_id_seq TO ${APP_ROLE}`,
  );
  for (const s of stmts) await sql.raw(s).execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const t of ALL_TENANT_TABLES) {
    await sql.raw(`ALTER TABLE ${t} NO FORCE ROW LEVEL SECURITY`).execute(db);
    await sql.raw(`ALTER TABLE ${t} DISABLE ROW LEVEL SECURITY`).execute(db);
    for (const p of ['wf_system', 'wf_read', 'wf_insert', 'wf_update', 'wf_delete', 'wf_admin', 'wf_self']) {
      await sql.raw(`DROP POLICY IF EXISTS ${p} ON ${t}`).execute(db);
    }
    await sql.raw(`REVOKE ALL ON ${t} FROM ${APP_ROLE}`).execute(db);
  }
  await sql`DROP FUNCTION wattfleet_is_system(), wattfleet_site_ids(), wattfleet_user_id(), wattfleet_org_id(), wattfleet_is_admin(), wattfleet_role()`.execute(
    db,
  );
}
