// SQL of the unified namespace: org settings, reader credentials, and what the publisher needs to
// name a series' topic (org slug, site, area, line, equipment) and to republish last values.
import { type Kysely, sql } from 'kysely';
import type { DB } from '../storage/schema.ts';
import '../equipment/equipment.tables.ts';
import './uns.tables.ts';

export async function getSettings(db: Kysely<DB>, orgId: string) {
  return db
    .selectFrom('uns_org_settings')
    .select(['org_id', 'enabled', 'slug', 'updated_at'])
    .where('org_id', '=', orgId)
    .executeTakeFirst();
}

export async function orgName(db: Kysely<DB>, orgId: string): Promise<string | undefined> {
  const r = await db.selectFrom('orgs').select('name').where('id', '=', orgId).executeTakeFirst();
  return r?.name;
}

/** The org owning `slug`, if any (slugs are unique across the hub). */
export async function slugOwner(db: Kysely<DB>, slug: string): Promise<string | undefined> {
  const r = await db
    .selectFrom('uns_org_settings')
    .select('org_id')
    .where('slug', '=', slug)
    .executeTakeFirst();
  return r?.org_id;
}

export async function upsertSettings(db: Kysely<DB>, orgId: string, enabled: boolean, slug: string) {
  await db
    .insertInto('uns_org_settings')
    .values({ org_id: orgId, enabled, slug })
    .onConflict((oc) => oc.column('org_id').doUpdateSet({ enabled, slug, updated_at: new Date() }))
    .execute();
}

export async function insertCredential(
  db: Kysely<DB>,
  row: { orgId: string; username: string; passwordHash: string; label: string | null },
) {
  return db
    .insertInto('uns_credentials')
    .values({ org_id: row.orgId, username: row.username, password_hash: row.passwordHash, label: row.label })
    .returning(['id', 'username', 'label', 'created_at'])
    .executeTakeFirstOrThrow();
}

export async function listCredentials(db: Kysely<DB>, orgId: string) {
  return db
    .selectFrom('uns_credentials')
    .select(['id', 'username', 'label', 'created_at', 'revoked_at'])
    .where('org_id', '=', orgId)
    .orderBy('created_at')
    .orderBy('id')
    .execute();
}

