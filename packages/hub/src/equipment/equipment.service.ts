// The equipment registry: what each node's agent registered (its equipment inventory), where an
// installer placed it on the site (areas and lines), and whether it answers: the equipment list
// and the commissioning check both come from here, computed the same way.
import { checker, EquipmentInventory, EVENT_KINDS, WattfleetError } from '@wattfleet/protocol';
import { audit, auditInTransaction } from '../audit/audit.ts';
import { assertSiteAccess } from '../auth/access.ts';
import type { Actor } from '../auth/actor.ts';
import type { HubContext } from '../context.ts';
import { withTenant } from '../identity/tenant.ts';
import { siteOrgId } from '../sites/sites.repository.ts';
import {
  applyEquipmentInventory,
  deleteArea,
  deleteLine,
  type EquipmentRow,
  getArea,
  getEquipment,
  getLine,
  insertArea,
  insertLine,
  latestBySeries,
  latestEquipmentInventory,
  latestReachability,
  listAreas,
  listSiteEquipment,
  setPlacement,
} from './equipment.repository.ts';
import type {
  Area,
  Commissioning,
  EquipmentItem,
  EquipmentState,
  PlacementBody,
  SiteEquipment,
} from './equipment.schema.ts';
import { slugify } from './slug.ts';

declare module '../context.ts' {
  interface HubEvents {
    /** An equipment was placed on another area or line (after commit; the unified namespace moves it). */
    'equipment.placed': {
      equipmentId: string;
      siteId: string;
      from: { areaId: string | null; lineId: string | null };
    };
  }
}

const checkInventory = checker(EquipmentInventory);
/** A poll interval for nodes that never said theirs (the agent's default). */
const DEFAULT_INTERVAL_S = 10;
/** Fresh: a reading within this many poll intervals, and never less than this many seconds. */
const FRESH_INTERVALS = 3;
const FRESH_FLOOR_S = 120;

type Reading = { ts: Date; metric: string; value: number };

export function equipmentState(
  e: Pick<EquipmentRow, 'present' | 'poll_interval_s'>,
  last: Reading[] | undefined,
  reach: { kind: string; ts: Date; message: string } | undefined,
  now: number,
): { state: EquipmentState; reason: string; at: Date | undefined } {
  const at = last?.reduce<Date | undefined>((m, r) => (!m || r.ts > m ? r.ts : m), undefined);
  if (!e.present) return { state: 'absent', reason: "No longer in the node's configuration", at };
  const freshS = Math.max(FRESH_FLOOR_S, FRESH_INTERVALS * (e.poll_interval_s ?? DEFAULT_INTERVAL_S));
  const unreachable = reach?.kind === EVENT_KINDS.equipmentUnreachable;
  if (unreachable && (!at || reach.ts >= at))
    return { state: 'unreachable', reason: `The node cannot read it: ${reach.message}`, at };
  if (!at) return { state: 'waiting', reason: 'Registered; no reading has arrived yet', at };
  const ageS = Math.round((now - at.getTime()) / 1000);
  if (ageS > freshS)
    return {
      state: 'silent',
      reason: `No reading for ${Math.round(ageS / 60)} min (expected every ${e.poll_interval_s ?? DEFAULT_INTERVAL_S} s)`,
      at,
    };
  return { state: 'answering', reason: 'Answering', at };
}

export class EquipmentService {
  constructor(
    private readonly hub: HubContext,
    private readonly clock: () => number = Date.now,
  ) {}

  /** Not visible: 404 (nothing is given away); visible but read-only (a viewer): 403. */
  private async assertWrite(actor: Actor, siteId: string): Promise<void> {
    await assertSiteAccess(this.hub, actor, siteId);
    try {
      await assertSiteAccess(this.hub, actor, siteId, 'write');
    } catch (err) {
      if (err instanceof WattfleetError && err.code === 'WF_NOT_FOUND')
        throw new WattfleetError('WF_FORBIDDEN', 'You may look at this site, not change it');
      throw err;
    }
  }

  /** A node's event batch arrived: if it carries an equipment inventory, the registry follows it. */
  async onNodeEvents(nodeId: string): Promise<boolean> {
    const ev = await latestEquipmentInventory(this.hub.db, nodeId, EVENT_KINDS.equipmentInventory);
    if (!ev) return false;
    const data = typeof ev.data === 'string' ? JSON.parse(ev.data) : ev.data;
    // Events were validated at ingest as free-form data; the registry takes only a well-formed one.
    if (!checkInventory.check(data)) return false;
    return applyEquipmentInventory(this.hub.db, nodeId, data.equipment, new Date(ev.ts));
  }

