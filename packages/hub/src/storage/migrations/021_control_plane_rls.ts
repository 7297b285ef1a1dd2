// Row-level security for the control-plane tables, in the same shape as 011: the hub's own code
// (MQTT handlers, jobs, routes running as the table owner) passes as "system"; a request running
// under withTenant() as wattfleet_app sees only commands and log chunks of its visible sites.
import { type Kysely, sql } from 'kysely';

const APP_ROLE = 'wattfleet_app';
const WRITE = `wattfleet_role() <> 'viewer'`;
// commands has a site_id column and goes through 012's helper; these two hang off other tables.
const TABLES: Record<string, string> = {
  // Subqueries are filtered by the policies of commands and nodes themselves.
  command_transitions: 'command_id IN (SELECT id FROM commands)',
  node_log_chunks: 'node_id IN (SELECT id FROM nodes)',
};

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`SELECT wattfleet_enable_site_rls('commands')`.execute(db);
  const stmts: string[] = [];
  for (const [t, visible] of Object.entries(TABLES)) {
    stmts.push(
      `ALTER TABLE ${t} ENABLE ROW LEVEL SECURITY`,
      `ALTER TABLE ${t} FORCE ROW LEVEL SECURITY`,
      `CREATE POLICY wf_system ON ${t} USING (wattfleet_is_system()) WITH CHECK (wattfleet_is_system())`,
      `CREATE POLICY wf_read ON ${t} FOR SELECT TO ${APP_ROLE} USING (wattfleet_is_admin() OR ${visible})`,
      `CREATE POLICY wf_insert ON ${t} FOR INSERT TO ${APP_ROLE} WITH CHECK (wattfleet_is_admin() OR (${WRITE} AND ${visible}))`,
      `CREATE POLICY wf_update ON ${t} FOR UPDATE TO ${APP_ROLE} USING (wattfleet_is_admin() OR (${WRITE} AND ${visible})) WITH CHECK (wattfleet_is_admin() OR (${WRITE} AND ${visible}))`,
      `GRANT SELECT, INSERT, UPDATE ON ${t} TO ${APP_ROLE}`,
    );
  }
  stmts.push(`GRANT USAGE ON SEQUENCE command_transitions_id_seq TO ${APP_ROLE}`);
  for (const s of stmts) await sql.raw(s).execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const t of ['commands', ...Object.keys(TABLES)]) {
    await sql.raw(`ALTER TABLE ${t} NO FORCE ROW LEVEL SECURITY`).execute(db);
    await sql.raw(`ALTER TABLE ${t} DISABLE ROW LEVEL SECURITY`).execute(db);
    for (const p of ['wf_system', 'wf_read', 'wf_insert', 'wf_update', 'wf_delete']) {
      await sql.raw(`DROP POLICY IF EXISTS ${p} ON ${t}`).execute(db);
    }
    await sql.raw(`REVOKE ALL ON ${t} FROM ${APP_ROLE}`).execute(db);
  }
}
