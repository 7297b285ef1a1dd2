// Batch sequence numbers (issue 17 item 6): per node the hub keeps the highest telemetry batch
// seq stored (node_batch_seq) and the holes below it (batch_seq_gaps). A hole is a range of
// batches the agent formed and the hub never got while it got later ones: LOST, even where the
// transport could not tell (QoS 1 over a broker that dropped a session, an outbox that had to
// drop a formed batch for space). A late batch (the outbox resending after a reconnect) fills
// its place in the hole, splitting it or closing it.
//
// Runs in the group commit's transaction, for the batches that transaction claimed — a duplicate
// never gets here, so exactly-once stays the batch id's business. Cost: one upsert of the node's
// watermark row per group; the gaps table is read or written only when a hole opens or a batch
// at or below the watermark arrives. The watermark's row lock also orders two transactions of
// the same node, so the second sees the gaps the first committed.
//
// Not detected: an agent whose state file was reset starts again at 1 below the watermark; its
// batches then look late (nothing is reported as lost until it passes the old watermark).
import type pg from 'pg';

export interface SeqBatch {
  nodeId: string;
  siteId: string;
  seq?: number;
  /** Earliest sample time of the batch (epoch ms). */
  minTs: number;
}

interface Gap {
  nodeId: string;
  siteId: string;
  from: number;
  to: number;
  nextSampleAt: number | null;
  detectedAt?: Date;
}

export async function trackBatchSeq(client: pg.PoolClient, batches: readonly SeqBatch[]): Promise<void> {
  const byNode = new Map<string, { siteId: string; batches: SeqBatch[] }>();
  for (const b of batches) {
    if (b.seq === undefined) continue;
    let n = byNode.get(b.nodeId);
    if (!n) {
      n = { siteId: b.siteId, batches: [] };
      byNode.set(b.nodeId, n);
    }
    n.batches.push(b);
  }
  if (byNode.size === 0) return;
  // Sorted: concurrent groups lock the watermark rows in the same order.
  const nodes = [...byNode.keys()].sort();
  const { rows } = await client.query<{ node_id: string; prev_max: string | null }>(
    `INSERT INTO node_batch_seq AS w (node_id, site_id, max_seq, prev_max)
     SELECT n, s, m, NULL FROM unnest($1::uuid[], $2::uuid[], $3::int8[]) AS u(n, s, m)
     ON CONFLICT (node_id) DO UPDATE
       SET prev_max = w.max_seq, max_seq = greatest(w.max_seq, EXCLUDED.max_seq), updated_at = now()
     RETURNING node_id, prev_max`,
    [
      nodes,
      nodes.map((n) => byNode.get(n)!.siteId),
      nodes.map((n) => Math.max(...byNode.get(n)!.batches.map((b) => b.seq!))),
    ],
  );
  const opened: Gap[] = [];
  const fills = new Map<string, number[]>();
  for (const r of rows) {
    const node = byNode.get(r.node_id)!;
    // No watermark yet: the agent numbers from 1, so batches before the first one seen are lost.
    const prev = r.prev_max === null ? 0 : Number(r.prev_max);
    const ahead = node.batches.filter((b) => b.seq! > prev).sort((a, b) => a.seq! - b.seq!);
    let cursor = prev;
    for (const b of ahead) {
      if (b.seq! > cursor + 1) {
        opened.push({
          nodeId: r.node_id,
          siteId: node.siteId,
          from: cursor + 1,
          to: b.seq! - 1,
          nextSampleAt: b.minTs,
        });
      }
      cursor = Math.max(cursor, b.seq!);
    }
    const late = node.batches.filter((b) => b.seq! <= prev).map((b) => b.seq!);
    if (late.length > 0) fills.set(r.node_id, late);
  }
  const remnants = fills.size > 0 ? await fillGaps(client, fills) : [];
  const insert = [...opened, ...remnants];
  if (insert.length === 0) return;
  await client.query(
    `INSERT INTO batch_seq_gaps (node_id, site_id, from_seq, to_seq, next_sample_at, detected_at)
     SELECT n, s, f, t, to_timestamp(x / 1000.0), coalesce(d, now())
     FROM unnest($1::uuid[], $2::uuid[], $3::int8[], $4::int8[], $5::float8[], $6::timestamptz[])
       AS u(n, s, f, t, x, d)
     ON CONFLICT (node_id, from_seq) DO NOTHING`,
    [
      insert.map((g) => g.nodeId),
      insert.map((g) => g.siteId),
      insert.map((g) => g.from),
      insert.map((g) => g.to),
      insert.map((g) => g.nextSampleAt),
      insert.map((g) => g.detectedAt ?? null),
    ],
  );
}

/**
 * Late batches: deletes each gap that holds one of their seqs and returns what is left of it
 * (zero, one or more ranges, keeping when and where it was detected) to insert again.
 */
async function fillGaps(client: pg.PoolClient, fills: Map<string, number[]>): Promise<Gap[]> {
  const nodes: string[] = [];
  const seqs: number[] = [];
  for (const [n, ss] of fills)
    for (const s of ss) {
      nodes.push(n);
      seqs.push(s);
    }
  const { rows } = await client.query<{
    node_id: string;
    site_id: string;
    from_seq: string;
    to_seq: string;
    next_sample_at: Date | null;
    detected_at: Date;
  }>(
    `DELETE FROM batch_seq_gaps g
     USING (SELECT DISTINCT g2.id FROM batch_seq_gaps g2
            JOIN unnest($1::uuid[], $2::int8[]) AS u(n, s)
              ON g2.node_id = u.n AND u.s BETWEEN g2.from_seq AND g2.to_seq) hit
     WHERE g.id = hit.id
     RETURNING g.node_id, g.site_id, g.from_seq, g.to_seq, g.next_sample_at, g.detected_at`,
    [nodes, seqs],
  );
  const out: Gap[] = [];
  for (const g of rows) {
    const from = Number(g.from_seq);
    const to = Number(g.to_seq);
    // The filled seqs inside this gap, in order: the ranges between them are still missing.
    const inside = [...new Set(fills.get(g.node_id))]
      .filter((s) => s >= from && s <= to)
      .sort((a, b) => a - b);
    let start = from;
    for (const s of [...inside, to + 1]) {
      if (s > start) {
        out.push({
          nodeId: g.node_id,
          siteId: g.site_id,
          from: start,
          to: s - 1,
          nextSampleAt: g.next_sample_at?.getTime() ?? null,
          detectedAt: g.detected_at,
        });
      }
      start = s + 1;
    }
  }
  return out;
}
