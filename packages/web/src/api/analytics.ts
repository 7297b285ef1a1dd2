// Daily and monthly site summaries computed by the hub (kWh, self-consumption, savings).
import { request } from './http.ts';

export interface EnergySummary {
  solarKwh: number | null;
  loadKwh: number | null;
  importKwh: number | null;
  exportKwh: number | null;
  batteryChargeKwh: number | null;
  batteryDischargeKwh: number | null;
  selfConsumptionPct: number | null;
  selfSufficiencyPct: number | null;
  savings: number | null;
  currency: string | null;
}

export interface DayRow extends EnergySummary {
  day: string;
}

export interface MonthRow extends EnergySummary {
  month: string;
}

const sid = (siteId: string) => encodeURIComponent(siteId);

export const analyticsApi = {
  /** from/to are YYYY-MM-DD in the site's time zone. */
  daily: (siteId: string, from: string, to: string) =>
    request<DayRow[]>(`/sites/${sid(siteId)}/daily`, { query: { from, to } }),
  /** from/to are YYYY-MM. */
  monthly: (siteId: string, from: string, to: string) =>
    request<MonthRow[]>(`/sites/${sid(siteId)}/monthly`, { query: { from, to } }),
};

/** Share of the home's consumption that solar production covers (kWh / kWh), or null. */
export function solarOffsetPct(s: EnergySummary): number | null {
  if (s.solarKwh === null || !s.loadKwh) return null;
  return Math.min(100, (s.solarKwh / s.loadKwh) * 100);
}
