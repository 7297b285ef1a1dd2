// Device-sent daily summaries and health/state events: small volumes, same exactly-once rule as
// telemetry (the batch id is claimed in the transaction that stores the rows).
import {
  type DailyBatch,
  DEVICE_TIME_RANGE,
  type EventBatch,
  LIMITS,
  type Problem,
  toEpochMs,
  WattfleetError,
} from '@wattfleet/protocol';
import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import type { HubContext } from '../context.ts';
import type { DB } from '../storage/schema.ts';
import type { IngestResult, NodeRef } from './telemetry.service.ts';

async function claimBatch(
  trx: Kysely<DB>,
  node: NodeRef,
  batchId: string,
  kind: 'daily' | 'events',
  count: number,
): Promise<boolean> {
  const r = await sql`INSERT INTO ingest_batches (node_id, batch_id, kind, item_count)
    VALUES (${node.nodeId}, ${batchId}, ${kind}, ${count}) ON CONFLICT DO NOTHING`.execute(trx);
  return Number(r.numAffectedRows ?? 0) > 0;
}

export async function ingestDaily(hub: HubContext, node: NodeRef, batch: DailyBatch): Promise<IngestResult> {
  const problems: Problem[] = [];
  const seen = new Set<string>();
  batch.days.forEach((d, i) => {
    const key = `${d.equipment ?? ''}|${d.date}`;
    if (seen.has(key)) problems.push({ path: `/days/${i}`, message: 'Same date and equipment appear twice' });
    seen.add(key);
    if (Number.isNaN(Date.parse(`${d.date}T00:00:00Z`)))
      problems.push({ path: `/days/${i}/date`, message: 'Not a real date' });
    if (Object.keys(d.values).length === 0)
      problems.push({ path: `/days/${i}/values`, message: 'No values' });
  });
  if (problems.length) throw new WattfleetError('WF_VALIDATION', undefined, problems);
  return hub.db.transaction().execute(async (trx) => {
    if (!(await claimBatch(trx, node, batch.batchId, 'daily', batch.days.length))) {
      return { status: 'duplicate' as const, batchId: batch.batchId, stored: 0 };
    }
    for (const d of batch.days) {
      // A later report for the same day replaces the earlier one: the device's own view of a day
      // can still grow until the day ends. Reconciliation against the hub's figures is separate.
      await trx
        .insertInto('daily_reports')
        .values({
          node_id: node.nodeId,
          site_id: node.siteId,
          equipment: d.equipment ?? '',
          day: d.date,
          values: JSON.stringify(d.values),
          batch_id: batch.batchId,
        })
        .onConflict((oc) =>
          oc.columns(['node_id', 'equipment', 'day']).doUpdateSet((eb) => ({
            values: eb.ref('excluded.values'),
            batch_id: eb.ref('excluded.batch_id'),
            received_at: sql`now()`,
          })),
        )
        .execute();
    }
    return { status: 'stored' as const, batchId: batch.batchId, stored: batch.days.length };
  });
}

export async function ingestEvents(hub: HubContext, node: NodeRef, batch: EventBatch): Promise<IngestResult> {
  const problems: Problem[] = [];
  const rows = batch.events.map((e, i) => {
    const ts = toEpochMs(e.ts);
    if (ts === undefined || ts < DEVICE_TIME_RANGE.minMs || ts > Date.now() + LIMITS.maxFutureSkewMs) {
      problems.push({
        path: `/events/${i}/ts`,
        code: 'WF_BAD_TIMESTAMP',
        message: 'Not a valid instant, before 2000, or in the future',
      });
    }
    return {
      node_id: node.nodeId,
      site_id: node.siteId,
      ts: new Date(ts ?? 0),
      kind: e.kind,
      severity: e.severity,
      equipment: e.equipment ?? null,
      message: e.message,
      data: e.data ? JSON.stringify(e.data) : null,
      batch_id: batch.batchId,
    };
  });
  if (problems.length) throw new WattfleetError('WF_VALIDATION', undefined, problems);
  const result = await hub.db.transaction().execute(async (trx) => {
    if (!(await claimBatch(trx, node, batch.batchId, 'events', rows.length))) {
      return { status: 'duplicate' as const, batchId: batch.batchId, stored: 0 };
    }
    await trx.insertInto('node_events').values(rows).execute();
    return { status: 'stored' as const, batchId: batch.batchId, stored: rows.length };
  });
  if (result.status === 'stored') hub.bus.emitEvent('node.events', { ...node, count: rows.length });
  return result;
}
