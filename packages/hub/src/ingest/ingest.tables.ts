// Kysely types of the batch sequence tables (migration 041) and the data-quality findings (042),
// added to the shared DB interface.
import type { ColumnType, Generated } from 'kysely';

type Stamp = ColumnType<Date, Date | string | undefined, Date | string>;
type Int8 = ColumnType<string, number | string, number | string>;

export interface NodeBatchSeqTable {
  node_id: string;
  site_id: string;
  max_seq: Int8;
  prev_max: Int8 | null;
  updated_at: Stamp;
}

export interface BatchSeqGapsTable {
  id: Generated<string>;
  node_id: string;
  site_id: string;
  from_seq: Int8;
  to_seq: Int8;
  next_sample_at: Date | null;
  detected_at: Stamp;
}

export type DataQualityRule = 'out_of_range' | 'not_integer' | 'required_missing';

export interface DataQualityFindingsTable {
  id: Generated<string>;
  node_id: string;
  site_id: string;
  equipment: string;
  metric: string;
  rule: DataQualityRule;
  contract: string;
  count: Int8;
  first_seen_at: Date;
  last_seen_at: Date;
  example_value: number | null;
  message: string;
  updated_at: Stamp;
}

declare module '../storage/schema.ts' {
  interface DB {
    node_batch_seq: NodeBatchSeqTable;
    batch_seq_gaps: BatchSeqGapsTable;
    data_quality_findings: DataQualityFindingsTable;
  }
}
