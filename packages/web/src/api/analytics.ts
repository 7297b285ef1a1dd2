// Daily and monthly site summaries (kWh, self-consumption). Optional: null when the hub has no
// analytics module yet, in which case charts fall back to the telemetry API.
import { ApiError, request } from './http.ts';

export interface DailySummaryRow {
  date: string;
  solar_kwh?: number;
  load_kwh?: number;
  grid_import_kwh?: number;
  grid_export_kwh?: number;
  battery_charge_kwh?: number;
  battery_discharge_kwh?: number;
  [key: string]: unknown;
}

async function optional<T>(path: string, query: Record<string, string>): Promise<T | null> {
  try {
    return await request<T>(path, { query });
  } catch (err) {
    if (err instanceof ApiError && err.status === 404 && err.code !== 'WF_SITE_NOT_FOUND') return null;
    throw err;
  }
}

export const analyticsApi = {
  daily: (siteId: string, from: string, to: string) =>
    optional<unknown>(`/sites/${encodeURIComponent(siteId)}/daily`, { from, to }),
  monthly: (siteId: string, from: string, to: string) =>
    optional<unknown>(`/sites/${encodeURIComponent(siteId)}/monthly`, { from, to }),
};
