// Installer grants: the owner org of a site (its owners) or an admin lets an installer org access
// the site, optionally until a date, and can revoke it. Installers never grant. Grant rows are read
// and written as the tenant (row-level security), after the code-level checks. SQL is in
// grants.repository.ts (and the org / site lookups in their own repositories).
import { WattfleetError } from '@wattfleet/protocol';
import { audit } from '../audit/audit.ts';
import { assertSiteAccess } from '../auth/access.ts';
import { type Actor, isFleetAdmin } from '../auth/actor.ts';
import type { HubContext } from '../context.ts';
import { getOrgKind } from '../orgs/orgs.repository.ts';
import { siteOrgId } from '../sites/sites.repository.ts';
import { insertGrant, listGrants, revokeGrant } from './grants.repository.ts';
import type { Grant, GrantBody } from './grants.schema.ts';
import { withTenant } from './tenant.ts';

function grantView(
  g: {
    id: string;
    site_id: string;
    grantee_org_id: string;
    granted_by: string | null;
    created_at: Date;
    expires_at: Date | null;
    revoked_at: Date | null;
  },
  now = Date.now(),
): Grant {
  return {
    id: g.id,
    siteId: g.site_id,
    orgId: g.grantee_org_id,
    grantedBy: g.granted_by,
    createdAt: g.created_at.toISOString(),
    expiresAt: g.expires_at?.toISOString() ?? null,
    revokedAt: g.revoked_at?.toISOString() ?? null,
    active: !g.revoked_at && (!g.expires_at || g.expires_at.getTime() > now),
  };
}

const actorName = (actor: Actor) => (actor.kind === 'user' ? actor.userId : actor.kind);

export class GrantService {
  constructor(private readonly hub: HubContext) {}

  /** Site owners (owner or org_admin of the owner org) and fleet admins manage grants; others get 403/404. */
  private async assertGrantManager(actor: Actor, siteId: string, action: string, sourceIp: string) {
    await assertSiteAccess(this.hub, actor, siteId, 'read');
    if (isFleetAdmin(actor)) return;
    const orgId = await siteOrgId(this.hub.db, siteId);
    if (
      actor.kind === 'user' &&
      (actor.role === 'owner' || actor.role === 'org_admin') &&
      actor.orgId === orgId
    )
      return;
    await audit(this.hub.db, actor, {
      action,
      targetType: 'site',
      targetId: siteId,
      result: 'denied',
      sourceIp,
    });
    throw new WattfleetError('WF_FORBIDDEN');
  }

  async list(actor: Actor, siteId: string): Promise<Grant[]> {
    await assertSiteAccess(this.hub, actor, siteId, 'read');
    const rows = await withTenant(this.hub, actor, (trx) => listGrants(trx, siteId));
    return rows.map((g) => grantView(g));
  }

  async create(actor: Actor, siteId: string, body: GrantBody, sourceIp: string): Promise<Grant> {
    await this.assertGrantManager(actor, siteId, 'grant.create', sourceIp);
    // The installer org is looked up as the system (an owner cannot read other orgs); the grant
    // itself is written as the tenant with write scope.
    const org = await getOrgKind(this.hub.db, body.orgId);
    if (org?.kind !== 'installer') {
      throw new WattfleetError('WF_VALIDATION', undefined, [
        { path: '/body/orgId', message: 'must be an installer org' },
      ]);
    }
    const expiresAt = body.expiresAt ? new Date(body.expiresAt) : null;
    if (expiresAt && expiresAt.getTime() <= Date.now()) {
      throw new WattfleetError('WF_VALIDATION', undefined, [
        { path: '/body/expiresAt', message: 'must be in the future' },
      ]);
    }
    const grant = await withTenant(
      this.hub,
      actor,
      (trx) => insertGrant(trx, { siteId, granteeOrgId: body.orgId, grantedBy: actorName(actor), expiresAt }),
      'write',
    );
    await audit(this.hub.db, actor, {
      action: 'grant.create',
      targetType: 'site',
      targetId: siteId,
      sourceIp,
      details: { grantId: grant.id, granteeOrgId: body.orgId, expiresAt: expiresAt?.toISOString() ?? null },
    });
    return grantView(grant);
  }

  async revoke(actor: Actor, siteId: string, grantId: string, sourceIp: string): Promise<Grant> {
    await this.assertGrantManager(actor, siteId, 'grant.revoke', sourceIp);
    const grant = await withTenant(
      this.hub,
      actor,
      (trx) => revokeGrant(trx, siteId, grantId, actorName(actor)),
      'write',
    );
    if (!grant) throw new WattfleetError('WF_NOT_FOUND', 'Grant not found or already revoked');
    await audit(this.hub.db, actor, {
      action: 'grant.revoke',
      targetType: 'site',
      targetId: siteId,
      sourceIp,
      details: { grantId, granteeOrgId: grant.grantee_org_id },
    });
    return grantView(grant);
  }
}
