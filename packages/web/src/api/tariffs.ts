// Tariff versions of a site, as the hub's tariff API answers them (camelCase, see
// hub/src/tariffs/tariffs.schema.ts). A version prices the site's days from validFrom on.
import { request } from './http.ts';

export interface TariffPeriod {
  name?: string;
  /** 0 = Sunday … 6 = Saturday; absent = every day. */
  weekdays?: number[];
  /** 1–12; absent = all year. */
  months?: number[];
  /** Local wall time "HH:MM", [from, to); to < from wraps past midnight. */
  from: string;
  to: string;
  rate: number;
}

export interface TariffDefinition {
  currency: string;
  importRate: number;
  periods: TariffPeriod[];
  exportRate: number;
  dailyCharge: number;
  demandChargePerKw?: number;
}

export interface Tariff {
  id: string;
  siteId: string;
  validFrom: string;
  name: string | null;
  definition: TariffDefinition;
  createdAt: string;
}

const base = (siteId: string) => `/sites/${encodeURIComponent(siteId)}/tariffs`;

export const tariffsApi = {
  list: (siteId: string, signal?: AbortSignal) => request<Tariff[]>(base(siteId), signal ? { signal } : {}),
  create: (siteId: string, body: { validFrom: string; name?: string; definition: TariffDefinition }) =>
    request<Tariff>(base(siteId), { body }),
  remove: (siteId: string, tariffId: string) =>
    request<null>(`${base(siteId)}/${encodeURIComponent(tariffId)}`, { method: 'DELETE' }),
};
