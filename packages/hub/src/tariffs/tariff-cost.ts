// Pure tariff arithmetic: which rate applies to a slot (weekday, season, time of day in the site's
// zone) and what a day cost, with and without the site's solar and battery.
import Type, { type Static } from 'typebox';
import type { DaySlots } from '../analytics/energy-day.ts';
import { localParts } from '../time/zoned.ts';

const HHMM = Type.String({ pattern: '^([01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$' });

export const TariffPeriod = Type.Object(
  {
    name: Type.Optional(Type.String({ maxLength: 60 })),
    /** 0 = Sunday … 6 = Saturday; absent = every day. */
    weekdays: Type.Optional(Type.Array(Type.Integer({ minimum: 0, maximum: 6 }), { minItems: 1 })),
    /** Season as months 1–12; absent = all year. */
    months: Type.Optional(Type.Array(Type.Integer({ minimum: 1, maximum: 12 }), { minItems: 1 })),
    /** Local wall time, [from, to); to < from wraps past midnight. */
    from: HHMM,
    to: HHMM,
    /** Import price per kWh. */
    rate: Type.Number({ minimum: 0 }),
  },
  { additionalProperties: false },
);

export const TariffDefinition = Type.Object(
  {
    currency: Type.String({ pattern: '^[A-Z]{3}$' }),
    /** Import price per kWh outside every period. */
    importRate: Type.Number({ minimum: 0 }),
    /** First matching period wins. */
    periods: Type.Array(TariffPeriod, { maxItems: 48 }),
    /** Paid per exported kWh. */
    exportRate: Type.Number({ minimum: 0 }),
    /** Fixed charge per day. */
    dailyCharge: Type.Number({ minimum: 0 }),
    /** Per kW of the month's highest 15-minute import; charged in monthly summaries. */
    demandChargePerKw: Type.Optional(Type.Number({ minimum: 0 })),
  },
  { additionalProperties: false },
);
export type TariffDefinition = Static<typeof TariffDefinition>;

const minutes = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

/** Import rate at local time of instant ms. */
export function importRateAt(tariff: TariffDefinition, ms: number, timezone: string): number {
  const p = localParts(ms, timezone);
  const weekday = new Date(Date.UTC(p.year, p.month - 1, p.day)).getUTCDay();
  const m = p.hour * 60 + p.minute;
  for (const period of tariff.periods) {
    if (period.weekdays && !period.weekdays.includes(weekday)) continue;
    if (period.months && !period.months.includes(p.month)) continue;
    const from = minutes(period.from);
    const to = minutes(period.to);
    const inside = from <= to ? m >= from && m < to : m >= from || m < to;
    if (inside) return period.rate;
  }
  return tariff.importRate;
}

export interface DayCost {
  /** What the site paid: imports, minus export credit, plus the fixed charge. */
  cost: number;
  /** What the same load would have cost with neither solar nor battery. */
  baselineCost: number;
  savings: number;
}

export function dayCost(tariff: TariffDefinition, slots: DaySlots, timezone: string): DayCost {
  let importCost = 0;
  let baseline = 0;
  let exportCredit = 0;
  const n = slots.flows.import.length;
  for (let k = 0; k < n; k++) {
    // The rate of the slot's start: slots are 5 min and tariff edges fall on whole minutes of 5.
    const rate = importRateAt(tariff, slots.start + k * slots.slotMs, timezone);
    importCost += (slots.flows.import[k]! / 1000) * rate;
    baseline += (slots.flows.load[k]! / 1000) * rate;
    exportCredit += (slots.flows.export[k]! / 1000) * tariff.exportRate;
  }
  const cost = importCost - exportCredit + tariff.dailyCharge;
  const baselineCost = baseline + tariff.dailyCharge;
  return { cost, baselineCost, savings: baselineCost - cost };
}
