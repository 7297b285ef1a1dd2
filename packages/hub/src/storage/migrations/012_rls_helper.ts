// A helper for later migrations (commands, alerts, …): one call puts a table with a site column
// under the same row-level security as the spine's site tables.
//   SELECT wattfleet_enable_site_rls('commands');            -- site_id column
//   SELECT wattfleet_enable_site_rls('alerts', 'site_id');   -- rows with a NULL site: admins only
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
CREATE FUNCTION wattfleet_enable_site_rls(tbl regclass, site_column text DEFAULT 'site_id') RETURNS void
LANGUAGE plpgsql AS $fn$
DECLARE
  visible text := format('%I = ANY (wattfleet_site_ids())', site_column);
  writable text := format('(wattfleet_role() <> %L AND %I = ANY (wattfleet_site_ids()))', 'viewer', site_column);
  seq regclass;
BEGIN
  EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', tbl);
  EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', tbl);
  EXECUTE format('CREATE POLICY wf_system ON %s USING (wattfleet_is_system()) WITH CHECK (wattfleet_is_system())', tbl);
  EXECUTE format('CREATE POLICY wf_read ON %s FOR SELECT TO wattfleet_app USING (wattfleet_is_admin() OR %s)', tbl, visible);
  EXECUTE format('CREATE POLICY wf_insert ON %s FOR INSERT TO wattfleet_app WITH CHECK (wattfleet_is_admin() OR %s)', tbl, writable);
  EXECUTE format('CREATE POLICY wf_update ON %s FOR UPDATE TO wattfleet_app USING (wattfleet_is_admin() OR %s) WITH CHECK (wattfleet_is_admin() OR %s)', tbl, writable, writable);
  EXECUTE format('CREATE POLICY wf_delete ON %s FOR DELETE TO wattfleet_app USING (wattfleet_is_admin() OR %s)', tbl, writable);
  EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %s TO wattfleet_app', tbl);
  -- serial/identity columns: inserting needs their sequences too.
  FOR seq IN
    SELECT d.objid::regclass FROM pg_depend d JOIN pg_class c ON c.oid = d.objid
    WHERE d.refobjid = tbl AND c.relkind = 'S' AND d.deptype IN ('a', 'i')
  LOOP
    EXECUTE format('GRANT USAGE ON SEQUENCE %s TO wattfleet_app', seq);
  END LOOP;
END
$fn$;
`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP FUNCTION wattfleet_enable_site_rls(regclass, text)`.execute(db);
}
