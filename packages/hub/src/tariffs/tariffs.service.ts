// Tariff versions as users see them: access checks, the append-only rules and re-pricing. A new
// version prices days from its own date on (the stored days it now covers are queued for
// recomputation); versions that already priced a day cannot be deleted, so past costs never
// move. Routes stay thin; SQL is in tariffs.repository.ts.
import { WattfleetError } from '@wattfleet/protocol';
import { siteTimezone } from '../analytics/analytics.repository.ts';
import { markStoredDays } from '../analytics/site-day.service.ts';
import { audit } from '../audit/audit.ts';
import { assertSiteAccess } from '../auth/access.ts';
import { type Actor, actorId } from '../auth/actor.ts';
import type { HubContext } from '../context.ts';
import { withTenant } from '../identity/tenant.ts';
import { localDate } from '../time/zoned.ts';
import { deleteTariff, insertTariff, listTariffs, type TariffVersion } from './tariffs.repository.ts';
import type { Tariff, TariffBody } from './tariffs.schema.ts';

const view = (v: TariffVersion): Tariff => ({ ...v, createdAt: new Date(v.createdAt).toISOString() });

export class TariffService {
  constructor(private readonly hub: HubContext) {}

  /** The site's versions, read as the caller (row-level security as the second fence). */
  async list(actor: Actor, siteId: string): Promise<Tariff[]> {
    await assertSiteAccess(this.hub, actor, siteId);
    return (await withTenant(this.hub, actor, (db) => listTariffs(db, siteId))).map(view);
  }

  async create(actor: Actor, siteId: string, body: TariffBody, sourceIp: string): Promise<Tariff> {
    const hub = this.hub;
    await assertSiteAccess(hub, actor, siteId, 'write');
    if (Number.isNaN(Date.parse(`${body.validFrom}T00:00:00Z`))) {
      throw new WattfleetError('WF_VALIDATION', undefined, [
        { path: '/body/validFrom', message: 'Not a real date' },
      ]);
    }
    const existing = await listTariffs(hub.db, siteId);
    if (existing.some((v) => v.validFrom === body.validFrom)) {
      throw new WattfleetError('WF_CONFLICT', `A tariff version already starts on ${body.validFrom}`);
    }
    const version = await insertTariff(hub.db, {
      siteId,
      validFrom: body.validFrom,
      name: body.name ?? null,
      definition: body.definition,
      createdBy: actorId(actor),
    });
    // Re-price the stored days this version now covers: from its date to the next version's.
    const next = existing.find((v) => v.validFrom > body.validFrom)?.validFrom;
    await markStoredDays(hub, siteId, body.validFrom, next);
    await audit(hub.db, actor, {
      action: 'tariff.create',
      targetType: 'site',
      targetId: siteId,
      sourceIp,
      details: { validFrom: body.validFrom, tariffId: version.id },
    });
    return view(version);
  }

  /** Only a version that has not priced a day yet (starts after the site's today) can go. */
  async remove(actor: Actor, siteId: string, tariffId: string, sourceIp: string): Promise<void> {
    const hub = this.hub;
    await assertSiteAccess(hub, actor, siteId, 'write');
    const timezone = await siteTimezone(hub.db, siteId);
    if (timezone === undefined) throw new WattfleetError('WF_NOT_FOUND', 'Site not found');
    const version = (await listTariffs(hub.db, siteId)).find((v) => v.id === tariffId);
    if (!version) throw new WattfleetError('WF_NOT_FOUND', 'Tariff version not found');
    // A version that has priced a day is history; correct it with a newer version instead.
    if (version.validFrom <= localDate(Date.now(), timezone)) {
      throw new WattfleetError('WF_CONFLICT', 'Tariff versions already in effect cannot be deleted');
    }
    await deleteTariff(hub.db, tariffId);
    await audit(hub.db, actor, {
      action: 'tariff.delete',
      targetType: 'site',
      targetId: siteId,
      sourceIp,
      details: { tariffId, validFrom: version.validFrom },
    });
  }
}