  async list(actor: Actor, siteId: string): Promise<SiteEquipment> {
    await assertSiteAccess(this.hub, actor, siteId);
    const now = this.clock();
    return withTenant(this.hub, actor, async (trx) => {
      const [rows, latest, reach, areas] = await Promise.all([
        listSiteEquipment(trx, siteId),
        latestBySeries(trx, siteId),
        latestReachability(trx, siteId, [EVENT_KINDS.equipmentUnreachable, EVENT_KINDS.equipmentReachable]),
        listAreas(trx, siteId),
      ]);
      const byEquipment = new Map<string, Reading[]>();
      for (const r of latest) {
        const k = `${r.node_id}/${r.equipment}`;
        const list = byEquipment.get(k) ?? [];
        list.push({ ts: new Date(r.ts), metric: r.metric, value: Number(r.value) });
        byEquipment.set(k, list);
      }
      const reachOf = new Map(
        reach.map((r) => [`${r.node_id}/${r.equipment}`, { ...r, ts: new Date(r.ts) }]),
      );
      const equipment = rows.map((e): EquipmentItem => {
        const k = `${e.node_id}/${e.key}`;
        const last = byEquipment.get(k);
        const s = equipmentState(e, last, reachOf.get(k), now);
        return {
          id: e.id,
          nodeId: e.node_id,
          nodeName: e.node_name,
          key: e.key,
          kind: e.kind,
          label: e.label,
          vendor: e.vendor,
          model: e.model,
          serial: e.serial,
          firmware: e.firmware,
          source: e.source_type,
          metrics: e.metrics,
          present: e.present,
          registeredAt: e.inventory_at ? new Date(e.inventory_at).toISOString() : null,
          areaId: e.area_id,
          lineId: e.line_id,
          state: s.state,
          reason: s.reason,
          lastReading:
            s.at && last
              ? {
                  ts: s.at.toISOString(),
                  values: last
                    .filter((r) => r.ts.getTime() === s.at!.getTime())
                    .map(({ metric, value }) => ({ metric, value }))
                    .sort((a, b) => a.metric.localeCompare(b.metric)),
                }
              : null,
        };
      });
      return {
        siteId,
        checkedAt: new Date(now).toISOString(),
        equipment,
        areas: areas.map(
          (a): Area => ({
            id: a.id,
            name: a.name,
            slug: a.slug,
            lines: a.lines.map((l) => ({ id: l.id, areaId: l.area_id, name: l.name, slug: l.slug })),
          }),
        ),
      };
    });
  }

  async commissioning(actor: Actor, siteId: string): Promise<Commissioning> {
    const list = await this.list(actor, siteId);
    const nodes = await withTenant(this.hub, actor, (trx) =>
      trx
        .selectFrom('nodes')
        .select(['id', 'name'])
        .where('site_id', '=', siteId)
        .where('active', '=', true)
        .execute(),
    );
    const expected = list.equipment.filter((e) => e.present && e.source !== null);
    const withInventory = new Set(list.equipment.filter((e) => e.source !== null).map((e) => e.nodeId));
    const problems = expected
      .filter((e) => e.state !== 'answering')
      .map((e) => ({
        equipmentId: e.id,
        nodeName: e.nodeName,
        key: e.key,
        state: e.state,
        reason: e.reason,
      }));
    const nodesWithoutInventory = nodes
      .filter((n) => !withInventory.has(n.id))
      .map((n) => ({ nodeId: n.id, nodeName: n.name ?? n.id }));
    return {
      siteId,
      checkedAt: list.checkedAt,
      ok: expected.length > 0 && problems.length === 0 && nodesWithoutInventory.length === 0,
      expected: expected.length,
      answering: expected.length - problems.length,
      problems,
      nodesWithoutInventory,
    };
  }

  async createArea(actor: Actor, siteId: string, name: string, sourceIp: string): Promise<Area> {
    await this.assertWrite(actor, siteId);
    const orgId = await siteOrgId(this.hub.db, siteId);
    const slug = slugify(name);
    const row = await withTenant(
      this.hub,
      actor,
      async (trx) => {
        const r = await insertArea(trx, siteId, name.trim(), slug);
        if (!r) return undefined;
        await auditInTransaction(trx, actor, {
          action: 'site.area.create',
          targetType: 'site',
          targetId: siteId,
          orgId,
          sourceIp,
          details: { areaId: r.id, name: r.name },
        });
        return r;
      },
      'write',
    );
    if (!row) throw new WattfleetError('WF_CONFLICT', `This site already has an area "${slug}"`);
    return { ...row, lines: [] };
  }

