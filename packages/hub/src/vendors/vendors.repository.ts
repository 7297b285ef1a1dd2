// The only place vendor SQL lives. Callers pass the Kysely handle: a tenant transaction
// (withTenant, so row-level security applies) for what users ask, hub.db for the poller.
import { type Kysely, sql } from 'kysely';
import type { DB } from '../storage/schema.ts';
import type { BreakerState, VendorAccountStatus } from './vendors.tables.ts';
import './vendors.tables.ts';

export interface AccountRow {
  id: string;
  site_id: string;
  node_id: string;
  vendor: string;
  name: string;
  external_id: string;
  secret_id: string;
  settings: Record<string, unknown>;
  system_info: Record<string, unknown>;
  status: VendorAccountStatus;
  status_message: string | null;
  created_at: Date;
  removed_at: Date | null;
  consecutive_failures: number;
  breaker: BreakerState;
  breaker_opened_at: Date | null;
  failing_since: Date | null;
  last_poll_at: Date | null;
  last_success_at: Date | null;
  last_error: string | null;
  cursor: Record<string, unknown>;
  budget: Record<string, unknown>;
  notices: Record<string, unknown>;
  lease_owner: string | null;
  lease_until: Date | null;
}

const json = (v: unknown): Record<string, unknown> =>
  (typeof v === 'string' ? JSON.parse(v) : (v ?? {})) as Record<string, unknown>;
// biome-ignore lint/suspicious/noExplicitAny: rows come back with JSON columns as text or objects.
const toAccount = (r: any): AccountRow => ({
  ...r,
  settings: json(r.settings),
  system_info: json(r.system_info),
  cursor: json(r.cursor),
  budget: json(r.budget),
  notices: json(r.notices),
});

