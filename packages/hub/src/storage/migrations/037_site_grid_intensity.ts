// A site's grid carbon intensity (g CO₂ per kWh of grid electricity), set by its owner, installer
// or an admin. The analytics use it for "CO₂ avoided" (analytics/co2.ts); null means not set, and
// then no CO₂ figure is given at all (never a 0 that looks measured).
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE sites
      ADD COLUMN grid_intensity_g_per_kwh double precision
        CHECK (grid_intensity_g_per_kwh BETWEEN 0 AND 2000)
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE sites DROP COLUMN grid_intensity_g_per_kwh`.execute(db);
}
