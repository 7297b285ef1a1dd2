// Executors, bundles and edge executions are site resources: the same row-level security as every
// other site table (012): members read their sites' rows, viewers never write.
import { type Kysely, sql } from 'kysely';

const TABLES = ['automation_executors', 'automation_bundles', 'edge_executions'];

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const t of TABLES) await sql`SELECT wattfleet_enable_site_rls(${t})`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const t of TABLES) {
    await sql.raw(`ALTER TABLE ${t} NO FORCE ROW LEVEL SECURITY`).execute(db);
    await sql.raw(`ALTER TABLE ${t} DISABLE ROW LEVEL SECURITY`).execute(db);
    for (const p of ['wf_system', 'wf_read', 'wf_insert', 'wf_update', 'wf_delete']) {
      await sql.raw(`DROP POLICY IF EXISTS ${p} ON ${t}`).execute(db);
    }
    await sql.raw(`REVOKE ALL ON ${t} FROM wattfleet_app`).execute(db);
  }
}
