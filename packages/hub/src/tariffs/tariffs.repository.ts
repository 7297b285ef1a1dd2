// Tariff versions of a site. The version with the latest valid_from on or before a day is the
// one that prices it.
import { type Kysely, sql } from 'kysely';
import '../analytics/analytics.tables.ts';
import type { DB } from '../storage/schema.ts';
import type { TariffDefinition } from './tariff-cost.ts';

export interface TariffVersion {
  id: string;
  siteId: string;
  validFrom: string;
  name: string | null;
  definition: TariffDefinition;
  createdAt: Date;
}

function parse(def: unknown): TariffDefinition {
  return (typeof def === 'string' ? JSON.parse(def) : def) as TariffDefinition;
}

const columns = [
  'id',
  'site_id',
  sql<string>`valid_from::text`.as('valid_from'),
  'name',
  'definition',
  'created_at',
] as const;

type Row = {
  id: string;
  site_id: string;
  valid_from: string;
  name: string | null;
  definition: unknown;
  created_at: Date;
};
const toVersion = (r: Row): TariffVersion => ({
  id: r.id,
  siteId: r.site_id,
  validFrom: r.valid_from,
  name: r.name,
  definition: parse(r.definition),
  createdAt: r.created_at,
});

export async function tariffForDay(
  db: Kysely<DB>,
  siteId: string,
  day: string,
): Promise<TariffVersion | undefined> {
  const r = await db
    .selectFrom('tariff_versions')
    .select(columns)
    .where('site_id', '=', siteId)
    .where('valid_from', '<=', day)
    .orderBy('valid_from', 'desc')
    .limit(1)
    .executeTakeFirst();
  return r ? toVersion(r as Row) : undefined;
}

/** The versions valid from `day` or earlier, oldest first (the last one prices `day`). */
export async function tariffsUpTo(db: Kysely<DB>, siteId: string, day: string): Promise<TariffVersion[]> {
  const rows = await db
    .selectFrom('tariff_versions')
    .select(columns)
    .where('site_id', '=', siteId)
    .where('valid_from', '<=', day)
    .orderBy('valid_from')
    .execute();
  return rows.map((r) => toVersion(r as Row));
}

export async function listTariffs(db: Kysely<DB>, siteId: string): Promise<TariffVersion[]> {
  const rows = await db
    .selectFrom('tariff_versions')
    .select(columns)
    .where('site_id', '=', siteId)
    .orderBy('valid_from')
    .execute();
  return rows.map((r) => toVersion(r as Row));
}

export async function insertTariff(
  db: Kysely<DB>,
  v: {
    siteId: string;
    validFrom: string;
    name: string | null;
    definition: TariffDefinition;
    createdBy: string | null;
  },
): Promise<TariffVersion> {
  const r = await db
    .insertInto('tariff_versions')
    .values({
      site_id: v.siteId,
      valid_from: v.validFrom,
      name: v.name,
      definition: JSON.stringify(v.definition),
      created_by: v.createdBy,
    })
    .returning(columns)
    .executeTakeFirstOrThrow();
  return toVersion(r as Row);
}

export async function deleteTariff(db: Kysely<DB>, tariffId: string): Promise<void> {
  await db.deleteFrom('tariff_versions').where('id', '=', tariffId).execute();
}
