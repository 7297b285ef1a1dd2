// Data contracts at ingest (issue 17 item 6): each sample is checked against the contract of the
// equipment it comes from (@wattfleet/devices contracts; the class is the equipment row's kind),
// and what is found is stored as aggregated data-quality findings on the node. Samples are
// stored whatever the finding: a contract says what is plausible, not what is true.
//
// Cheap on the hot path: the node's equipment kinds are cached (a minute; the registry changes
// them rarely), a node without contracted equipment costs one map lookup per batch, and the
// findings are written in the batch's own transaction only when there are any (so a resent
// duplicate never counts twice, and a stored batch's findings are never lost).
import { type CompiledContract, type ContractViolation, contractForKind } from '@wattfleet/devices';
import type { Kysely } from 'kysely';
import type pg from 'pg';
import type { DB } from '../storage/schema.ts';

// Kinds change only with a new inventory, which invalidates the node here ('equipment.changed');
// the TTL bounds how long another hub (that did not apply it) checks against the old kinds. Longer
// than a vendor cloud's minute poll, so a virtual node does not read its kinds on every poll.
const TTL_MS = 10 * 60_000;

export class EquipmentContracts {
  private readonly cache = new Map<string, { at: number; contracts: Map<string, CompiledContract> }>();

  constructor(private readonly db: Kysely<DB>) {}

  /** Contract per equipment key of the node (only keys whose kind has one). */
  async forNode(nodeId: string, now = Date.now()): Promise<Map<string, CompiledContract>> {
    const hit = this.cache.get(nodeId);
    if (hit && now - hit.at < TTL_MS) return hit.contracts;
    const rows = await this.db
      .selectFrom('equipment')
      .select(['key', 'kind'])
      .where('node_id', '=', nodeId)
      .execute();
    const contracts = new Map<string, CompiledContract>();
    for (const r of rows) {
      const c = contractForKind(r.kind);
      if (c) contracts.set(r.key, c);
    }
    this.cache.set(nodeId, { at: now, contracts });
    return contracts;
  }

  /** Forget a node's kinds (tests, or a registry that wants its change seen at once). */
  invalidate(nodeId?: string): void {
    if (nodeId === undefined) this.cache.clear();
    else this.cache.delete(nodeId);
  }
}

export interface FindingsBatch {
  nodeId: string;
  siteId: string;
  findings?: readonly ContractViolation[];
}

/** Adds a group's findings to the aggregated rows (one statement; nothing when there are none). */
export async function writeFindings(client: pg.PoolClient, batches: readonly FindingsBatch[]): Promise<void> {
  // Merged per key first: two batches of one group may add to the same row (one upsert per key).
  const rows = new Map<string, { nodeId: string; siteId: string; v: ContractViolation }>();
  for (const b of batches) {
    for (const v of b.findings ?? []) {
      const key = `${b.nodeId}\u0000${v.equipment}\u0000${v.metric}\u0000${v.rule}`;
      const prev = rows.get(key);
      if (!prev) {
        rows.set(key, { nodeId: b.nodeId, siteId: b.siteId, v: { ...v } });
        continue;
      }
      prev.v.count += v.count;
      prev.v.firstTs = Math.min(prev.v.firstTs, v.firstTs);
      if (v.lastTs >= prev.v.lastTs) {
        prev.v.lastTs = v.lastTs;
        prev.v.example = v.example;
        prev.v.message = v.message;
      }
    }
  }
  if (rows.size === 0) return;
  // Sorted: concurrent groups lock the finding rows in the same order.
  const list = [...rows.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, r]) => r);
  await client.query(
    `INSERT INTO data_quality_findings AS f
       (node_id, site_id, equipment, metric, rule, contract, count, first_seen_at, last_seen_at,
        example_value, message)
     SELECT n, s, e, m, r, c, k, to_timestamp(a / 1000.0), to_timestamp(z / 1000.0), x, msg
     FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::int8[],
                 $8::float8[], $9::float8[], $10::float8[], $11::text[]) AS u(n, s, e, m, r, c, k, a, z, x, msg)
     ON CONFLICT (node_id, equipment, metric, rule) DO UPDATE SET
       count = f.count + EXCLUDED.count,
       contract = EXCLUDED.contract,
       first_seen_at = least(f.first_seen_at, EXCLUDED.first_seen_at),
       -- The example is the latest offending value by sample time.
       example_value = CASE WHEN EXCLUDED.last_seen_at >= f.last_seen_at THEN EXCLUDED.example_value ELSE f.example_value END,
       message = CASE WHEN EXCLUDED.last_seen_at >= f.last_seen_at THEN EXCLUDED.message ELSE f.message END,
       last_seen_at = greatest(f.last_seen_at, EXCLUDED.last_seen_at),
       updated_at = now()`,
    [
      list.map((r) => r.nodeId),
      list.map((r) => r.siteId),
      list.map((r) => r.v.equipment),
      list.map((r) => r.v.metric),
      list.map((r) => r.v.rule),
      list.map((r) => r.v.contract),
      list.map((r) => r.v.count),
      list.map((r) => r.v.firstTs),
      list.map((r) => r.v.lastTs),
      list.map((r) => r.v.example),
      list.map((r) => r.v.message),
    ],
  );
}
