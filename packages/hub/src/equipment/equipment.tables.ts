// Kysely types of the asset hierarchy tables (migration 040): areas and lines of a site.
import type { ColumnType, Generated } from 'kysely';

type CreatedAt = ColumnType<Date, Date | string | undefined, never>;

export interface SiteAreasTable {
  id: Generated<string>;
  site_id: string;
  name: string;
  slug: string;
  created_at: CreatedAt;
}

export interface SiteLinesTable {
  id: Generated<string>;
  site_id: string;
  area_id: string;
  name: string;
  slug: string;
  created_at: CreatedAt;
}

declare module '../storage/schema.ts' {
  interface DB {
    site_areas: SiteAreasTable;
    site_lines: SiteLinesTable;
  }
}
