// The latest value of every metric, in memory: feeds the dashboard's SSE stream several times a
// second and the live snapshot on nodes/{id}/live. Nothing here is durable; the outbox is.
import type { LiveSnapshot } from '@wattfleet/protocol';
import type { Reading } from '../sources/types.ts';

export interface LiveValue {
  value: number;
  ts: number;
}

export class LiveState {
  /** equipment key ('' = the node itself) → metric → latest value */
  readonly values = new Map<string, Map<string, LiveValue>>();
  updatedAt = 0;

  update(readings: Reading[]): void {
    for (const r of readings) {
      const key = r.equipment ?? '';
      let m = this.values.get(key);
      if (!m) {
        m = new Map();
        this.values.set(key, m);
      }
      const prev = m.get(r.metric);
      if (!prev || prev.ts <= r.ts) m.set(r.metric, { value: r.value, ts: r.ts });
      if (r.ts > this.updatedAt) this.updatedAt = r.ts;
    }
  }

  toJSON(): Record<string, Record<string, LiveValue>> {
    const out: Record<string, Record<string, LiveValue>> = {};
    for (const [eq, m] of this.values) out[eq] = Object.fromEntries(m);
    return out;
  }

  /** Protocol snapshot: node-level values plus per-equipment values. */
  snapshot(now = Date.now()): LiveSnapshot | undefined {
    if (this.values.size === 0) return undefined;
    const values: Record<string, number> = {};
    const equipment: Record<string, Record<string, number>> = {};
    for (const [eq, m] of this.values) {
      const flat = Object.fromEntries([...m].map(([k, v]) => [k, v.value]));
      if (eq === '') Object.assign(values, flat);
      else equipment[eq] = flat;
    }
    return { ts: now, values, ...(Object.keys(equipment).length ? { equipment } : {}) };
  }
}
