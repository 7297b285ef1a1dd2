// The only place node and enrollment-code SQL lives. Callers pass the Kysely handle: a tenant
// transaction (withTenant, so row-level security applies) for what users ask, hub.db (or a plain
// transaction) for enrollment and the node's own requests.
import { type Kysely, type RawBuilder, sql } from 'kysely';
import type { Database } from '../storage/database.ts';
import type { DB } from '../storage/schema.ts';
import { controlChannel } from './control-channel.ts';

// --- enrollment codes ---------------------------------------------------------------------------

/**
 * The public id of an enrollment code: derived from the stored hash by another hash, so listing it
 * discloses neither the code nor the lookup key. (The table has no id column of its own.)
 * `table` is the alias the query gives enrollment_codes.
 */
export function enrollmentCodeId(table: string): RawBuilder<string> {
  return sql<string>`left(encode(sha256(convert_to('wattfleet-code-id:' || ${sql.ref(`${table}.code_hash`)}, 'UTF8')), 'hex'), 32)`;
}

export async function insertEnrollmentCode(
  db: Kysely<DB>,
  code: {
    codeHash: string;
    siteId: string;
    nodeName: string | null;
    createdBy: string;
    expiresAt: Date;
    nodeId: string | null;
  },
): Promise<void> {
  await db
    .insertInto('enrollment_codes')
    .values({
      code_hash: code.codeHash,
      site_id: code.siteId,
      node_name: code.nodeName,
      created_by: code.createdBy,
      expires_at: code.expiresAt,
      node_id: code.nodeId,
    })
    .execute();
}

/** The code row, locked (FOR UPDATE): two agents racing with the same code — exactly one wins. */
export function lockCodeByHash(trx: Kysely<DB>, codeHash: string) {
  return trx
    .selectFrom('enrollment_codes')
    .selectAll()
    .where('code_hash', '=', codeHash)
    .forUpdate()
    .executeTakeFirst();
}

/** The code row by its public id, locked so a revoke and an enrollment are ordered. */
export function lockCodeById(trx: Kysely<DB>, codeId: string) {
  return trx
    .selectFrom('enrollment_codes as c')
    .select([
      'c.code_hash',
      'c.site_id',
      'c.node_name',
      'c.node_id',
      'c.created_at',
      'c.expires_at',
      'c.used_at',
      'c.revoked_at',
    ])
    .where(enrollmentCodeId('c'), '=', codeId)
    .forUpdate()
    .executeTakeFirst();
}

export async function markCodeUsed(trx: Kysely<DB>, codeHash: string, nodeId: string): Promise<void> {
  await trx
    .updateTable('enrollment_codes')
    .set({ used_at: sql<Date>`now()`, node_id: nodeId })
    .where('code_hash', '=', codeHash)
    .execute();
}

export async function markCodeRevoked(trx: Kysely<DB>, codeHash: string, by: string | null): Promise<void> {
  await trx
    .updateTable('enrollment_codes')
    .set({ revoked_at: new Date(), revoked_by: by })
    .where('code_hash', '=', codeHash)
    .execute();
}

export interface CodeListFilter {
  /** 'all' or the sites the caller may write. */
  scope: 'all' | string[];
  siteId?: string;
  state?: 'pending' | 'used' | 'expired' | 'revoked' | 'all';
  limit: number;
  now: Date;
}

/** Enrollment codes, newest first, with their site's name and public id (never the code or hash). */
export function listEnrollmentCodes(trx: Kysely<DB>, f: CodeListFilter) {
  let sel = trx
    .selectFrom('enrollment_codes as c')
    .innerJoin('sites as s', 's.id', 'c.site_id')
    .select([
      enrollmentCodeId('c').as('id'),
      'c.site_id',
      's.name as site_name',
      'c.node_name',
      'c.created_by',
      'c.created_at',
      'c.expires_at',
      'c.used_at',
      'c.node_id',
      'c.revoked_at',
    ])
    .orderBy('c.created_at', 'desc')
    .limit(f.limit);
  if (f.scope !== 'all') sel = sel.where('c.site_id', 'in', f.scope);
  if (f.siteId) sel = sel.where('c.site_id', '=', f.siteId);
  if (f.state === 'used') sel = sel.where('c.used_at', 'is not', null);
  const open = () => sel.where('c.used_at', 'is', null).where('c.revoked_at', 'is', null);
  if (f.state === 'pending') sel = open().where('c.expires_at', '>', f.now);
  if (f.state === 'expired') sel = open().where('c.expires_at', '<=', f.now);
  if (f.state === 'revoked') sel = sel.where('c.used_at', 'is', null).where('c.revoked_at', 'is not', null);
  return sel.execute();
}

// --- nodes --------------------------------------------------------------------------------------

/** Re-enrollment: an existing node gets new credentials and is active again. */
export async function reenrollNode(
  trx: Kysely<DB>,
  nodeId: string,
  creds: { publicKey: string; passwordHash: string; pollIntervalS?: number },
): Promise<void> {
  await trx
    .updateTable('nodes')
    .set({
      public_key: creds.publicKey,
      mqtt_password_hash: creds.passwordHash,
      credentials_rotated_at: sql<Date>`now()`,
      active: true,
      deactivated_at: null,
      ...(creds.pollIntervalS !== undefined ? { sample_interval_s: creds.pollIntervalS } : {}),
    })
    .where('id', '=', nodeId)
    .execute();
}

