// Budgets and their notices are site resources: the same row-level security as every other site
// table (see 012).
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`SELECT wattfleet_enable_site_rls('site_budgets')`.execute(db);
  await sql`SELECT wattfleet_enable_site_rls('site_budget_notices')`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const t of ['site_budgets', 'site_budget_notices']) {
    await sql.raw(`ALTER TABLE ${t} NO FORCE ROW LEVEL SECURITY`).execute(db);
    await sql.raw(`ALTER TABLE ${t} DISABLE ROW LEVEL SECURITY`).execute(db);
    for (const p of ['wf_system', 'wf_read', 'wf_insert', 'wf_update', 'wf_delete']) {
      await sql.raw(`DROP POLICY IF EXISTS ${p} ON ${t}`).execute(db);
    }
    await sql.raw(`REVOKE ALL ON ${t} FROM wattfleet_app`).execute(db);
  }
}
