// Vendor accounts and their connection log are site resources: the same row-level security as
// every other site table (see 012). The secrets table gets no policy and no privilege at all, so
// a tenant transaction cannot even read ciphertexts; only the hub (table owner) touches it.
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`SELECT wattfleet_enable_site_rls('vendor_accounts')`.execute(db);
  await sql`SELECT wattfleet_enable_site_rls('vendor_connection_log')`.execute(db);
  await sql`ALTER TABLE secrets ENABLE ROW LEVEL SECURITY`.execute(db);
  await sql`ALTER TABLE secrets FORCE ROW LEVEL SECURITY`.execute(db);
  await sql`CREATE POLICY wf_system ON secrets USING (wattfleet_is_system()) WITH CHECK (wattfleet_is_system())`.execute(
    db,
  );
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const t of ['vendor_accounts', 'vendor_connection_log', 'secrets']) {
    await sql.raw(`ALTER TABLE ${t} NO FORCE ROW LEVEL SECURITY`).execute(db);
    await sql.raw(`ALTER TABLE ${t} DISABLE ROW LEVEL SECURITY`).execute(db);
    for (const p of ['wf_system', 'wf_read', 'wf_insert', 'wf_update', 'wf_delete']) {
      await sql.raw(`DROP POLICY IF EXISTS ${p} ON ${t}`).execute(db);
    }
    await sql.raw(`REVOKE ALL ON ${t} FROM wattfleet_app`).execute(db);
  }
}
