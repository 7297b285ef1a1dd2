// The unified namespace settings and readers of an org. Only fleet admins and the org's own
// org_admin see or change them (others of the org: an audited 403; other orgs: 404). Every change
// is audited in its own transaction and announced on the bus ('uns.changed') after commit: the
// publisher re-lays the org's tree out, the embedded broker refreshes its view of the reader.
import { randomBytes } from 'node:crypto';
import { WattfleetError } from '@wattfleet/protocol';
import { audit, auditInTransaction } from '../audit/audit.ts';
import { type Actor, isFleetAdmin, isOrgAdminOf } from '../auth/actor.ts';
import type { HubContext } from '../context.ts';
import { slugify } from '../equipment/slug.ts';
import { withTenant } from '../identity/tenant.ts';
import { hashMqttPassword, newMqttPassword } from '../nodes/credentials.ts';
import type { UnsConfig } from './config.ts';
import {
  getSettings,
  insertCredential,
  listCredentials,
  orgName,
  revokeCredential,
  slugOwner,
  upsertSettings,
} from './uns.repository.ts';
import type { UnsCredential, UnsCredentialCreated, UnsSettings, UnsSettingsBody } from './uns.schema.ts';
import { orgPrefix } from './uns.topics.ts';

const iso = (d: Date | string | null) => (d === null ? null : new Date(d).toISOString());

export class UnsService {
  constructor(
    private readonly hub: HubContext,
    private readonly config: UnsConfig,
    /** Called after reader changes (the Mosquitto files follow; best effort). */
    private readonly readersChanged: () => void = () => {},
  ) {}

  private async assertManager(
    actor: Actor,
    orgId: string,
    sourceIp: string,
    action: string,
  ): Promise<string> {
    const name = await orgName(this.hub.db, orgId);
    const sameOrg = actor.kind === 'user' && actor.orgId === orgId;
    if (!name || (!isFleetAdmin(actor) && !sameOrg))
      throw new WattfleetError('WF_NOT_FOUND', 'Organisation not found');
    if (isFleetAdmin(actor) || isOrgAdminOf(actor, orgId)) return name;
    await audit(this.hub.db, actor, {
      action,
      targetType: 'org',
      targetId: orgId,
      orgId,
      result: 'denied',
      sourceIp,
    });
    throw new WattfleetError(
      'WF_FORBIDDEN',
      "Only the organisation's administrators manage its namespace export",
    );
  }

  /** The org's name as a slug, or with its id's first 8 hex digits where another org has it. */
  private async proposedSlug(orgId: string, name: string): Promise<string> {
    const base = slugify(name);
    const owner = await slugOwner(this.hub.db, base);
    return owner === undefined || owner === orgId ? base : `${base}-${orgId.slice(0, 8)}`;
  }

  private view(orgId: string, enabled: boolean, slug: string): UnsSettings {
    return { orgId, enabled, slug, topicPrefix: orgPrefix(slug), hubEnabled: this.config.enabled };
  }

  async settings(actor: Actor, orgId: string, sourceIp: string): Promise<UnsSettings> {
    const name = await this.assertManager(actor, orgId, sourceIp, 'org.uns.read');
    const s = await getSettings(this.hub.db, orgId);
    if (s) return this.view(orgId, s.enabled, s.slug);
    return this.view(orgId, false, await this.proposedSlug(orgId, name));
  }

