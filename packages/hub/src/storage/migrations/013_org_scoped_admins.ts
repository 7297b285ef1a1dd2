// Role model: `admin` is fleet-wide, so only an operator org may hold one. Every other org gets
// `org_admin`, who manages the users and sites of that org alone. Admins that existing data put in
// household or installer orgs become org admins (they keep managing their own org and lose the
// rest of the fleet). The database refuses a fleet admin outside an operator org whoever writes
// the row, and row-level security lets an org admin manage users of their own org only.
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
ALTER TABLE users DROP CONSTRAINT users_role_check;
ALTER TABLE users ADD CONSTRAINT users_role_check
  CHECK (role IN ('admin', 'org_admin', 'installer', 'owner', 'viewer'));

UPDATE users u SET role = 'org_admin'
  FROM orgs o WHERE o.id = u.org_id AND u.role = 'admin' AND o.kind <> 'operator';

-- SECURITY DEFINER: the check must see the org (or its admins) even when row-level security hides
-- them from the tenant role that is writing.
CREATE FUNCTION wattfleet_users_admin_org() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $fn$
BEGIN
  IF NEW.role = 'admin' AND (SELECT kind FROM orgs WHERE id = NEW.org_id) IS DISTINCT FROM 'operator' THEN
    RAISE EXCEPTION 'only operator orgs may hold fleet-wide admins (use org_admin)' USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END
$fn$;
CREATE TRIGGER users_admin_org BEFORE INSERT OR UPDATE OF role, org_id ON users
  FOR EACH ROW EXECUTE FUNCTION wattfleet_users_admin_org();

CREATE FUNCTION wattfleet_orgs_keep_admins() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $fn$
BEGIN
  IF OLD.kind = 'operator' AND NEW.kind <> 'operator'
     AND EXISTS (SELECT 1 FROM users WHERE org_id = NEW.id AND role = 'admin') THEN
    RAISE EXCEPTION 'this org has fleet-wide admins; change their role first' USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END
$fn$;
CREATE TRIGGER orgs_keep_admins BEFORE UPDATE OF kind ON orgs
  FOR EACH ROW EXECUTE FUNCTION wattfleet_orgs_keep_admins();

CREATE POLICY wf_org_admin ON users FOR ALL TO wattfleet_app
  USING (wattfleet_role() = 'org_admin' AND org_id = wattfleet_org_id())
  WITH CHECK (wattfleet_role() = 'org_admin' AND org_id = wattfleet_org_id() AND role <> 'admin');
`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
DROP POLICY wf_org_admin ON users;
DROP TRIGGER orgs_keep_admins ON orgs;
DROP FUNCTION wattfleet_orgs_keep_admins();
DROP TRIGGER users_admin_org ON users;
DROP FUNCTION wattfleet_users_admin_org();
UPDATE users SET role = 'admin' WHERE role = 'org_admin';
ALTER TABLE users DROP CONSTRAINT users_role_check;
ALTER TABLE users ADD CONSTRAINT users_role_check CHECK (role IN ('admin', 'installer', 'owner', 'viewer'));
`.execute(db);
}
