// Row-level security without per-row function calls (issue 15, dashboard bench). The policies
// called wattfleet_site_ids(), wattfleet_is_admin(), … on every row they filtered: each call
// re-read the transaction's settings and wattfleet_site_ids() re-parsed the caller's site list
// into a uuid[] per row (a year of site days, a day of raw samples). Wrapped in a scalar
// subquery, each becomes an InitPlan evaluated once per statement: the same values (the
// functions are STABLE and the settings cannot change within a statement), so the same rows.
// Every existing policy is rewritten in place, and the helper later migrations use to put a
// table under site RLS (012) writes the new form.
import { type Kysely, sql } from 'kysely';

/**
 * [pattern, replacement] pairs for regexp_replace. wattfleet_site_ids() sits in `x = ANY (…)`,
 * where a bare subquery would be read as ANY (subquery); the cast makes it an array expression.
 */
const UP: [string, string][] = [
  [String.raw`wattfleet_site_ids\(\)`, '(SELECT wattfleet_site_ids())::uuid[]'],
  [String.raw`wattfleet_(is_admin|is_system|role|org_id|user_id)\(\)`, String.raw`(SELECT wattfleet_\1())`],
];
/** As PostgreSQL shows a wrapped call: `( SELECT wattfleet_role() AS wattfleet_role)`. */
const DOWN: [string, string][] = [
  [String.raw`\(\s*SELECT (wattfleet_\w+)\(\)\s+AS\s+\w+\s*\)`, String.raw`\1()`],
];

/** Rewrites every policy's USING and WITH CHECK expression with regexp replacements. */
async function rewritePolicies(db: Kysely<unknown>, rules: [string, string][]): Promise<void> {
  const apply = (col: string) =>
    rules.reduce(
      (expr, [pattern, replacement]) =>
        `regexp_replace(${expr}, ${literal(pattern)}, ${literal(replacement)}, 'g')`,
      col,
    );
  await sql
    .raw(`
DO $$
DECLARE
  p record;
  q text;
  c text;
BEGIN
  FOR p IN SELECT schemaname, tablename, policyname, qual, with_check FROM pg_policies
           WHERE schemaname = current_schema() LOOP
    q := ${apply('p.qual')};
    c := ${apply('p.with_check')};
    IF q IS DISTINCT FROM p.qual THEN
      EXECUTE format('ALTER POLICY %I ON %I.%I USING (%s)', p.policyname, p.schemaname, p.tablename, q);
    END IF;
    IF c IS DISTINCT FROM p.with_check THEN
      EXECUTE format('ALTER POLICY %I ON %I.%I WITH CHECK (%s)', p.policyname, p.schemaname, p.tablename, c);
    END IF;
  END LOOP;
END $$`)
    .execute(db);
}

const literal = (s: string) => `'${s.replaceAll("'", "''")}'`;

export async function up(db: Kysely<unknown>): Promise<void> {
  await rewritePolicies(db, UP);
  await sql`
CREATE OR REPLACE FUNCTION wattfleet_enable_site_rls(tbl regclass, site_column text DEFAULT 'site_id') RETURNS void
LANGUAGE plpgsql AS $fn$
DECLARE
  visible text := format('%I = ANY ((SELECT wattfleet_site_ids())::uuid[])', site_column);
  writable text := format('((SELECT wattfleet_role()) <> %L AND %I = ANY ((SELECT wattfleet_site_ids())::uuid[]))', 'viewer', site_column);
  seq regclass;
BEGIN
  EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', tbl);
  EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', tbl);
  EXECUTE format('CREATE POLICY wf_system ON %s USING ((SELECT wattfleet_is_system())) WITH CHECK ((SELECT wattfleet_is_system()))', tbl);
  EXECUTE format('CREATE POLICY wf_read ON %s FOR SELECT TO wattfleet_app USING ((SELECT wattfleet_is_admin()) OR %s)', tbl, visible);
  EXECUTE format('CREATE POLICY wf_insert ON %s FOR INSERT TO wattfleet_app WITH CHECK ((SELECT wattfleet_is_admin()) OR %s)', tbl, writable);
  EXECUTE format('CREATE POLICY wf_update ON %s FOR UPDATE TO wattfleet_app USING ((SELECT wattfleet_is_admin()) OR %s) WITH CHECK ((SELECT wattfleet_is_admin()) OR %s)', tbl, writable, writable);
  EXECUTE format('CREATE POLICY wf_delete ON %s FOR DELETE TO wattfleet_app USING ((SELECT wattfleet_is_admin()) OR %s)', tbl, writable);
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
  await rewritePolicies(db, DOWN);
  await sql`
CREATE OR REPLACE FUNCTION wattfleet_enable_site_rls(tbl regclass, site_column text DEFAULT 'site_id') RETURNS void
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
