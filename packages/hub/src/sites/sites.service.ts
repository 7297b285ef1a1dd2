// Site management: access checks (code first, row-level security again inside withTenant) and
// the rules of creating and changing a site. Creating a site runs as the table owner: the sites
// insert policy only admits ids already in the caller's scope, which a new site never is. Users,
// installer grants and role checks live in identity/, orgs in orgs/. SQL is in sites.repository.ts.
import { WattfleetError } from '@wattfleet/protocol';
import type { SqlBool } from 'kysely';
import { audit, auditInTransaction } from '../audit/audit.ts';
import { assertSiteAccess } from '../auth/access.ts';
import { type Actor, isFleetAdmin } from '../auth/actor.ts';
import type { HubContext } from '../context.ts';
import { withTenant } from '../identity/tenant.ts';
import { controlPlaneConfig } from '../mqtt/config.ts';
import { existingOrgIds } from '../orgs/orgs.repository.ts';
import {
  getSite,
  insertSite,
  listSites,
  type SiteUpdate,
  siteNodes,
  siteOrgId,
  updateSite,
} from './sites.repository.ts';
import type { SiteBody, SitePatch } from './sites.schema.ts';
import { isValidTimezone } from './timezone.ts';

function assertTimezone(timezone: string): void {
  if (!isValidTimezone(timezone)) {
    throw new WattfleetError('WF_VALIDATION', undefined, [
      { path: '/body/timezone', message: `Unknown IANA time zone "${timezone}"` },
    ]);
  }
}

/** A row as the API shows it (the row itself, snake_case, timestamps as ISO text). */
const siteView = <T extends { created_at: Date }>(s: T) => ({ ...s, created_at: s.created_at.toISOString() });
const nodeView = <T extends { last_seen_at: Date | null; control_channel: SqlBool }>(n: T) => ({
  ...n,
  last_seen_at: n.last_seen_at ? n.last_seen_at.toISOString() : null,
  control_channel: Boolean(n.control_channel),
});

export class SiteService {
  constructor(private readonly hub: HubContext) {}

  /**
   * Refuses references to orgs that do not exist with a 400 that names the field, instead of
   * letting the foreign key fail inside the insert.
   */
  private async assertOrgsExist(refs: { id: string | null | undefined; path: string }[]): Promise<void> {
    const wanted = refs.filter((r): r is { id: string; path: string } => !!r.id);
    if (wanted.length === 0) return;
    const known = await existingOrgIds(
      this.hub.db,
      wanted.map((r) => r.id),
    );
    const problems = wanted
      .filter((r) => !known.has(r.id))
      .map((r) => ({ path: r.path, message: 'unknown org' }));
    if (problems.length) throw new WattfleetError('WF_VALIDATION', undefined, problems);
  }

  async create(actor: Actor, body: SiteBody, sourceIp: string) {
    if (
      !isFleetAdmin(actor) &&
      !(actor.kind === 'user' && actor.orgId === body.orgId && actor.role !== 'viewer')
    ) {
      throw new WattfleetError('WF_FORBIDDEN');
    }
    assertTimezone(body.timezone);
    await this.assertOrgsExist([
      { id: body.orgId, path: '/body/orgId' },
      { id: body.installerOrgId, path: '/body/installerOrgId' },
    ]);
    const site = await this.hub.db.transaction().execute(async (trx) => {
      const created = await insertSite(trx, body);
      await audit(trx, actor, {
        action: 'site.create',
        targetType: 'site',
        targetId: created.id,
        sourceIp,
      });
      return created;
    });
    return siteView(site);
  }

  async list(actor: Actor) {
    const scope = await this.hub.siteScope(this.hub.db, actor, 'read');
    if (scope !== 'all' && scope.length === 0) return [];
    // Scoped twice: by the grants-aware list here, and by row-level security inside withTenant.
    const rows = await withTenant(this.hub, actor, (trx) => listSites(trx, scope));
    return rows.map(siteView);
  }

  async get(actor: Actor, id: string) {
    await assertSiteAccess(this.hub, actor, id);
    const offlineAfterS = controlPlaneConfig(this.hub.config).offlineAfterS;
    const found = await withTenant(this.hub, actor, async (trx) => {
      const site = await getSite(trx, id);
      if (!site) return undefined;
      const nodes = await siteNodes(trx, id, offlineAfterS);
      return { ...siteView(site), nodes: nodes.map(nodeView) };
    });
    if (!found) throw new WattfleetError('WF_NOT_FOUND', 'Site not found');
    return found;
  }

  async patch(actor: Actor, id: string, body: SitePatch, sourceIp: string) {
    await assertSiteAccess(this.hub, actor, id, 'write');
    const orgId = await siteOrgId(this.hub.db, id);
    // Who installs a site is the owner's decision (or an admin's), not the installer's.
    if (
      body.installerOrgId !== undefined &&
      !isFleetAdmin(actor) &&
      !(
        actor.kind === 'user' &&
        (actor.role === 'owner' || actor.role === 'org_admin') &&
        actor.orgId === orgId
      )
    ) {
      await audit(this.hub.db, actor, {
        action: 'site.update',
        targetType: 'site',
        targetId: id,
        result: 'denied',
        sourceIp,
      });
      throw new WattfleetError('WF_FORBIDDEN');
    }
    if (body.timezone !== undefined) assertTimezone(body.timezone);
    await this.assertOrgsExist([{ id: body.installerOrgId, path: '/body/installerOrgId' }]);
    const patch: SiteUpdate = {
      ...(body.installerOrgId !== undefined ? { installer_org_id: body.installerOrgId } : {}),
      ...(body.name !== undefined ? { name: body.name } : {}),
      ...(body.timezone !== undefined ? { timezone: body.timezone } : {}),
      ...(body.latitude !== undefined ? { latitude: body.latitude } : {}),
      ...(body.longitude !== undefined ? { longitude: body.longitude } : {}),
      ...(body.systemKw !== undefined ? { system_kw: body.systemKw } : {}),
      ...(body.gridIntensityGPerKwh !== undefined
        ? { grid_intensity_g_per_kwh: body.gridIntensityGPerKwh }
        : {}),
      ...(body.status !== undefined ? { status: body.status } : {}),
    };
    // The change itself runs as the tenant with write scope: row-level security refuses it too.
    // The audit entry commits with the change or not at all.
    const updated = await withTenant(
      this.hub,
      actor,
      async (trx) => {
        const row = await updateSite(trx, id, patch);
        if (!row) return undefined;
        await auditInTransaction(trx, actor, {
          action: 'site.update',
          targetType: 'site',
          targetId: id,
          orgId: row.org_id,
          sourceIp,
          details: body,
        });
        return row;
      },
      'write',
    );
    if (!updated) throw new WattfleetError('WF_NOT_FOUND', 'Site not found');
    return siteView(updated);
  }
}
