// Runs queries as the tenant: one transaction, the non-superuser role `wattfleet_app`, and the
// caller's identity in transaction-local settings that the row-level security policies read.
// Whatever SQL runs inside fn, PostgreSQL itself hides other tenants' rows.
import type { Transaction } from 'kysely';
import { type AccessMode, type Actor, isFleetAdmin } from '../auth/actor.ts';
import type { HubContext } from '../context.ts';
import type { DB } from '../storage/schema.ts';
import { applyTenant, type TenantSettings } from './tenant.repository.ts';

export type { TenantSettings } from './tenant.repository.ts';

/** The per-transaction settings for an actor; site ids come from the hub's scope resolver. */
export async function tenantSettings(
  hub: Pick<HubContext, 'db' | 'siteScope'>,
  actor: Actor,
  mode: AccessMode,
  /** The actor's scope in `mode` when the caller resolved it already (this request): not asked again. */
  resolved?: 'all' | string[],
): Promise<TenantSettings> {
  if (isFleetAdmin(actor)) return { role: 'admin', orgId: '', userId: '', siteIds: '' };
  const scope = resolved ?? (await hub.siteScope(hub.db, actor, mode));
  const siteIds = scope === 'all' ? '' : scope.join(',');
  if (actor.kind === 'user') return { role: actor.role, orgId: actor.orgId, userId: actor.userId, siteIds };
  // Nodes (and anything else) get their sites and nothing org-wide.
  return { role: actor.kind, orgId: '', userId: '', siteIds };
}

/**
 * Opens a transaction as the tenant and runs fn in it. Use trx only inside fn: on PGlite the pool
 * has a single connection, so touching hub.db there would wait for this very transaction.
 */
export async function withTenant<T>(
  hub: Pick<HubContext, 'db' | 'siteScope'>,
  actor: Actor,
  fn: (trx: Transaction<DB>) => Promise<T>,
  mode: AccessMode = 'read',
  /** hub.siteScope(hub.db, actor, mode) as this request already resolved it, if it did. */
  resolved?: 'all' | string[],
): Promise<T> {
  const settings = await tenantSettings(hub, actor, mode, resolved);
  return hub.db.transaction().execute(async (trx) => {
    await applyTenant(trx, settings);
    return fn(trx);
  });
}

/**
 * withTenant on the read replica (DATABASE_READ_URL; the primary when none is set, or when `fresh`):
 * for dashboard, telemetry and fleet-overview reads that may lag the primary by the replication
 * delay. The tenant's role and settings are transaction-local (SET LOCAL), which a hot standby
 * allows, so row-level security applies there exactly as on the primary; the transaction is READ
 * ONLY on the replica, so a write slipped into fn fails loudly instead of silently never happening.
 * `fresh`: this request has just written what fn reads (a day computed on read): the primary.
 */
export async function withTenantRead<T>(
  hub: Pick<HubContext, 'db' | 'siteScope' | 'database'>,
  actor: Actor,
  fn: (trx: Transaction<DB>) => Promise<T>,
  opts: { mode?: AccessMode; resolved?: 'all' | string[] | undefined; fresh?: boolean } = {},
): Promise<T> {
  const mode = opts.mode ?? 'read';
  const readDb = hub.database.readDb;
  if (opts.fresh || readDb === hub.db) return withTenant(hub, actor, fn, mode, opts.resolved);
  // The scope (grants) is resolved on the primary like every access decision: a grant just given
  // or revoked counts at once. Only the data is read from the replica.
  const settings = await tenantSettings(hub, actor, mode, opts.resolved);
  return readDb
    .transaction()
    .setAccessMode('read only')
    .execute(async (trx) => {
      await applyTenant(trx, settings);
      return fn(trx);
    });
}