  async setSettings(
    actor: Actor,
    orgId: string,
    body: UnsSettingsBody,
    sourceIp: string,
  ): Promise<UnsSettings> {
    const name = await this.assertManager(actor, orgId, sourceIp, 'org.uns.update');
    const before = await getSettings(this.hub.db, orgId);
    const slug = body.slug ?? before?.slug ?? (await this.proposedSlug(orgId, name));
    const owner = await slugOwner(this.hub.db, slug);
    if (owner !== undefined && owner !== orgId)
      throw new WattfleetError('WF_CONFLICT', `The slug "${slug}" names another organisation's tree`);
    try {
      await withTenant(
        this.hub,
        actor,
        async (trx) => {
          await upsertSettings(trx, orgId, body.enabled, slug);
          await auditInTransaction(trx, actor, {
            action: 'org.uns.update',
            targetType: 'org',
            targetId: orgId,
            orgId,
            sourceIp,
            details: {
              enabled: body.enabled,
              slug,
              ...(before ? { before: { enabled: before.enabled, slug: before.slug } } : {}),
            },
          });
        },
        'write',
      );
    } catch (err) {
      // Another org took the slug between the check and the write.
      if ((err as { code?: string }).code === '23505')
        throw new WattfleetError('WF_CONFLICT', `The slug "${slug}" names another organisation's tree`);
      throw err;
    }
    this.hub.bus.emitEvent('uns.changed', {
      orgId,
      before: before ? { enabled: before.enabled, slug: before.slug } : undefined,
    });
    if (before?.slug !== slug) this.readersChanged();
    return this.view(orgId, body.enabled, slug);
  }

  async credentials(actor: Actor, orgId: string, sourceIp: string): Promise<UnsCredential[]> {
    await this.assertManager(actor, orgId, sourceIp, 'org.uns.credentials.read');
    const rows = await withTenant(this.hub, actor, (trx) => listCredentials(trx, orgId));
    return rows.map((r) => ({
      id: r.id,
      username: r.username,
      label: r.label,
      createdAt: iso(r.created_at)!,
      revokedAt: iso(r.revoked_at),
    }));
  }

  async createCredential(
    actor: Actor,
    orgId: string,
    label: string | undefined,
    sourceIp: string,
  ): Promise<UnsCredentialCreated> {
    const name = await this.assertManager(actor, orgId, sourceIp, 'org.uns.credentials.create');
    // A reader needs a tree to read: settings are created (opted out) if the org has none yet.
    let settings = await getSettings(this.hub.db, orgId);
    if (!settings) {
      await this.setSettings(actor, orgId, { enabled: false }, sourceIp);
      settings = (await getSettings(this.hub.db, orgId))!;
    }
    const password = newMqttPassword();
    const username = `uns-${randomBytes(6).toString('hex')}`;
    const row = await withTenant(
      this.hub,
      actor,
      async (trx) => {
        const r = await insertCredential(trx, {
          orgId,
          username,
          passwordHash: hashMqttPassword(password),
          label: label ?? null,
        });
        await auditInTransaction(trx, actor, {
          action: 'org.uns.credentials.create',
          targetType: 'org',
          targetId: orgId,
          orgId,
          sourceIp,
          details: { credentialId: r.id, username, org: name },
        });
        return r;
      },
      'write',
    );
    this.readersChanged();
    return {
      id: row.id,
      username: row.username,
      label: row.label,
      createdAt: iso(row.created_at)!,
      revokedAt: null,
      password,
      topicPrefix: orgPrefix(settings.slug),
    };
  }

  async revoke(actor: Actor, orgId: string, credentialId: string, sourceIp: string): Promise<void> {
    await this.assertManager(actor, orgId, sourceIp, 'org.uns.credentials.revoke');
    const done = await withTenant(
      this.hub,
      actor,
      async (trx) => {
        const ok = await revokeCredential(trx, orgId, credentialId);
        if (!ok) return false;
        await auditInTransaction(trx, actor, {
          action: 'org.uns.credentials.revoke',
          targetType: 'org',
          targetId: orgId,
          orgId,
          sourceIp,
          details: { credentialId },
        });
        return true;
      },
      'write',
    );
    if (!done) throw new WattfleetError('WF_NOT_FOUND', 'Credential not found');
    this.hub.bus.emitEvent('uns.changed', { orgId, revokedCredentialId: credentialId });
    this.readersChanged();
  }
}
