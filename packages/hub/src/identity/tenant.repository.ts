// The SQL that turns a transaction into the tenant's (tenant.ts): the non-superuser role and the
// transaction-local settings that the row-level security policies read (migration 012).
import { type Kysely, sql } from 'kysely';
import type { DB } from '../storage/schema.ts';

export interface TenantSettings {
  role: string;
  orgId: string;
  userId: string;
  siteIds: string;
}

/** Only inside a transaction: SET LOCAL and set_config(..., true) end with it. */
export async function applyTenant(trx: Kysely<DB>, s: TenantSettings): Promise<void> {
  // One round trip: set_config('role', …, true) is SET LOCAL ROLE, and the select list is
  // evaluated left to right, so the role is switched before the tenant's settings are published.
  await sql`SELECT set_config('role', 'wattfleet_app', true), set_config('wattfleet.role', ${s.role}, true),
    set_config('wattfleet.org_id', ${s.orgId}, true), set_config('wattfleet.user_id', ${s.userId}, true),
    set_config('wattfleet.site_ids', ${s.siteIds}, true)`.execute(trx);
}
