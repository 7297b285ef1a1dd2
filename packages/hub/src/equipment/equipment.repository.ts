// The only place equipment-registry SQL lives. Callers pass the Kysely handle: a tenant
// transaction (withTenant: row-level security applies) for what users ask, hub.db for what the
// hub does on its own (a node's equipment inventory).
import type { InventoryEquipment } from '@wattfleet/protocol';
import { type Kysely, sql } from 'kysely';
import type { DB } from '../storage/schema.ts';
import './equipment.tables.ts';

const json = <T>(v: unknown): T => (typeof v === 'string' ? JSON.parse(v) : v) as T;

/** The newest `equipment.inventory` event of a node. */
export async function latestEquipmentInventory(db: Kysely<DB>, nodeId: string, kind: string) {
  return db
    .selectFrom('node_events')
    .select(['data', 'ts'])
    .where('node_id', '=', nodeId)
    .where('kind', '=', kind)
    .orderBy('ts', 'desc')
    .orderBy('id', 'desc')
    .executeTakeFirst();
}

/**
 * Writes a node's equipment inventory: one row per listed equipment (identity, metrics, source),
 * rows it no longer lists kept but marked absent, and the node's series linked to their rows.
 * An older inventory than the one applied last changes nothing (events may arrive out of order).
 */
export async function applyEquipmentInventory(
  db: Kysely<DB>,
  nodeId: string,
  list: readonly InventoryEquipment[],
  at: Date,
): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    const newest = await trx
      .selectFrom('equipment')
      .select((eb) => eb.fn.max('inventory_at').as('at'))
      .where('node_id', '=', nodeId)
      .executeTakeFirst();
    if (newest?.at && new Date(newest.at).getTime() > at.getTime()) return false;
    const keys: string[] = [];
    for (const e of list) {
      const identity = {
        kind: e.kind,
        vendor: e.vendor ?? null,
        model: e.model ?? null,
        serial: e.serial ?? null,
        firmware: e.firmware ?? null,
        label: e.label ?? null,
        source_type: e.source,
        metrics: JSON.stringify(e.metrics),
        present: true,
        inventory_at: at,
        updated_at: new Date(),
      };
      await trx
        .insertInto('equipment')
        .values({ node_id: nodeId, key: e.key, ...identity })
        .onConflict((oc) => oc.columns(['node_id', 'key']).doUpdateSet(identity))
        .execute();
      keys.push(e.key);
    }
    let gone = trx
      .updateTable('equipment')
      .set({ present: false, inventory_at: at, updated_at: new Date() })
      .where('node_id', '=', nodeId)
      .where('present', '=', true)
      // A vendor cloud's virtual node has no agent to list its equipment.
      .where('source_type', 'is not', null);
    if (keys.length > 0) gone = gone.where('key', 'not in', keys);
    await gone.execute();
    await linkSeries(trx, nodeId);
    return true;
  });
}

/** Series of a node that do not know their equipment row yet learn it. */
export async function linkSeries(db: Kysely<DB>, nodeId: string): Promise<void> {
  await sql`
    UPDATE series s SET equipment_id = e.id FROM equipment e
     WHERE s.node_id = ${nodeId} AND e.node_id = s.node_id AND e.key = s.equipment
       AND s.equipment_id IS DISTINCT FROM e.id`.execute(db);
}

export interface EquipmentRow {
  id: string;
  node_id: string;
  node_name: string;
  node_status: string;
  poll_interval_s: number | null;
  key: string;
  kind: string;
  vendor: string | null;
  model: string | null;
  serial: string | null;
  firmware: string | null;
  label: string | null;
  source_type: string | null;
  metrics: string[];
  present: boolean;
  inventory_at: Date | null;
  area_id: string | null;
  line_id: string | null;
}

export async function listSiteEquipment(db: Kysely<DB>, siteId: string): Promise<EquipmentRow[]> {
  const rows = await db
    .selectFrom('equipment as e')
    .innerJoin('nodes as n', 'n.id', 'e.node_id')
    .select([
      'e.id',
      'e.node_id',
      'n.name as node_name',
      'n.status as node_status',
      'n.sample_interval_s as poll_interval_s',
      'e.key',
      'e.kind',
      'e.vendor',
      'e.model',
      'e.serial',
      'e.firmware',
      'e.label',
      'e.source_type',
      'e.metrics',
      'e.present',
      'e.inventory_at',
      'e.area_id',
      'e.line_id',
    ])
    .where('n.site_id', '=', siteId)
    .where('n.active', '=', true)
    .orderBy('n.name')
    .orderBy('e.key')
    .execute();
  return rows.map((r) => ({ ...r, metrics: json<string[]>(r.metrics) ?? [] }));
}

