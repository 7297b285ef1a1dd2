// SQL of site budgets: the budget row, the month's priced days, the notices already sent, and the
// outbox rows of a budget notification. Functions take the executor so a caller may pass a
// tenant transaction (row-level security) or the hub's own connection (the job).
import type { Kysely, Transaction } from 'kysely';
import type { DB } from '../storage/schema.ts';
import './budgets.tables.ts';

type Db = Kysely<DB> | Transaction<DB>;

export async function getBudget(db: Db, siteId: string) {
  return db.selectFrom('site_budgets').selectAll().where('site_id', '=', siteId).executeTakeFirst();
}

export async function putBudget(db: Db, siteId: string, amount: number, updatedBy: string): Promise<void> {
  await db
    .insertInto('site_budgets')
    .values({ site_id: siteId, monthly_amount: amount, updated_by: updatedBy, updated_at: new Date() })
    .onConflict((oc) =>
      oc
        .column('site_id')
        .doUpdateSet({ monthly_amount: amount, updated_by: updatedBy, updated_at: new Date() }),
    )
    .execute();
}

export async function deleteBudget(db: Db, siteId: string): Promise<void> {
  await db.deleteFrom('site_budgets').where('site_id', '=', siteId).execute();
}

/** Cost of the site's priced days between two local dates (inclusive), and their currency. */
export async function monthCost(
  db: Db,
  siteId: string,
  firstDay: string,
  lastDay: string,
): Promise<{ spent: number; currency: string | null }> {
  const row = await db
    .selectFrom('site_daily')
    .select((eb) => [
      eb.fn.sum<number | string | null>('cost').as('spent'),
      eb.fn.max('currency').as('currency'),
    ])
    .where('site_id', '=', siteId)
    .where('day', '>=', firstDay)
    .where('day', '<=', lastDay)
    .where('cost', 'is not', null)
    .executeTakeFirst();
  return { spent: Number(row?.spent ?? 0), currency: (row?.currency as string | null) ?? null };
}

export async function noticesOf(db: Db, siteId: string, month: string): Promise<number[]> {
  const rows = await db
    .selectFrom('site_budget_notices')
    .select('threshold')
    .where('site_id', '=', siteId)
    .where('month', '=', month)
    .orderBy('threshold')
    .execute();
  return rows.map((r) => r.threshold);
}

/** True when this call recorded the notice (the key makes every later attempt a no-op). */
export async function claimNotice(
  db: Db,
  n: { siteId: string; month: string; threshold: number; spent: number; budget: number; now: Date },
): Promise<boolean> {
  const row = await db
    .insertInto('site_budget_notices')
    .values({
      site_id: n.siteId,
      month: n.month,
      threshold: n.threshold,
      spent: n.spent,
      budget: n.budget,
      notified_at: n.now,
    })
    .onConflict((oc) => oc.columns(['site_id', 'month', 'threshold']).doNothing())
    .returning('threshold')
    .executeTakeFirst();
  return row !== undefined;
}

/** Every site with a budget, with what the job needs to judge and word it. */
export async function budgetedSites(db: Db) {
  return db
    .selectFrom('site_budgets')
    .innerJoin('sites', 'sites.id', 'site_budgets.site_id')
    .select(['sites.id', 'sites.org_id', 'sites.name', 'sites.timezone', 'site_budgets.monthly_amount'])
    .execute();
}

/** One outbox row for a channel; not an alert, so alert_id stays empty. */
export async function insertBudgetMessage(
  db: Db,
  m: { channelId: string; throttleKey: string; payload: Record<string, unknown>; now: Date },
): Promise<void> {
  await db
    .insertInto('notification_outbox')
    .values({
      channel_id: m.channelId,
      alert_id: null,
      throttle_key: m.throttleKey,
      payload: JSON.stringify(m.payload),
      status: 'pending',
      next_attempt_at: m.now,
      last_error: null,
      created_at: m.now,
      sent_at: null,
    })
    .execute();
}
