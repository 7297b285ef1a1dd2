// Kysely types of the analytics tables (migration 030), added to the shared DB interface.
import type { ColumnType, Generated, JSONColumnType } from 'kysely';

type DateCol = ColumnType<string, string, string>;
type Stamp = ColumnType<Date, Date | string | undefined, Date | string>;

export interface SiteDailyTable {
  site_id: string;
  day: DateCol;
  solar_wh: number;
  load_wh: number;
  import_wh: number;
  export_wh: number;
  charge_wh: number;
  discharge_wh: number;
  solar_to_load_wh: number;
  battery_solar_to_load_wh: number;
  solar_export_wh: number;
  self_consumption_pct: number | null;
  self_sufficiency_pct: number | null;
  peak_demand_kw: number | null;
  peak_load_kw: number | null;
  coverage: number;
  counter_resets: number;
  battery_solar_wh: number;
  battery_grid_wh: number;
  tariff_version_id: string | null;
  currency: string | null;
  cost: number | null;
  baseline_cost: number | null;
  savings: number | null;
  computed_at: Stamp;
}

export interface SiteDailyDirtyTable {
  site_id: string;
  day: DateCol;
  marked_at: Stamp;
}

export interface DailyReconciliationTable {
  site_id: string;
  day: DateCol;
  node_id: string;
  equipment: string;
  metric: string;
  reported_wh: number;
  computed_wh: number;
  diff_pct: number | null;
  flagged: boolean;
  checked_at: Stamp;
}

export interface TariffVersionsTable {
  id: Generated<string>;
  site_id: string;
  valid_from: DateCol;
  name: string | null;
  definition: JSONColumnType<Record<string, unknown>>;
  created_by: string | null;
  created_at: ColumnType<Date, never, never>;
}

declare module '../storage/schema.ts' {
  interface DB {
    site_daily: SiteDailyTable;
    site_daily_dirty: SiteDailyDirtyTable;
    daily_reconciliation: DailyReconciliationTable;
    tariff_versions: TariffVersionsTable;
  }
}
