// The demo fleet's tariffs, so costs and savings show on the first start: a time-of-use tariff
// per site in a currency that fits its zone (cheap nights, a weekday evening peak). Added to any
// demo site without one, also on a data directory created before demo sites had tariffs; days
// already stored are then queued for re-pricing.

import { markStoredDays } from '../analytics/site-day.service.ts';
import type { HubContext } from '../context.ts';
import type { TariffDefinition } from '../tariffs/tariff-cost.ts';
import { insertTariff, listTariffs } from '../tariffs/tariffs.repository.ts';
import type { DemoNode } from './demo.seed.ts';

/** Early enough to price every backfilled day. */
const DEMO_TARIFF_FROM = '2000-01-01';

const CURRENCY: [RegExp, string, number][] = [
  // zone prefix, currency, price scale against the EUR figures below
  [/^Europe\/London$/, 'GBP', 0.85],
  [/^Europe\//, 'EUR', 1],
  [/^America\/Sao_Paulo$/, 'BRL', 5],
  [/^America\//, 'USD', 0.6],
  [/^Africa\/Johannesburg$/, 'ZAR', 12],
  [/^Asia\/Kolkata$/, 'INR', 40],
  [/^Asia\/Tokyo$/, 'JPY', 110],
  [/^Australia\//, 'AUD', 1.2],
];

export function demoTariff(timezone: string): TariffDefinition {
  const [, currency, k] = CURRENCY.find(([re]) => re.test(timezone)) ?? [/./, 'EUR', 1];
  const price = (eur: number) => Math.round(eur * k * 100) / 100;
  return {
    currency,
    importRate: price(0.32),
    periods: [
      { name: 'Night', from: '00:00', to: '07:00', rate: price(0.22) },
      { name: 'Evening peak', weekdays: [1, 2, 3, 4, 5], from: '17:00', to: '21:00', rate: price(0.42) },
    ],
    exportRate: price(0.08),
    dailyCharge: price(0.35),
  };
}

/** Gives every demo site without a tariff its demo tariff; returns how many were added. */
export async function seedDemoTariffs(hub: HubContext, nodes: DemoNode[]): Promise<number> {
  let added = 0;
  for (const siteId of new Set(nodes.map((n) => n.siteId))) {
    if ((await listTariffs(hub.db, siteId)).length > 0) continue;
    const site = nodes.find((n) => n.siteId === siteId)!.site;
    await insertTariff(hub.db, {
      siteId,
      validFrom: DEMO_TARIFF_FROM,
      name: 'Demo time-of-use',
      definition: demoTariff(site.timezone),
      createdBy: null,
    });
    await markStoredDays(hub, siteId, DEMO_TARIFF_FROM, undefined);
    added++;
  }
  return added;
}
