// Row-level security for the analytics, alert and notification tables, in the same shape as
// 011: the owner role ("system": jobs, ingest) passes; the app role sees only the caller's sites
// (or org, for org-wide settings and channels). Reads in these modules run through withTenant.
import { type Kysely, sql } from 'kysely';

const APP_ROLE = 'wattfleet_app';
const WRITE = `wattfleet_role() <> 'viewer'`;
const SITE_TABLES = [
  'site_daily',
  'site_daily_dirty',
  'daily_reconciliation',
  'tariff_versions',
  'alerts',
  'alert_mutes',
];
const ORG_OR_SITE = ['alert_rule_settings'];
const ORG_TABLES = ['notification_channels'];
const ALL = [...SITE_TABLES, ...ORG_OR_SITE, ...ORG_TABLES, 'alert_transitions', 'notification_outbox'];

export async function up(db: Kysely<unknown>): Promise<void> {
  const stmts: string[] = [];
  const policy = (t: string, visible: string, write = visible) =>
    stmts.push(
      `CREATE POLICY wf_read ON ${t} FOR SELECT TO ${APP_ROLE} USING (wattfleet_is_admin() OR ${visible})`,
      `CREATE POLICY wf_insert ON ${t} FOR INSERT TO ${APP_ROLE} WITH CHECK (wattfleet_is_admin() OR (${WRITE} AND ${write}))`,
      `CREATE POLICY wf_update ON ${t} FOR UPDATE TO ${APP_ROLE} USING (wattfleet_is_admin() OR (${WRITE} AND ${write})) WITH CHECK (wattfleet_is_admin() OR (${WRITE} AND ${write}))`,
      `CREATE POLICY wf_delete ON ${t} FOR DELETE TO ${APP_ROLE} USING (wattfleet_is_admin() OR (${WRITE} AND ${write}))`,
    );
  for (const t of ALL) {
    stmts.push(
      `ALTER TABLE ${t} ENABLE ROW LEVEL SECURITY`,
      `ALTER TABLE ${t} FORCE ROW LEVEL SECURITY`,
      `CREATE POLICY wf_system ON ${t} USING (wattfleet_is_system()) WITH CHECK (wattfleet_is_system())`,
    );
  }
  for (const t of SITE_TABLES) policy(t, 'site_id = ANY (wattfleet_site_ids())');
  policy('alert_rule_settings', '(site_id = ANY (wattfleet_site_ids()) OR org_id = wattfleet_org_id())');
  policy('notification_channels', 'org_id = wattfleet_org_id()');
  policy('alert_transitions', 'alert_id IN (SELECT id FROM alerts)');
  // The outbox is the dispatcher's (system) business; tenants get no policy and no privilege.
  stmts.push(
    `GRANT SELECT, INSERT, UPDATE, DELETE ON ${[...SITE_TABLES, ...ORG_OR_SITE, ...ORG_TABLES, 'alert_transitions'].join(', ')} TO ${APP_ROLE}`,
    `GRANT USAGE ON SEQUENCE alert_transitions_id_seq TO ${APP_ROLE}`,
  );
  for (const s of stmts) await sql.raw(s).execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const t of ALL) {
    await sql.raw(`ALTER TABLE ${t} NO FORCE ROW LEVEL SECURITY`).execute(db);
    await sql.raw(`ALTER TABLE ${t} DISABLE ROW LEVEL SECURITY`).execute(db);
    for (const p of ['wf_system', 'wf_read', 'wf_insert', 'wf_update', 'wf_delete']) {
      await sql.raw(`DROP POLICY IF EXISTS ${p} ON ${t}`).execute(db);
    }
    await sql.raw(`REVOKE ALL ON ${t} FROM ${APP_ROLE}`).execute(db);
  }
}
