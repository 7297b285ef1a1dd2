// Monthly budget per site (issue 14.4). site_budget_notices remembers which threshold was notified
// for which of the site's months: its key is what makes "once per month per threshold" hold with
// N hubs and repeated job runs (the insert that wins the key is the one that notifies).
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
CREATE TABLE site_budgets (
  site_id uuid PRIMARY KEY REFERENCES sites (id),
  monthly_amount double precision NOT NULL CHECK (monthly_amount > 0),
  updated_by text,
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE site_budget_notices (
  site_id uuid NOT NULL REFERENCES sites (id),
  month text NOT NULL CHECK (month ~ '^[0-9]{4}-[0-9]{2}$'),
  threshold integer NOT NULL CHECK (threshold IN (80, 100)),
  spent double precision NOT NULL,
  budget double precision NOT NULL,
  notified_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (site_id, month, threshold)
);
`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE site_budget_notices; DROP TABLE site_budgets;`.execute(db);
}
