// Wire schemas of node → hub ingest: the batches are the protocol's (the edge agent builds them);
// the answer is read by the agent's uplink (status and batchId decide whether it forgets a batch).
import Type, { type Static } from 'typebox';

export { DailyBatch, EventBatch, TelemetryBatch } from '@wattfleet/protocol';

export const IngestAnswer = Type.Object({
  status: Type.Union([Type.Literal('stored'), Type.Literal('duplicate')], {
    description: 'duplicate: this batch id was stored before (a resend); nothing was stored again',
  }),
  batchId: Type.String({ description: 'The batch id acknowledged: the one sent' }),
  stored: Type.Integer({ description: 'Items stored by this request (0 for a duplicate)' }),
});
export type IngestAnswer = Static<typeof IngestAnswer>;