export async function insertVirtualNode(db: Kysely<DB>, siteId: string, name: string): Promise<string> {
  const r = await db
    .insertInto('nodes')
    // A virtual node has no key pair and no MQTT password: nothing outside the hub speaks as it.
    .values({
      site_id: siteId,
      name,
      kind: 'virtual',
      public_key: null,
      mqtt_password_hash: null,
      sample_interval_s: 60,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return r.id;
}

export async function insertEquipment(
  db: Kysely<DB>,
  nodeId: string,
  e: { vendor: string; model: string | null; serial: string | null },
): Promise<void> {
  await db
    .insertInto('equipment')
    .values({
      node_id: nodeId,
      key: 'inverter',
      kind: 'inverter',
      vendor: e.vendor,
      model: e.model,
      serial: e.serial,
    })
    .execute();
}

export async function insertAccount(
  db: Kysely<DB>,
  a: {
    siteId: string;
    nodeId: string;
    vendor: string;
    name: string;
    externalId: string;
    secretId: string;
    settings: Record<string, unknown>;
    systemInfo: Record<string, unknown>;
    createdBy: string | null;
  },
): Promise<AccountRow> {
  const r = await db
    .insertInto('vendor_accounts')
    .values({
      site_id: a.siteId,
      node_id: a.nodeId,
      vendor: a.vendor,
      name: a.name,
      external_id: a.externalId,
      secret_id: a.secretId,
      settings: JSON.stringify(a.settings),
      system_info: JSON.stringify(a.systemInfo),
      created_by: a.createdBy,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  return toAccount(r);
}

export async function listAccounts(db: Kysely<DB>, filter: { siteId?: string; siteIds?: string[] | 'all' }) {
  let q = db.selectFrom('vendor_accounts').selectAll().where('status', '<>', 'removed');
  if (filter.siteId) q = q.where('site_id', '=', filter.siteId);
  if (filter.siteIds && filter.siteIds !== 'all') {
    if (filter.siteIds.length === 0) return [];
    q = q.where('site_id', 'in', filter.siteIds);
  }
  return (await q.orderBy('created_at').execute()).map(toAccount);
}

export async function getAccount(db: Kysely<DB>, id: string): Promise<AccountRow | undefined> {
  const r = await db.selectFrom('vendor_accounts').selectAll().where('id', '=', id).executeTakeFirst();
  return r ? toAccount(r) : undefined;
}

export async function updateAccount(
  db: Kysely<DB>,
  id: string,
  set: Partial<{
    name: string;
    settings: Record<string, unknown>;
    status: VendorAccountStatus;
    status_message: string | null;
    system_info: Record<string, unknown>;
    consecutive_failures: number;
    breaker: BreakerState;
    breaker_opened_at: Date | null;
    failing_since: Date | null;
    removed_at: Date | null;
    lease_owner: string | null;
    lease_until: Date | null;
    cursor: Record<string, unknown>;
  }>,
): Promise<AccountRow | undefined> {
  const { settings, system_info, cursor, ...plain } = set;
  const r = await db
    .updateTable('vendor_accounts')
    .set({
      ...plain,
      ...(settings ? { settings: JSON.stringify(settings) } : {}),
      ...(system_info ? { system_info: JSON.stringify(system_info) } : {}),
      ...(cursor ? { cursor: JSON.stringify(cursor) } : {}),
    })
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirst();
  return r ? toAccount(r) : undefined;
}

export async function deactivateNode(db: Kysely<DB>, nodeId: string): Promise<void> {
  await db
    .updateTable('nodes')
    .set({ active: false, deactivated_at: new Date() })
    .where('id', '=', nodeId)
    .execute();
}

/**
 * Claims (or renews) this hub's leases: accounts that are active and either already ours or
 * whose lease ran out. Under READ COMMITTED the WHERE is re-checked after the row lock, so of two
 * hubs claiming at once exactly one gets each account. The database clock decides expiry, so
 * hubs with skewed clocks still agree. A paused account (settings.paused) is nobody's: a hub that
 * held it drops it at its next claim.
 */
export async function claimLeases(db: Kysely<DB>, hubId: string, leaseS: number): Promise<AccountRow[]> {
  const { rows } = await sql`
    UPDATE vendor_accounts SET lease_owner = ${hubId}, lease_until = now() + make_interval(secs => ${leaseS})
    WHERE status = 'active' AND (lease_owner = ${hubId} OR lease_until IS NULL OR lease_until < now())
      AND settings->>'paused' IS DISTINCT FROM 'true'
    RETURNING *`.execute(db);
  return rows.map(toAccount);
}

/** On a clean stop: hand the accounts back at once instead of making others wait out the lease. */
export async function releaseLeases(db: Kysely<DB>, hubId: string): Promise<void> {
  await db
    .updateTable('vendor_accounts')
    .set({ lease_owner: null, lease_until: null })
    .where('lease_owner', '=', hubId)
    .execute();
}

export interface PollState {
  consecutive_failures: number;
  breaker: BreakerState;
  breaker_opened_at: Date | null;
  failing_since: Date | null;
  last_poll_at: Date;
  last_success_at?: Date;
  last_error: string | null;
  cursor?: Record<string, unknown>;
  budget: Record<string, unknown>;
  notices?: Record<string, unknown>;
  status?: VendorAccountStatus;
  status_message?: string | null;
}

/** Writes poll state only while this hub still holds the lease (a hub that lost it writes nothing). */
/**
 * Saves what a poll left (only while this hub holds the lease). A successful poll is the virtual
 * node's sign of life: `online` marks it seen and online in the same statement (one round trip per
 * poll, not three: at 5,000 accounts a minute the hub's cost is mostly round trips).
 */
export async function savePollState(
  db: Kysely<DB>,
  id: string,
  hubId: string,
  s: PollState,
  online?: { nodeId: string; at: Date },
): Promise<boolean> {
  const { cursor, budget, notices, ...plain } = s;
  const values = {
    ...plain,
    budget: JSON.stringify(budget),
    ...(cursor ? { cursor: JSON.stringify(cursor) } : {}),
    ...(notices ? { notices: JSON.stringify(notices) } : {}),
  };
  if (!online) {
    const r = await db
      .updateTable('vendor_accounts')
      .set(values)
      .where('id', '=', id)
      .where('lease_owner', '=', hubId)
      .where('status', '=', 'active')
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }
  // The node row is updated whether or not the lease is still held: the data was stored.
  const r = await db
    .with('seen', (q) =>
      q
        .updateTable('nodes')
        .set({
          last_seen_at: sql`greatest(last_seen_at, ${online.at})`,
          status: 'online',
          status_reason: sql`CASE WHEN status = 'online' THEN status_reason ELSE 'vendor_poll' END`,
          status_changed_at: sql`CASE WHEN status = 'online' THEN status_changed_at ELSE ${online.at} END`,
        })
        .where('id', '=', online.nodeId)
        .returning('id'),
    )
    .updateTable('vendor_accounts')
    .set(values)
    .where('id', '=', id)
    .where('lease_owner', '=', hubId)
    .where('status', '=', 'active')
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

export interface LogEntry {
  account_id: string;
  site_id: string;
  at: Date;
  outcome: string;
  http_status: number | null;
  error: string | null;
  response_ms: number | null;
  hub: string | null;
}

export async function insertLog(db: Kysely<DB>, entries: LogEntry[]): Promise<void> {
  if (entries.length) await db.insertInto('vendor_connection_log').values(entries).execute();
}

export async function listLog(db: Kysely<DB>, accountId: string, limit: number) {
  return db
    .selectFrom('vendor_connection_log')
    .select(['at', 'outcome', 'http_status', 'error', 'response_ms'])
    .where('account_id', '=', accountId)
    .orderBy('at', 'desc')
    .orderBy('id', 'desc')
    .limit(limit)
    .execute();
}

/** Polls that count for uptime since `since`: maintenance and our own budget skips do not. */
export async function uptimeCounts(db: Kysely<DB>, accountId: string, since: Date) {
  const r = await db
    .selectFrom('vendor_connection_log')
    .select([
      sql<number>`count(*) FILTER (WHERE outcome IN ('ok', 'slow'))`.as('ok'),
      sql<number>`count(*) FILTER (WHERE outcome NOT IN ('ok', 'slow', 'maintenance', 'budget'))`.as(
        'failed',
      ),
    ])
    .where('account_id', '=', accountId)
    .where('at', '>=', since)
    .executeTakeFirstOrThrow();
  return { ok: Number(r.ok), failed: Number(r.failed) };
}

/** The outcome of the account's latest poll, or undefined before the first. */
export async function lastOutcome(db: Kysely<DB>, accountId: string): Promise<string | undefined> {
  const r = await db
    .selectFrom('vendor_connection_log')
    .select('outcome')
    .where('account_id', '=', accountId)
    .orderBy('at', 'desc')
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirst();
  return r?.outcome;
}

/** The connection log is kept 30 days; a small table per account, so rows are deleted, not partitioned. */
export async function pruneLog(db: Kysely<DB>, before: Date): Promise<number> {
  const r = await db.deleteFrom('vendor_connection_log').where('at', '<', before).executeTakeFirst();
  return Number(r.numDeletedRows);
}

/** What the vendor alert rules look at for one site. */
export async function accountsForAlerts(db: Kysely<DB>, siteId: string) {
  return (
    await db
      .selectFrom('vendor_accounts')
      .select([
        'id',
        'node_id',
        'name',
        'vendor',
        'status',
        'status_message',
        'failing_since',
        'last_error',
        'notices',
      ])
      .where('site_id', '=', siteId)
      // Removed accounts too: their open alerts must resolve.
      .execute()
  ).map((r) => ({ ...r, notices: json(r.notices) }));
}

/** Data from the vendor is the virtual node's sign of life (it has no heartbeat of its own). */
