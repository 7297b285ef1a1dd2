// SQL behind site scopes (scope.ts): the sites of an org, and the sites an installer org may
// reach (installs, owns, or holds a live grant for).
import { type Kysely, sql } from 'kysely';
import type { DB } from '../storage/schema.ts';
import './schema.ts';

/** Sites of `orgId`, sites it installs, and sites with an unrevoked, unexpired grant to it. */
export async function reachableSiteIds(db: Kysely<DB>, orgId: string): Promise<string[]> {
  const rows = await db
    .selectFrom('sites')
    .select('id')
    .where((eb) =>
      eb.or([
        eb('org_id', '=', orgId),
        eb('installer_org_id', '=', orgId),
        eb(
          'id',
          'in',
          eb
            .selectFrom('site_grants')
            .select('site_id')
            .where('grantee_org_id', '=', orgId)
            .where('revoked_at', 'is', null)
            .where((g) => g.or([g('expires_at', 'is', null), g('expires_at', '>', sql<Date>`now()`)])),
        ),
      ]),
    )
    .execute();
  return rows.map((r) => r.id);
}

export async function orgSiteIds(db: Kysely<DB>, orgId: string): Promise<string[]> {
  const rows = await db.selectFrom('sites').select('id').where('org_id', '=', orgId).execute();
  return rows.map((r) => r.id);
}
