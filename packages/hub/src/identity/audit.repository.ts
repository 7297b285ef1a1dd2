// The read side of the audit trail (writes are in audit/audit.ts). Callers pass a tenant
// transaction (withTenant), so row-level security applies.
import type { Kysely } from 'kysely';
import type { AuditLogTable, DB } from '../storage/schema.ts';
import type { AuditQuery } from './audit.schema.ts';

/** Newest first, at most `limit` rows older than the cursor (an id). */
export async function queryAuditLog(db: Kysely<DB>, f: AuditQuery, limit: number) {
  let q = db.selectFrom('audit_log').selectAll().orderBy('id', 'desc').limit(limit);
  if (f.actor) q = q.where('actor_id', '=', f.actor);
  // Any text may be asked for; an unknown actor type simply matches nothing.
  if (f.actorType) q = q.where('actor_type', '=', f.actorType as AuditLogTable['actor_type']);
  if (f.action?.endsWith('.*'))
    q = q.where('action', 'like', `${f.action.slice(0, -2).replace(/[%_\\]/g, '\\$&')}.%`);
  else if (f.action) q = q.where('action', '=', f.action);
  if (f.targetType) q = q.where('target_type', '=', f.targetType);
  if (f.target) q = q.where('target_id', '=', f.target);
  if (f.result) q = q.where('result', '=', f.result);
  if (f.from) q = q.where('at', '>=', new Date(f.from));
  if (f.to) q = q.where('at', '<', new Date(f.to));
  if (f.cursor) q = q.where('id', '<', f.cursor);
  return q.execute();
}
