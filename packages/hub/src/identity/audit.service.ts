// The audit trail for admins: filter by actor, action (exact, or a prefix with ".*"), target and
// time; newest first, paged by id cursor so inserts during paging never shift pages.
import type { Actor } from '../auth/actor.ts';
import type { HubContext } from '../context.ts';
import { queryAuditLog } from './audit.repository.ts';
import type { AuditQuery } from './audit.schema.ts';
import { requireAdmin } from './guards.ts';
import { withTenant } from './tenant.ts';

export class AuditService {
  constructor(private readonly hub: HubContext) {}

  async list(caller: Actor, f: AuditQuery, sourceIp: string) {
    const actor = await requireAdmin(this.hub, caller, sourceIp, 'audit.read', { type: 'audit' });
    const limit = f.limit ?? 100;
    // One row more than the page tells whether another page follows.
    const rows = await withTenant(this.hub, actor, (trx) => queryAuditLog(trx, f, limit + 1));
    const page = rows.slice(0, limit);
    return {
      items: page.map((r) => ({
        id: r.id,
        at: r.at.toISOString(),
        actorType: r.actor_type,
        actorId: r.actor_id,
        orgId: r.org_id,
        action: r.action,
        targetType: r.target_type,
        targetId: r.target_id,
        result: r.result,
        sourceIp: r.source_ip,
        details: r.details,
      })),
      nextCursor: rows.length > limit ? (page[page.length - 1]?.id ?? null) : null,
    };
  }
}