export async function revokeCredential(db: Kysely<DB>, orgId: string, id: string): Promise<boolean> {
  const r = await db
    .updateTable('uns_credentials')
    .set({ revoked_at: new Date() })
    .where('org_id', '=', orgId)
    .where('id', '=', id)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

/** Broker side (system connection): a live credential by username, with its hash. */
export async function credentialByUsername(db: Kysely<DB>, username: string) {
  return db
    .selectFrom('uns_credentials')
    .select(['id', 'org_id', 'password_hash'])
    .where('username', '=', username)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
}

/** Every live reader with its org's slug (Mosquitto password and ACL files). */
export async function activeReaders(db: Kysely<DB>) {
  return db
    .selectFrom('uns_credentials as c')
    .innerJoin('uns_org_settings as u', 'u.org_id', 'c.org_id')
    .select(['c.id', 'c.org_id', 'c.username', 'c.password_hash', 'u.slug'])
    .where('c.revoked_at', 'is', null)
    .orderBy('c.username')
    .execute();
}

export async function allSlugs(db: Kysely<DB>) {
  return db.selectFrom('uns_org_settings').select(['org_id', 'slug']).execute();
}

export interface SeriesPlace {
  series_id: number;
  node_id: string;
  site_id: string;
  org_id: string;
  equipment: string;
  metric: string;
  equipment_id: string | null;
  area_id: string | null;
  line_id: string | null;
  area_slug: string | null;
  line_slug: string | null;
  org_slug: string | null;
  enabled: boolean | null;
  /** Another node of the site has equipment with the same key. */
  shared: boolean;
}

/** Where each series sits: org (with its UNS settings), site, area, line and equipment. */
export async function seriesPlaces(db: Kysely<DB>, seriesIds: number[]): Promise<SeriesPlace[]> {
  if (seriesIds.length === 0) return [];
  const { rows } = await sql<SeriesPlace>`
    SELECT s.id AS series_id, s.node_id, s.site_id, si.org_id, s.equipment, s.metric,
           e.id AS equipment_id, e.area_id, e.line_id, a.slug AS area_slug, l.slug AS line_slug,
           u.slug AS org_slug, u.enabled,
           EXISTS (SELECT 1 FROM series o WHERE o.site_id = s.site_id AND o.equipment = s.equipment
                      AND o.node_id <> s.node_id AND s.equipment <> '') AS shared
      FROM series s
      JOIN sites si ON si.id = s.site_id
      LEFT JOIN uns_org_settings u ON u.org_id = si.org_id
      LEFT JOIN equipment e ON e.node_id = s.node_id AND e.key = s.equipment
      LEFT JOIN site_areas a ON a.id = e.area_id
      LEFT JOIN site_lines l ON l.id = e.line_id
     WHERE s.id = ANY(${seriesIds}::int8[])`.execute(db);
  return rows.map((r) => ({ ...r, series_id: Number(r.series_id) }));
}

export async function orgSites(db: Kysely<DB>, orgId: string) {
  return db.selectFrom('sites').select(['id', 'name', 'created_at']).where('org_id', '=', orgId).execute();
}

export async function seriesOfEquipment(db: Kysely<DB>, equipmentId: string): Promise<number[]> {
  const { rows } = await sql<{ id: string | number }>`
    SELECT s.id FROM series s JOIN equipment e ON e.node_id = s.node_id AND e.key = s.equipment
     WHERE e.id = ${equipmentId}`.execute(db);
  return rows.map((r) => Number(r.id));
}

export async function seriesOfOrg(db: Kysely<DB>, orgId: string): Promise<number[]> {
  const { rows } = await sql<{ id: string | number }>`
    SELECT s.id FROM series s JOIN sites si ON si.id = s.site_id WHERE si.org_id = ${orgId}`.execute(db);
  return rows.map((r) => Number(r.id));
}

export async function slugsOf(db: Kysely<DB>, areaId: string | null, lineId: string | null) {
  const [area, line] = await Promise.all([
    areaId
      ? db.selectFrom('site_areas').select('slug').where('id', '=', areaId).executeTakeFirst()
      : undefined,
    lineId
      ? db.selectFrom('site_lines').select('slug').where('id', '=', lineId).executeTakeFirst()
      : undefined,
  ]);
  return { areaSlug: area?.slug ?? null, lineSlug: line?.slug ?? null };
}

/**
 * The newest sample of each series, with whether a data-contract finding was last seen at exactly
 * that sample (the quality rule of uns.topics.ts, as far as the stored aggregate can tell).
 */
export async function latestSamples(db: Kysely<DB>, seriesIds: number[]) {
  if (seriesIds.length === 0) return [];
  const { rows } = await sql<{ series_id: string | number; ts: Date; value: number; bad: boolean }>`
    SELECT s.id AS series_id, l.ts, l.value,
           EXISTS (SELECT 1 FROM data_quality_findings f
                    WHERE f.node_id = s.node_id AND f.equipment = s.equipment AND f.metric = s.metric
                      AND f.rule <> 'required_missing' AND f.last_seen_at = l.ts) AS bad
      FROM series s
      CROSS JOIN LATERAL (
        SELECT ts, value FROM samples WHERE series_id = s.id ORDER BY ts DESC LIMIT 1
      ) l
     WHERE s.id = ANY(${seriesIds}::int8[])`.execute(db);
  return rows.map((r) => ({
    seriesId: Number(r.series_id),
    ts: new Date(r.ts),
    value: Number(r.value),
    bad: r.bad,
  }));
}
