// Monthly budget of a site (issue 14.4): the wire formats of GET/PUT /sites/:id/budget. Amounts are
// in the currency of the site's tariff (what its daily costs are priced in); the month is the
// site's own calendar month, in its time zone.
import Type, { type Static } from 'typebox';

/** The thresholds (percent of the budget spent) that notify, each once per month. */
export const BUDGET_THRESHOLDS = [80, 100] as const;

export const BudgetBody = Type.Object(
  {
    monthlyAmount: Type.Union([Type.Number({ exclusiveMinimum: 0, maximum: 1e9 }), Type.Null()], {
      description: 'Budget per calendar month at the site; null removes it',
    }),
  },
  { additionalProperties: false },
);
export type BudgetBody = Static<typeof BudgetBody>;

export const BudgetStatus = Type.Object({
  siteId: Type.String({ format: 'uuid' }),
  monthlyAmount: Type.Union([Type.Number(), Type.Null()]),
  currency: Type.Union([Type.String(), Type.Null()], { description: "The tariff's, from the priced days" }),
  month: Type.String({ pattern: '^\\d{4}-\\d{2}$', description: "The site's current month (its zone)" }),
  timezone: Type.String(),
  spent: Type.Number({ description: 'Cost of the priced days of this month so far' }),
  forecast: Type.Number({ description: 'Spent, extrapolated to the end of the month by elapsed time' }),
  spentPercent: Type.Union([Type.Number(), Type.Null()]),
  forecastPercent: Type.Union([Type.Number(), Type.Null()]),
  notified: Type.Array(Type.Integer(), { description: 'Thresholds already notified this month' }),
});
export type BudgetStatus = Static<typeof BudgetStatus>;
