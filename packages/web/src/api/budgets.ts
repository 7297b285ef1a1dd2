// A site's monthly budget: spent so far this month (the site's calendar), month-end forecast.
import type { BudgetStatus } from '@wattfleet/protocol';
import { request } from './http.ts';

export type { BudgetStatus };

export const budgetsApi = {
  get: (siteId: string, signal?: AbortSignal) =>
    request<BudgetStatus>(`/sites/${encodeURIComponent(siteId)}/budget`, signal ? { signal } : {}),
  /** null removes the budget. */
  put: (siteId: string, monthlyAmount: number | null) =>
    request<BudgetStatus>(`/sites/${encodeURIComponent(siteId)}/budget`, {
      method: 'PUT',
      body: { monthlyAmount },
    }),
};