  async createLine(actor: Actor, areaId: string, name: string, sourceIp: string) {
    const area = await getArea(this.hub.db, areaId);
    if (!area) throw new WattfleetError('WF_NOT_FOUND', 'Area not found');
    await this.assertWrite(actor, area.site_id);
    const orgId = await siteOrgId(this.hub.db, area.site_id);
    const slug = slugify(name);
    const row = await withTenant(
      this.hub,
      actor,
      async (trx) => {
        const r = await insertLine(trx, area, name.trim(), slug);
        if (!r) return undefined;
        await auditInTransaction(trx, actor, {
          action: 'site.line.create',
          targetType: 'site',
          targetId: area.site_id,
          orgId,
          sourceIp,
          details: { areaId, lineId: r.id, name: r.name },
        });
        return r;
      },
      'write',
    );
    if (!row) throw new WattfleetError('WF_CONFLICT', `This area already has a line "${slug}"`);
    return { id: row.id, areaId: row.area_id, name: row.name, slug: row.slug };
  }

  async removeArea(actor: Actor, id: string, sourceIp: string): Promise<void> {
    const area = await getArea(this.hub.db, id);
    if (!area) throw new WattfleetError('WF_NOT_FOUND', 'Area not found');
    await this.removeIn(actor, area.site_id, sourceIp, 'site.area.delete', { areaId: id }, (trx) =>
      deleteArea(trx, id),
    );
  }

  async removeLine(actor: Actor, id: string, sourceIp: string): Promise<void> {
    const line = await getLine(this.hub.db, id);
    if (!line) throw new WattfleetError('WF_NOT_FOUND', 'Line not found');
    await this.removeIn(actor, line.site_id, sourceIp, 'site.line.delete', { lineId: id }, (trx) =>
      deleteLine(trx, id),
    );
  }

  private async removeIn(
    actor: Actor,
    siteId: string,
    sourceIp: string,
    action: string,
    details: Record<string, unknown>,
    work: (trx: Parameters<Parameters<typeof withTenant>[2]>[0]) => Promise<void>,
  ): Promise<void> {
    await this.assertWrite(actor, siteId);
    const orgId = await siteOrgId(this.hub.db, siteId);
    await withTenant(
      this.hub,
      actor,
      async (trx) => {
        await work(trx);
        await auditInTransaction(trx, actor, {
          action,
          targetType: 'site',
          targetId: siteId,
          orgId,
          sourceIp,
          details,
        });
      },
      'write',
    );
  }

  /** Places an equipment on an area and line of its own site (either may be cleared). */
  async place(actor: Actor, id: string, body: PlacementBody, sourceIp: string): Promise<EquipmentItem> {
    const eq = await getEquipment(this.hub.db, id);
    if (!eq) throw new WattfleetError('WF_NOT_FOUND', 'Equipment not found');
    await this.assertWrite(actor, eq.site_id);
    let areaId = body.areaId === undefined ? eq.area_id : body.areaId;
    let lineId =
      body.lineId === undefined
        ? body.areaId !== undefined && body.areaId !== eq.area_id
          ? null
          : eq.line_id
        : body.lineId;
    const problems: { path: string; message: string }[] = [];
    if (areaId) {
      const area = await getArea(this.hub.db, areaId);
      if (!area || area.site_id !== eq.site_id)
        problems.push({ path: '/body/areaId', message: "no such area on this equipment's site" });
    }
    if (lineId) {
      const line = await getLine(this.hub.db, lineId);
      if (!line || line.site_id !== eq.site_id)
        problems.push({ path: '/body/lineId', message: "no such line on this equipment's site" });
      else if (body.areaId === undefined) areaId = line.area_id;
      else if (areaId !== line.area_id)
        problems.push({ path: '/body/lineId', message: 'the line is not in the chosen area' });
    }
    if (areaId === null) lineId = null;
    if (problems.length > 0) {
      await audit(this.hub.db, actor, {
        action: 'equipment.place',
        targetType: 'equipment',
        targetId: id,
        result: 'failed',
        sourceIp,
      });
      throw new WattfleetError('WF_VALIDATION', 'The placement is not possible', problems);
    }
    const orgId = await siteOrgId(this.hub.db, eq.site_id);
    await withTenant(
      this.hub,
      actor,
      async (trx) => {
        await setPlacement(trx, id, { areaId: areaId ?? null, lineId: lineId ?? null });
        await auditInTransaction(trx, actor, {
          action: 'equipment.place',
          targetType: 'equipment',
          targetId: id,
          orgId,
          sourceIp,
          details: { key: eq.key, areaId, lineId },
        });
      },
      'write',
    );
    if ((areaId ?? null) !== eq.area_id || (lineId ?? null) !== eq.line_id)
      this.hub.bus.emitEvent('equipment.placed', {
        equipmentId: id,
        siteId: eq.site_id,
        from: { areaId: eq.area_id, lineId: eq.line_id },
      });
    const list = await this.list(actor, eq.site_id);
    const item = list.equipment.find((e) => e.id === id);
    if (!item) throw new WattfleetError('WF_NOT_FOUND', 'Equipment not found');
    return item;
  }
}
