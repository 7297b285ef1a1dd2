// Append-only audit trail: who did what to which target, when, with what result, from where.
import type { Kysely, Transaction } from 'kysely';
import type { Actor } from '../auth/actor.ts';
import type { DB } from '../storage/schema.ts';
import { insertAuditRow, resetRole } from './audit.repository.ts';

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
  await insertAuditRow(db, {
    actor_type: actorType,
    actor_id: actor?.kind === 'user' ? actor.userId : actor?.kind === 'node' ? actor.nodeId : null,
    org_id: entry.orgId ?? (actor?.kind === 'user' ? actor.orgId : null),
    action: entry.action,
    target_type: entry.targetType ?? null,
    target_id: entry.targetId ?? null,
    result: entry.result ?? 'ok',
    source_ip: entry.sourceIp ?? null,
    details: entry.details ? JSON.stringify(entry.details) : null,
  });
}

/**
 * Writes the audit entry inside the transaction of the change it records, so the change and its
 * entry commit together or not at all. The entry is written as the table owner (RESET ROLE): the
 * tenant role may change a row whose audit entry belongs to another org (an installer editing a
 * customer's site), which its insert policy would refuse. Call it last in the transaction.
 */
export async function auditInTransaction(
  trx: Transaction<DB>,
  actor: Actor | undefined,
  entry: AuditEntry,
): Promise<void> {
  await resetRole(trx);
  await audit(trx, actor, entry);
}
