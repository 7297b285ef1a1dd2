// Kysely types of the budget tables (migration 054), added to the shared DB interface.
import type { ColumnType } from 'kysely';

type Stamp = ColumnType<Date, Date | string | undefined, Date | string>;

export interface SiteBudgetsTable {
  site_id: string;
  monthly_amount: number;
  updated_by: string | null;
  updated_at: Stamp;
}

export interface SiteBudgetNoticesTable {
  site_id: string;
  month: string;
  threshold: number;
  spent: number;
  budget: number;
  notified_at: Stamp;
}

declare module '../storage/schema.ts' {
  interface DB {
    site_budgets: SiteBudgetsTable;
    site_budget_notices: SiteBudgetNoticesTable;
  }
}
