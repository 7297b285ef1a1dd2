// The only place org SQL lives. Callers pass the Kysely handle: a tenant transaction (withTenant,
// so row-level security applies) for what users ask, hub.db for checks made as the table owner.
import type { Kysely } from 'kysely';
import type { DB } from '../storage/schema.ts';
import type { OrgBody, OrgKind, PatchOrgBody } from './orgs.schema.ts';

/** Every org, or only the one with this id ('none' when the caller belongs to no org). */
export async function listOrgs(db: Kysely<DB>, only: 'all' | string | null) {
  let q = db.selectFrom('orgs').selectAll().orderBy('name').orderBy('id');
  if (only !== 'all') q = q.where('id', '=', only);
  return q.execute();
}

export async function getOrg(db: Kysely<DB>, id: string) {
  return db.selectFrom('orgs').selectAll().where('id', '=', id).executeTakeFirst();
}

/** The org's kind, or undefined when it does not exist. */
export async function getOrgKind(
  db: Kysely<DB>,
  id: string,
): Promise<{ id: string; kind: OrgKind } | undefined> {
  return db.selectFrom('orgs').select(['id', 'kind']).where('id', '=', id).executeTakeFirst();
}

/** Which of these org ids exist. */
export async function existingOrgIds(db: Kysely<DB>, ids: string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const rows = await db.selectFrom('orgs').select('id').where('id', 'in', ids).execute();
  return new Set(rows.map((r) => r.id));
}

export async function insertOrg(db: Kysely<DB>, org: OrgBody) {
  return db.insertInto('orgs').values(org).returningAll().executeTakeFirstOrThrow();
}

/** The changed row (the row as it is for an empty patch), or undefined when it does not exist. */
export async function updateOrg(db: Kysely<DB>, id: string, patch: PatchOrgBody) {
  return Object.keys(patch).length > 0
    ? db.updateTable('orgs').set(patch).where('id', '=', id).returningAll().executeTakeFirst()
    : getOrg(db, id);
}

export async function hasFleetAdmins(db: Kysely<DB>, orgId: string): Promise<boolean> {
  const admins = await db
    .selectFrom('users')
    .select('id')
    .where('org_id', '=', orgId)
    .where('role', '=', 'admin')
    .limit(1)
    .execute();
  return admins.length > 0;
}
