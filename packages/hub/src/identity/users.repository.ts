// The only place user SQL lives (sessions and login throttling have their own). Callers pass the
// Kysely handle: a tenant transaction (withTenant, so row-level security applies) for what users
// ask, hub.db for what runs as the table owner (password hashes, which the tenant role may not
// even read).

import type { Role } from '@wattfleet/protocol';
import type { Kysely } from 'kysely';
import type { DB } from '../storage/schema.ts';
import './schema.ts';

/** Every column but the password hash (which the app role may not even read). */
export const USER_COLUMNS = [
  'id',
  'org_id',
  'email',
  'name',
  'role',
  'disabled_at',
  'must_change_password',
  'last_login_at',
  'created_at',
] as const;

/** Users by email; of one org when `orgId` is given (both filters apply when both are). */
export async function listUsers(db: Kysely<DB>, filter: { actorOrgId?: string; orgId?: string | undefined }) {
  let q = db.selectFrom('users').select(USER_COLUMNS).orderBy('email');
  if (filter.actorOrgId !== undefined) q = q.where('org_id', '=', filter.actorOrgId);
  if (filter.orgId) q = q.where('org_id', '=', filter.orgId);
  return q.execute();
}

export async function getUser(db: Kysely<DB>, id: string) {
  return db.selectFrom('users').select(USER_COLUMNS).where('id', '=', id).executeTakeFirst();
}

/** The org (and its kind) of a user. */
export async function userOrg(db: Kysely<DB>, userId: string) {
  return db
    .selectFrom('users as u')
    .innerJoin('orgs as o', 'o.id', 'u.org_id')
    .select(['u.org_id', 'o.kind'])
    .where('u.id', '=', userId)
    .executeTakeFirst();
}

export async function emailTaken(db: Kysely<DB>, email: string): Promise<boolean> {
  const row = await db.selectFrom('users').select('id').where('email', '=', email).executeTakeFirst();
  return row !== undefined;
}

export async function insertUser(
  db: Kysely<DB>,
  user: {
    orgId: string;
    email: string;
    name: string | null;
    role: Role;
    passwordHash: string;
    mustChangePassword: boolean;
  },
) {
  return db
    .insertInto('users')
    .values({
      org_id: user.orgId,
      email: user.email,
      name: user.name,
      role: user.role,
      password_hash: user.passwordHash,
      must_change_password: user.mustChangePassword,
    })
    .returning(USER_COLUMNS)
    .executeTakeFirstOrThrow();
}

export interface UserPatch {
  name?: string | null;
  role?: Role;
  disabled_at?: Date | null;
}

/** The changed row (the row as it is for an empty patch), or undefined when it does not exist. */
export async function updateUser(db: Kysely<DB>, id: string, patch: UserPatch) {
  return Object.keys(patch).length > 0
    ? db.updateTable('users').set(patch).where('id', '=', id).returning(USER_COLUMNS).executeTakeFirst()
    : getUser(db, id);
}

export async function passwordHashOf(db: Kysely<DB>, id: string): Promise<string> {
  const row = await db
    .selectFrom('users')
    .select(['id', 'password_hash'])
    .where('id', '=', id)
    .executeTakeFirstOrThrow();
  return row.password_hash;
}

/** Sets a new password hash; undefined when the user does not exist. */
export async function setPassword(db: Kysely<DB>, id: string, passwordHash: string, mustChange: boolean) {
  return db
    .updateTable('users')
    .set({ password_hash: passwordHash, must_change_password: mustChange, password_changed_at: new Date() })
    .where('id', '=', id)
    .returning(['id', 'org_id'])
    .executeTakeFirst();
}
