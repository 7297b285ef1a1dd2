// Append-only audit trail: who did what to which target, when, with what result, from where.
import type { Kysely } from 'kysely';
import type { Actor } from '../auth/actor.ts';
import type { DB } from '../storage/schema.ts';

export interface AuditEntry {
  action: string;
  targetType?: string;
  targetId?: string;
  result?: 'ok' | 'denied' | 'failed';
  sourceIp?: string | undefined;
  orgId?: string | null;
  details?: Record<string, unknown>;
}

export async function audit(db: Kysely<DB>, actor: Actor | undefined, entry: AuditEntry): Promise<void> {
  const actorType = actor ? (actor.kind as 'user' | 'node' | 'system' | 'token') : 'anonymous';
  await db
    .insertInto('audit_log')
    .values({
      actor_type: actorType,
      actor_id: actor?.kind === 'user' ? actor.userId : actor?.kind === 'node' ? actor.nodeId : null,
      org_id: entry.orgId ?? (actor?.kind === 'user' ? actor.orgId : null),
      action: entry.action,
      target_type: entry.targetType ?? null,
      target_id: entry.targetId ?? null,
      result: entry.result ?? 'ok',
      source_ip: entry.sourceIp ?? null,
      details: entry.details ? JSON.stringify(entry.details) : null,
    })
    .execute();
}