export async function insertNode(
  trx: Kysely<DB>,
  node: {
    siteId: string;
    name: string;
    publicKey: string;
    passwordHash: string;
    agentVersion: string | null;
    sampleIntervalS: number | null;
  },
): Promise<string> {
  const row = await trx
    .insertInto('nodes')
    .values({
      site_id: node.siteId,
      name: node.name,
      public_key: node.publicKey,
      mqtt_password_hash: node.passwordHash,
      agent_version: node.agentVersion,
      sample_interval_s: node.sampleIntervalS,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

/** False when there is no such node. */
export async function setNodeActive(db: Kysely<DB>, nodeId: string, active: boolean): Promise<boolean> {
  const updated = await db
    .updateTable('nodes')
    .set({ active, deactivated_at: active ? null : sql<Date>`now()` })
    .where('id', '=', nodeId)
    .executeTakeFirst();
  return Number(updated.numUpdatedRows) > 0;
}

/** Replaces a node's key and MQTT password hash; answers its site. */
export async function replaceCredentials(
  db: Kysely<DB>,
  nodeId: string,
  publicKey: string,
  passwordHash: string,
): Promise<{ siteId: string }> {
  await db
    .updateTable('nodes')
    .set({ public_key: publicKey, mqtt_password_hash: passwordHash, credentials_rotated_at: new Date() })
    .where('id', '=', nodeId)
    .execute();
  const node = await db
    .selectFrom('nodes')
    .select('site_id')
    .where('id', '=', nodeId)
    .executeTakeFirstOrThrow();
  return { siteId: node.site_id };
}

/** One node as GET /nodes/{id} shows it. */
export function getNode(db: Kysely<DB>, nodeId: string, offlineAfterS: number) {
  return db
    .selectFrom('nodes')
    .select([
      'id',
      'site_id',
      'name',
      'kind',
      'active',
      'status',
      'status_reason',
      'last_seen_at',
      'clock_offset_ms',
      'agent_version',
      'git_commit',
      'os_version',
      'created_at',
      'sample_interval_s',
      controlChannel(offlineAfterS).as('control_channel'),
    ])
    .where('id', '=', nodeId)
    .executeTakeFirst();
}

// --- signed requests (node-auth.ts, nonce-ledger.ts) --------------------------------------------

/** What verifies a node's signature, and whether a clock-skew refusal is on record. */
export function nodeKeyRow(db: Kysely<DB>, nodeId: string) {
  return db
    .selectFrom('nodes')
    .select(['public_key', 'site_id', 'active', 'clock_skew_at'])
    .where('id', '=', nodeId)
    .executeTakeFirst();
}

/** Clears a clock-skew record (first good request after a refusal); true if one was cleared. */
export async function clearClockSkew(db: Kysely<DB>, nodeId: string, offsetMs: number): Promise<boolean> {
  const cleared = await db
    .updateTable('nodes')
    .set({ clock_skew_at: null, clock_skew_ms: null, clock_offset_ms: offsetMs })
    .where('id', '=', nodeId)
    .where('clock_skew_at', 'is not', null)
    .returning('id')
    .executeTakeFirst();
  return Boolean(cleared);
}

export async function writeClockOffset(db: Kysely<DB>, nodeId: string, offsetMs: number): Promise<void> {
  await db.updateTable('nodes').set({ clock_offset_ms: offsetMs }).where('id', '=', nodeId).execute();
}

/**
 * Records a refusal for clock skew. One row update decides, across hubs, whether this refusal is
 * news (the first, or the first after `refreshMs`): true then.
 */
export async function recordClockSkew(
  db: Kysely<DB>,
  nodeId: string,
  offsetMs: number,
  now: number,
  refreshMs: number,
): Promise<boolean> {
  const row = await db
    .updateTable('nodes')
    .set({ clock_skew_at: new Date(now), clock_skew_ms: offsetMs, clock_offset_ms: offsetMs })
    .where('id', '=', nodeId)
    .where((eb) =>
      eb.or([eb('clock_skew_at', 'is', null), eb('clock_skew_at', '<', new Date(now - refreshMs))]),
    )
    .returning('id')
    .executeTakeFirst();
  return Boolean(row);
}

/** A hub-made node event (clock skew and its end). */
export async function insertHubNodeEvent(
  db: Kysely<DB>,
  e: {
    nodeId: string;
    siteId: string;
    now: number;
    kind: string;
    severity: 'info' | 'warning';
    message: string;
    data: unknown;
  },
): Promise<void> {
  await db
    .insertInto('node_events')
    .values({
      node_id: e.nodeId,
      site_id: e.siteId,
      ts: new Date(e.now),
      kind: e.kind,
      severity: e.severity,
      equipment: null,
      message: e.message,
      data: JSON.stringify(e.data),
      batch_id: `hub:${e.kind}:${e.now}`,
    })
    .execute();
}

/**
 * Spends nonces: one multi-row INSERT for many requests; answers, per use, whether it was fresh.
 * The primary key makes it atomic across hubs.
 */
export async function spendNonces(
  database: Database,
  uses: { nodeId: string; nonce: string }[],
  expires: Date,
): Promise<boolean[]> {
  const r = await database.pool.query<{ node_id: string; nonce: string }>(
    `INSERT INTO request_nonces (node_id, nonce, expires_at)
     SELECT n, x, $3 FROM unnest($1::uuid[], $2::text[]) AS u(n, x)
     ON CONFLICT DO NOTHING
     RETURNING node_id, nonce`,
    [uses.map((u) => u.nodeId), uses.map((u) => u.nonce), expires],
  );
  const fresh = new Set(r.rows.map((row) => `${row.node_id}\u0000${row.nonce}`));
  return uses.map((u) => fresh.has(`${u.nodeId}\u0000${u.nonce}`));
}
