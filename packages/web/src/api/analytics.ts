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
  /** Highest 15-minute average import of the period, kW. */
  peakDemandKw: number | null;
  cost: number | null;
  savings: number | null;
  currency: string | null;
  /**
   * CO₂ avoided, kg: solar used on site or exported × the site's grid intensity (the hub's
   * analytics/co2.ts); null when the site has no intensity set (show a hint, never 0).
   */
  co2AvoidedKg: number | null;
}

export interface DayRow extends EnergySummary {
  day: string;
  /** Share of the day the hub has measurements for (0 = no data at all). */
  coverage: number;
}

export interface MonthRow extends EnergySummary {
  month: string;
  /** Days of the month with any measurement: 0 for months before the install. */
  daysWithData: number;
}

/** Energy distribution of a period, computed by the hub (assumptions in the hub's energy-flows.ts). */
export interface EnergyFlows {
  solarToHomeKwh: number;
  solarToBatteryKwh: number;
  solarToGridKwh: number;
  gridToHomeKwh: number;
  gridToBatteryKwh: number;
  batteryToHomeKwh: number;
  batteryToGridKwh: number;
}

export interface DatedPeriod extends EnergySummary {
  from: string;
  to: string;
  daysWithData: number;
  flows: EnergyFlows;
}

export interface Comparison {
  current: DatedPeriod;
  previous: DatedPeriod;
  /** Change from previous to current, %; null when either is missing or previous is 0. */
  changePct: Record<
    'solarKwh' | 'loadKwh' | 'importKwh' | 'exportKwh' | 'cost' | 'savings' | 'co2AvoidedKg',
    number | null
  >;
}

const sid = (siteId: string) => encodeURIComponent(siteId);

export const analyticsApi = {
  /** from/to are YYYY-MM-DD in the site's time zone. */
  daily: (siteId: string, from: string, to: string) =>
    request<DayRow[]>(`/sites/${sid(siteId)}/daily`, { query: { from, to } }),
  /** from/to are YYYY-MM. */
  monthly: (siteId: string, from: string, to: string) =>
    request<MonthRow[]>(`/sites/${sid(siteId)}/monthly`, { query: { from, to } }),
  /**
   * A range of local days against `previous` (the previous calendar week, month or year), or
   * against the same number of days just before it when not given.
   */
  comparison: (
    siteId: string,
    from: string,
    to: string,
    signal?: AbortSignal,
    previous?: { from: string; to: string },
  ) =>
    request<Comparison>(`/sites/${sid(siteId)}/comparison`, {
      query: { from, to, ...(previous ? { prevFrom: previous.from, prevTo: previous.to } : {}) },
      signal,
    }),
};
