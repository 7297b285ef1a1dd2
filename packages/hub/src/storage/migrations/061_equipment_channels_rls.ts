// Channels are site resources: the same row-level security as every other site table (012).
// Org control settings belong to an org: its members read them, only admins and the org's own
// org_admin change them.
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`SELECT wattfleet_enable_site_rls('equipment_channels')`.execute(db);
  for (const s of [
    'ALTER TABLE org_control_settings ENABLE ROW LEVEL SECURITY',
    'ALTER TABLE org_control_settings FORCE ROW LEVEL SECURITY',
    'CREATE POLICY wf_system ON org_control_settings USING (wattfleet_is_system()) WITH CHECK (wattfleet_is_system())',
    'CREATE POLICY wf_read ON org_control_settings FOR SELECT TO wattfleet_app USING (wattfleet_is_admin() OR org_id = wattfleet_org_id())',
    `CREATE POLICY wf_write ON org_control_settings FOR ALL TO wattfleet_app
       USING (wattfleet_is_admin() OR (org_id = wattfleet_org_id() AND wattfleet_role() = 'org_admin'))
       WITH CHECK (wattfleet_is_admin() OR (org_id = wattfleet_org_id() AND wattfleet_role() = 'org_admin'))`,
    'GRANT SELECT, INSERT, UPDATE ON org_control_settings TO wattfleet_app',
  ]) {
    await sql.raw(s).execute(db);
  }
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const t of ['equipment_channels', 'org_control_settings']) {
    await sql.raw(`ALTER TABLE ${t} NO FORCE ROW LEVEL SECURITY`).execute(db);
    await sql.raw(`ALTER TABLE ${t} DISABLE ROW LEVEL SECURITY`).execute(db);
    for (const p of ['wf_system', 'wf_read', 'wf_insert', 'wf_update', 'wf_delete', 'wf_write']) {
      await sql.raw(`DROP POLICY IF EXISTS ${p} ON ${t}`).execute(db);
    }
    await sql.raw(`REVOKE ALL ON ${t} FROM wattfleet_app`).execute(db);
  }
}
