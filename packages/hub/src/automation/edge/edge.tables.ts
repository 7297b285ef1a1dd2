// Kysely types of the edge-execution tables (migration 048).
import type { ColumnType, JSONColumnType } from 'kysely';

type Stamp = ColumnType<Date, Date | string | undefined, Date | string>;

export type ItemKind = 'schedule' | 'rule';
export type BundleState = 'pending' | 'applied' | 'refused' | 'rolled_back' | 'failed';

export interface AutomationExecutorsTable {
  item_kind: ItemKind;
  item_id: string;
  site_id: string;
  node_id: string;
  reason: string;
  assigned_at: Stamp;
}

export interface AutomationBundlesTable {
  node_id: string;
  version: number;
  site_id: string;
  digest: string;
  bundle: JSONColumnType<object, string, string>;
  command_id: string | null;
  state: ColumnType<BundleState, BundleState | undefined, BundleState>;
  detail: string | null;
  created_at: Stamp;
  settled_at: Date | null;
}

export interface EdgeExecutionsTable {
  item_kind: ItemKind;
  item_id: string;
  due_at: Date;
  site_id: string;
  node_id: string;
  item_version: number;
  bundle_version: number;
  outcome: string;
  ran_at: Date;
  received_at: Stamp;
}

declare module '../../storage/schema.ts' {
  interface DB {
    automation_executors: AutomationExecutorsTable;
    automation_bundles: AutomationBundlesTable;
    edge_executions: EdgeExecutionsTable;
  }
}
