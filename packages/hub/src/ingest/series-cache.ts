// Maps (node, equipment, metric) to a series id. Series are created on first sight, idempotently,
// outside the ingest transaction (a series without samples is harmless).
import { metricKind } from '@wattfleet/protocol';
import { sql } from 'kysely';
import type { HubContext } from '../context.ts';

export class SeriesCache {
  private readonly ids = new Map<string, number>();
  constructor(private readonly hub: HubContext) {}

  private static key(nodeId: string, equipment: string, metric: string) {
    return `${nodeId}\u0000${equipment}\u0000${metric}`;
  }

  /** Returns series ids for each (equipment, metric) pair, creating the missing ones. */
  async resolve(
    nodeId: string,
    siteId: string,
    pairs: Iterable<[string, string]>,
  ): Promise<Map<string, number>> {
    const result = new Map<string, number>();
    const missing: [string, string][] = [];
    for (const [equipment, metric] of pairs) {
      const local = `${equipment}\u0000${metric}`;
      if (result.has(local)) continue;
      const id = this.ids.get(SeriesCache.key(nodeId, equipment, metric));
      if (id !== undefined) result.set(local, id);
      else missing.push([equipment, metric]);
    }
    if (missing.length > 0) {
      const equipments = missing.map((m) => m[0]);
      const metrics = missing.map((m) => m[1]);
      const kinds = missing.map((m) => metricKind(m[1]));
      await sql`
        INSERT INTO series (node_id, site_id, equipment, metric, kind)
        SELECT ${nodeId}::uuid, ${siteId}::uuid, e, m, k
        FROM unnest(${equipments}::text[], ${metrics}::text[], ${kinds}::text[]) AS u(e, m, k)
        ON CONFLICT (node_id, equipment, metric) DO NOTHING`.execute(this.hub.db);
      const rows = await this.hub.db
        .selectFrom('series')
        .select(['id', 'equipment', 'metric'])
        .where('node_id', '=', nodeId)
        .where('metric', 'in', [...new Set(metrics)])
        .execute();
      for (const r of rows) {
        this.ids.set(SeriesCache.key(nodeId, r.equipment, r.metric), r.id);
        result.set(`${r.equipment}\u0000${r.metric}`, r.id);
      }
    }
    return result;
  }
}
