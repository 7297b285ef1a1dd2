// The only place grant SQL lives. Callers pass a tenant transaction (withTenant), so row-level
// security applies to every grant read and write.
import type { Kysely } from 'kysely';
import type { DB } from '../storage/schema.ts';
import './schema.ts';

export async function listGrants(db: Kysely<DB>, siteId: string) {
  return db
    .selectFrom('site_grants')
    .selectAll()
    .where('site_id', '=', siteId)
    .orderBy('created_at')
    .execute();
}

export async function insertGrant(
  db: Kysely<DB>,
  grant: { siteId: string; granteeOrgId: string; grantedBy: string; expiresAt: Date | null },
) {
  return db
    .insertInto('site_grants')
    .values({
      site_id: grant.siteId,
      grantee_org_id: grant.granteeOrgId,
      granted_by: grant.grantedBy,
      expires_at: grant.expiresAt,
      revoked_at: null,
      revoked_by: null,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** Revokes an active grant of the site; undefined when there is none with that id. */
export async function revokeGrant(db: Kysely<DB>, siteId: string, grantId: string, revokedBy: string) {
  return db
    .updateTable('site_grants')
    .set({ revoked_at: new Date(), revoked_by: revokedBy })
    .where('id', '=', grantId)
    .where('site_id', '=', siteId)
    .where('revoked_at', 'is', null)
    .returningAll()
    .executeTakeFirst();
}