/** Newest value of every series of the site's equipment (one index probe per series). */
export async function latestBySeries(db: Kysely<DB>, siteId: string) {
  const { rows } = await sql<{ node_id: string; equipment: string; metric: string; ts: Date; value: number }>`
    SELECT s.node_id, s.equipment, s.metric, l.ts, l.value
      FROM series s
      CROSS JOIN LATERAL (
        SELECT ts, value FROM samples WHERE series_id = s.id ORDER BY ts DESC LIMIT 1
      ) l
     WHERE s.site_id = ${siteId}`.execute(db);
  return rows;
}

/** The newest reachability event of each equipment of the site's nodes. */
export async function latestReachability(db: Kysely<DB>, siteId: string, kinds: readonly string[]) {
  const { rows } = await sql<{ node_id: string; equipment: string; kind: string; ts: Date; message: string }>`
    SELECT DISTINCT ON (node_id, equipment) node_id, equipment, kind, ts, message
      FROM node_events
     WHERE site_id = ${siteId} AND equipment IS NOT NULL AND kind IN (${sql.join(kinds)})
     ORDER BY node_id, equipment, ts DESC, id DESC`.execute(db);
  return rows;
}

export async function getEquipment(db: Kysely<DB>, id: string) {
  return db
    .selectFrom('equipment as e')
    .innerJoin('nodes as n', 'n.id', 'e.node_id')
    .select(['e.id', 'e.key', 'e.node_id', 'n.site_id', 'e.area_id', 'e.line_id'])
    .where('e.id', '=', id)
    .executeTakeFirst();
}

export async function setPlacement(
  db: Kysely<DB>,
  id: string,
  p: { areaId: string | null; lineId: string | null },
): Promise<void> {
  await db
    .updateTable('equipment')
    .set({ area_id: p.areaId, line_id: p.lineId, updated_at: new Date() })
    .where('id', '=', id)
    .execute();
}

export async function listAreas(db: Kysely<DB>, siteId: string) {
  const areas = await db
    .selectFrom('site_areas')
    .select(['id', 'name', 'slug'])
    .where('site_id', '=', siteId)
    .orderBy('name')
    .execute();
  const lines = await db
    .selectFrom('site_lines')
    .select(['id', 'area_id', 'name', 'slug'])
    .where('site_id', '=', siteId)
    .orderBy('name')
    .execute();
  return areas.map((a) => ({ ...a, lines: lines.filter((l) => l.area_id === a.id) }));
}

export async function insertArea(db: Kysely<DB>, siteId: string, name: string, slug: string) {
  return db
    .insertInto('site_areas')
    .values({ site_id: siteId, name, slug })
    .onConflict((oc) => oc.columns(['site_id', 'slug']).doNothing())
    .returning(['id', 'name', 'slug'])
    .executeTakeFirst();
}

export async function getArea(db: Kysely<DB>, id: string) {
  return db
    .selectFrom('site_areas')
    .select(['id', 'site_id', 'name', 'slug'])
    .where('id', '=', id)
    .executeTakeFirst();
}

export async function insertLine(
  db: Kysely<DB>,
  area: { id: string; site_id: string },
  name: string,
  slug: string,
) {
  return db
    .insertInto('site_lines')
    .values({ site_id: area.site_id, area_id: area.id, name, slug })
    .onConflict((oc) => oc.columns(['area_id', 'slug']).doNothing())
    .returning(['id', 'area_id', 'name', 'slug'])
    .executeTakeFirst();
}

export async function getLine(db: Kysely<DB>, id: string) {
  return db
    .selectFrom('site_lines')
    .select(['id', 'site_id', 'area_id', 'name', 'slug'])
    .where('id', '=', id)
    .executeTakeFirst();
}

export async function deleteArea(db: Kysely<DB>, id: string): Promise<void> {
  await db.deleteFrom('site_areas').where('id', '=', id).execute();
}

export async function deleteLine(db: Kysely<DB>, id: string): Promise<void> {
  await db.deleteFrom('site_lines').where('id', '=', id).execute();
}
