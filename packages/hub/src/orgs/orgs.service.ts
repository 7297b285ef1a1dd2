// Orgs (tenants): fleet admins create and change them; everyone else sees only their own org.
// Reads and changes run as the tenant (row-level security) after the code-level checks; each
// change commits together with its audit entry. SQL is in orgs.repository.ts.
import { WattfleetError } from '@wattfleet/protocol';
import { auditInTransaction } from '../audit/audit.ts';
import { type Actor, isFleetAdmin } from '../auth/actor.ts';
import type { HubContext } from '../context.ts';
import { requireAdmin } from '../identity/guards.ts';
import { withTenant } from '../identity/tenant.ts';
import { getOrg, hasFleetAdmins, insertOrg, listOrgs, updateOrg } from './orgs.repository.ts';
import type { OrgBody, OrgKind, PatchOrgBody } from './orgs.schema.ts';

type OrgRow = { id: string; name: string; kind: OrgKind; created_at: Date };

/** A row as the API shows it (the row itself, timestamps as ISO text). */
const orgView = (o: OrgRow) => ({ ...o, created_at: o.created_at.toISOString() });

export class OrgService {
  constructor(private readonly hub: HubContext) {}

  async list(actor: Actor) {
    const only = isFleetAdmin(actor) ? 'all' : actor.kind === 'user' ? actor.orgId : null;
    const rows = await withTenant(this.hub, actor, (trx) => listOrgs(trx, only));
    return rows.map(orgView);
  }

  async get(actor: Actor, id: string) {
    if (!isFleetAdmin(actor) && !(actor.kind === 'user' && actor.orgId === id)) {
      throw new WattfleetError('WF_NOT_FOUND', 'Org not found');
    }
    const org = await withTenant(this.hub, actor, (trx) => getOrg(trx, id));
    if (!org) throw new WattfleetError('WF_NOT_FOUND', 'Org not found');
    return orgView(org);
  }

  async create(actor: Actor, body: OrgBody, sourceIp: string) {
    if (!isFleetAdmin(actor)) throw new WattfleetError('WF_FORBIDDEN');
    const org = await withTenant(
      this.hub,
      actor,
      async (trx) => {
        const created = await insertOrg(trx, body);
        await auditInTransaction(trx, actor, {
          action: 'org.create',
          targetType: 'org',
          targetId: created.id,
          sourceIp,
        });
        return created;
      },
      'write',
    );
    return orgView(org);
  }

  async patch(caller: Actor, id: string, body: PatchOrgBody, sourceIp: string) {
    const actor = await requireAdmin(this.hub, caller, sourceIp, 'org.update', { type: 'org', id });
    // Fleet-wide admins exist only in operator orgs (migration 013 enforces it again).
    if (body.kind !== undefined && body.kind !== 'operator' && (await hasFleetAdmins(this.hub.db, id))) {
      throw new WattfleetError(
        'WF_CONFLICT',
        'This org has fleet-wide admins; make them org_admin (or move them) before changing its kind',
      );
    }
    // The audit entry commits with the change or not at all.
    const org = await withTenant(
      this.hub,
      actor,
      async (trx) => {
        const row = await updateOrg(trx, id, body);
        if (!row) return undefined;
        await auditInTransaction(trx, actor, {
          action: 'org.update',
          targetType: 'org',
          targetId: id,
          orgId: id,
          sourceIp,
          details: body,
        });
        return row;
      },
      'write',
    );
    if (!org) throw new WattfleetError('WF_NOT_FOUND', 'Org not found');
    return orgView(org);
  }
}
