// Monthly budget of a site: its status (spent so far this month on the site's calendar, month-end
// forecast), setting it (site write access, audited), and the job that notifies at 80 % and 100 %
// of it through the org's notification channels, once per site, month and threshold (a notice row
// claimed by key, so N hubs and repeated runs send it once). Routes stay thin; SQL is in
// budgets.repository.ts.
import { BUDGET_THRESHOLDS, type BudgetBody, type BudgetStatus, WattfleetError } from '@wattfleet/protocol';
import type { Kysely, Transaction } from 'kysely';
import { siteTimezone } from '../analytics/analytics.repository.ts';
import { audit } from '../audit/audit.ts';
import { assertSiteAccess } from '../auth/access.ts';
import { type Actor, actorId } from '../auth/actor.ts';
import type { HubContext } from '../context.ts';
import { withTenant } from '../identity/tenant.ts';
import { enabledChannels } from '../notifications/notifications.repository.ts';
import type { DB } from '../storage/schema.ts';
import { monthEndForecast, siteMonth } from './budget-month.ts';
import {
  budgetedSites,
  claimNotice,
  deleteBudget,
  getBudget,
  insertBudgetMessage,
  monthCost,
  noticesOf,
  putBudget,
} from './budgets.repository.ts';

const RANK = { info: 0, warning: 1, critical: 2 } as const;
const round = (n: number) => Math.round(n * 100) / 100;

async function statusOf(
  db: Kysely<DB> | Transaction<DB>,
  siteId: string,
  timezone: string,
  nowMs: number,
): Promise<BudgetStatus> {
  const m = siteMonth(nowMs, timezone);
  const budget = await getBudget(db, siteId);
  const { spent, currency } = await monthCost(db, siteId, m.firstDay, m.lastDay);
  const forecast = monthEndForecast(spent, m, nowMs);
  const amount = budget ? Number(budget.monthly_amount) : null;
  return {
    siteId,
    monthlyAmount: amount,
    currency,
    month: m.month,
    timezone,
    spent: round(spent),
    forecast: round(forecast),
    spentPercent: amount ? round((spent / amount) * 100) : null,
    forecastPercent: amount ? round((forecast / amount) * 100) : null,
    notified: await noticesOf(db, siteId, m.month),
  };
}

export class BudgetService {
  constructor(private readonly hub: HubContext) {}

  async get(actor: Actor, siteId: string, nowMs = Date.now()): Promise<BudgetStatus> {
    const scope = await assertSiteAccess(this.hub, actor, siteId);
    const timezone = await siteTimezone(this.hub.db, siteId);
    if (!timezone) throw new WattfleetError('WF_NOT_FOUND', 'Site not found');
    return withTenant(this.hub, actor, (trx) => statusOf(trx, siteId, timezone, nowMs), 'read', scope);
  }

  async put(actor: Actor, siteId: string, body: BudgetBody, sourceIp: string): Promise<BudgetStatus> {
    const scope = await assertSiteAccess(this.hub, actor, siteId, 'write');
    const timezone = await siteTimezone(this.hub.db, siteId);
    if (!timezone) throw new WattfleetError('WF_NOT_FOUND', 'Site not found');
    const by = `${actor.kind}:${actorId(actor) ?? ''}`;
    // Written as the tenant (row-level security refuses it too), audited in the same breath.
    const status = await withTenant(
      this.hub,
      actor,
      async (trx) => {
        if (body.monthlyAmount === null) await deleteBudget(trx, siteId);
        else await putBudget(trx, siteId, body.monthlyAmount, by);
        return statusOf(trx, siteId, timezone, Date.now());
      },
      'write',
      scope,
    );
    await audit(this.hub.db, actor, {
      action: 'site.budget',
      targetType: 'site',
      targetId: siteId,
      sourceIp,
      details: { monthlyAmount: body.monthlyAmount },
    });
    return status;
  }
}

/**
 * The job: for every budgeted site, each threshold its month's spending has reached is claimed
 * once and sent to the org's enabled channels that take its severity (80 % warning, 100 %
 * critical). The payload carries the alert-shaped summary the channel senders already word.
 * Returns how many messages were queued.
 */
export async function notifyBudgets(hub: HubContext, now = new Date()): Promise<number> {
  let queued = 0;
  for (const site of await budgetedSites(hub.db)) {
    const amount = Number(site.monthly_amount);
    const m = siteMonth(now.getTime(), site.timezone);
    const { spent, currency } = await monthCost(hub.db, site.id, m.firstDay, m.lastDay);
    for (const threshold of BUDGET_THRESHOLDS) {
      if (spent < (amount * threshold) / 100) continue;
      const won = await claimNotice(hub.db, {
        siteId: site.id,
        month: m.month,
        threshold,
        spent,
        budget: amount,
        now,
      });
      if (!won) continue;
      const severity = threshold >= 100 ? 'critical' : 'warning';
      const money = (n: number) => `${n.toFixed(2)}${currency ? ` ${currency}` : ''}`;
      const message = `${site.name} has spent ${money(spent)} of its ${money(amount)} budget for ${m.month} (${Math.round((spent / amount) * 100)} %)`;
      const payload = {
        event: 'budget',
        alert: {
          id: `budget:${site.id}:${m.month}:${threshold}`,
          rule: `budget_${threshold}`,
          severity,
          state: 'open',
          message,
          value: spent,
          siteId: site.id,
          siteName: site.name,
          nodeId: null,
          targetId: site.id,
          openedAt: now.toISOString(),
        },
        budget: { month: m.month, threshold, spent, amount, currency },
        at: now.toISOString(),
      };
      for (const ch of await enabledChannels(hub.db, site.org_id)) {
        if (RANK[severity] < RANK[ch.min_severity]) continue;
        await insertBudgetMessage(hub.db, {
          channelId: ch.id,
          throttleKey: `budget:${site.id}:${m.month}:${threshold}`,
          payload,
          now,
        });
        queued++;
      }
    }
  }
  return queued;
}
