// Reading stored samples back. The hub picks raw / hourly / daily so a series stays under
// ~2,000 points; energyWh (when present) is the hub's integral for that bucket.
import { request } from './http.ts';

export type Resolution = 'raw' | 'hour' | 'day';

export interface Series {
  nodeId: string;
  equipment: string;
  metric: string;
  kind: 'power' | 'energy' | 'gauge' | 'state';
  points: [number, number][];
  /** Per point, for hourly and daily rollups: energy in that bucket. */
  energyWh?: (number | null)[];
}

export interface TelemetryAnswer {
  siteId: string;
  from: string;
  to: string;
  resolution: Resolution;
  series: Series[];
}

export interface TelemetryQuery {
  from: Date;
  to: Date;
  metrics?: string[];
  step?: 'auto' | Resolution;
  node?: string;
}

export const telemetryApi = {
  site: (siteId: string, q: TelemetryQuery, signal?: AbortSignal) =>
    request<TelemetryAnswer>(`/sites/${encodeURIComponent(siteId)}/telemetry`, {
      query: {
        from: q.from.toISOString(),
        to: q.to.toISOString(),
        metrics: q.metrics?.join(','),
        step: q.step,
        node: q.node,
      },
      ...(signal ? { signal } : {}),
    }),
};
