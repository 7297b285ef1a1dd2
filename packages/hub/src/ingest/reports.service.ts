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
import type { HubContext } from '../context.ts';
import { claimBatch, insertNodeEvents, type NodeEventRow, upsertDailyReport } from './ingest.repository.ts';
import type { IngestResult, NodeRef } from './telemetry.service.ts';

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
    if (!(await claimBatch(trx, node.nodeId, batch.batchId, 'daily', batch.days.length))) {
      return { status: 'duplicate' as const, batchId: batch.batchId, stored: 0 };
    }
    for (const d of batch.days) {
      // A later report for the same day replaces the earlier one: the device's own view of a day
      // can still grow until the day ends. Reconciliation against the hub's figures is separate.
      await upsertDailyReport(trx, {
        nodeId: node.nodeId,
        siteId: node.siteId,
        equipment: d.equipment ?? '',
        day: d.date,
        values: d.values,
        batchId: batch.batchId,
      });
    }
    return { status: 'stored' as const, batchId: batch.batchId, stored: batch.days.length };
  });
}

export async function ingestEvents(hub: HubContext, node: NodeRef, batch: EventBatch): Promise<IngestResult> {
  const problems: Problem[] = [];
  const rows = batch.events.map((e, i): NodeEventRow => {
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
    if (!(await claimBatch(trx, node.nodeId, batch.batchId, 'events', rows.length))) {
      return { status: 'duplicate' as const, batchId: batch.batchId, stored: 0 };
    }
    await insertNodeEvents(trx, rows);
    return { status: 'stored' as const, batchId: batch.batchId, stored: rows.length };
  });
  if (result.status === 'stored')
    hub.bus.emitEvent('node.events', { ...node, count: rows.length, batchId: batch.batchId });
  return result;
}
