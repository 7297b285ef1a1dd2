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
      // Two batches of one node creating overlapping series must take the unique index's locks in
      // the same order, or PostgreSQL picks one of them as a deadlock victim (a 500 to the node):
      // the rows go in sorted and deduplicated.
      const seen = new Set<string>();
      for (let i = missing.length - 1; i >= 0; i--) {
        const k = `${missing[i]![0]}\u0000${missing[i]![1]}`;
        if (seen.has(k)) missing.splice(i, 1);
        else seen.add(k);
      }
      missing.sort((a, b) => (a[0] === b[0] ? (a[1] < b[1] ? -1 : 1) : a[0] < b[0] ? -1 : 1));
      const equipments = missing.map((m) => m[0]);
      const metrics = missing.map((m) => m[1]);
      const kinds = missing.map((m) => metricKind(m[1]));
      await sql`
        INSERT INTO series (node_id, site_id, equipment, metric, kind, equipment_id)
        SELECT ${nodeId}::uuid, ${siteId}::uuid, u.e, u.m, u.k, eq.id
        FROM unnest(${equipments}::text[], ${metrics}::text[], ${kinds}::text[]) WITH ORDINALITY AS u(e, m, k, n)
        -- A series knows its equipment row when the node registered it first (else the
        -- registry links it when the inventory arrives).
        LEFT JOIN equipment eq ON eq.node_id = ${nodeId}::uuid AND eq.key = u.e
        ORDER BY u.n
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
