// Rollout nodes are site resources (the same RLS as every site table, 012/046). Rollouts
// themselves are fleet-wide operator plans: only the hub (system) and fleet admins see them, as
// with other operator-only tables; the routes refuse everyone else before any query.
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`SELECT wattfleet_enable_site_rls('rollout_nodes')`.execute(db);
  await sql`
ALTER TABLE rollouts ENABLE ROW LEVEL SECURITY;
ALTER TABLE rollouts FORCE ROW LEVEL SECURITY;
CREATE POLICY wf_system ON rollouts USING ((SELECT wattfleet_is_system())) WITH CHECK ((SELECT wattfleet_is_system()));
CREATE POLICY wf_admin ON rollouts TO wattfleet_app USING ((SELECT wattfleet_is_admin())) WITH CHECK ((SELECT wattfleet_is_admin()));
GRANT SELECT, INSERT, UPDATE, DELETE ON rollouts TO wattfleet_app;
`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const t of ['rollout_nodes', 'rollouts']) {
    await sql.raw(`ALTER TABLE ${t} NO FORCE ROW LEVEL SECURITY`).execute(db);
    await sql.raw(`ALTER TABLE ${t} DISABLE ROW LEVEL SECURITY`).execute(db);
    for (const p of ['wf_system', 'wf_admin', 'wf_read', 'wf_insert', 'wf_update', 'wf_delete']) {
      await sql.raw(`DROP POLICY IF EXISTS ${p} ON ${t}`).execute(db);
    }
    await sql.raw(`REVOKE ALL ON ${t} FROM wattfleet_app`).execute(db);
  }
}
