// The equipment registry and the asset hierarchy (issue 17, ISA-95: enterprise = org, site, area,
// line, equipment). The spine's `equipment` rows are now written from the agent's equipment
// inventory with what it knows (firmware, the metrics delivered, the source type), kept when the
// node stops listing them (present = false, their history stays), and placed by an installer on
// an optional area and line of the site. Series learn their equipment row.
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
CREATE TABLE site_areas (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  site_id uuid NOT NULL REFERENCES sites (id),
  name text NOT NULL,
  slug text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (site_id, slug),
  UNIQUE (id, site_id)
);
CREATE TABLE site_lines (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  site_id uuid NOT NULL,
  area_id uuid NOT NULL,
  name text NOT NULL,
  slug text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  -- A line lies in an area of the same site.
  FOREIGN KEY (area_id, site_id) REFERENCES site_areas (id, site_id) ON DELETE CASCADE,
  UNIQUE (area_id, slug),
  UNIQUE (id, area_id)
);
CREATE INDEX site_lines_site ON site_lines (site_id);

ALTER TABLE equipment
  ADD COLUMN firmware text,
  ADD COLUMN label text,
  ADD COLUMN source_type text,
  ADD COLUMN metrics jsonb NOT NULL DEFAULT '[]',
  ADD COLUMN present boolean NOT NULL DEFAULT true,
  ADD COLUMN inventory_at timestamptz,
  ADD COLUMN area_id uuid REFERENCES site_areas (id) ON DELETE SET NULL,
  ADD COLUMN line_id uuid REFERENCES site_lines (id) ON DELETE SET NULL,
  ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();

ALTER TABLE series ADD COLUMN equipment_id uuid REFERENCES equipment (id);
UPDATE series s SET equipment_id = e.id FROM equipment e WHERE e.node_id = s.node_id AND e.key = s.equipment;
`.execute(db);
  for (const t of ['site_areas', 'site_lines'])
    await sql.raw(`SELECT wattfleet_enable_site_rls('${t}')`).execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
ALTER TABLE series DROP COLUMN equipment_id;
ALTER TABLE equipment DROP COLUMN firmware, DROP COLUMN label, DROP COLUMN source_type, DROP COLUMN metrics,
  DROP COLUMN present, DROP COLUMN inventory_at, DROP COLUMN area_id, DROP COLUMN line_id, DROP COLUMN updated_at;
DROP TABLE site_lines, site_areas;
`.execute(db);
}
