// Kysely types of the rollout tables (migration 056).
import type { RolloutNodeState, RolloutRing, RolloutState } from '@wattfleet/protocol';
import type { ColumnType, Generated, JSONColumnType } from 'kysely';

type Stamp = ColumnType<Date, Date | string | undefined, Date | string>;
type NullableStamp = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;

export interface RolloutsTable {
  id: Generated<string>;
  org_id: string | null;
  tag: string;
  rings: JSONColumnType<RolloutRing[], string, string>;
  ring_wait_s: number;
  gate_s: number;
  max_failure_rate: number;
  state: ColumnType<RolloutState, RolloutState | undefined, RolloutState>;
  current_ring: ColumnType<number, number | undefined, number>;
  ring_settled_at: NullableStamp;
  halt_reason: string | null;
  created_by_type: string;
  created_by_id: string | null;
  created_at: Stamp;
  updated_at: Stamp;
}

export interface RolloutNodesTable {
  rollout_id: string;
  node_id: string;
  site_id: string;
  ring: number;
  position: number;
  state: ColumnType<RolloutNodeState, RolloutNodeState | undefined, RolloutNodeState>;
  command_id: string | null;
  from_version: string | null;
  reason: string | null;
  started_at: NullableStamp;
  verify_since: NullableStamp;
  settled_at: NullableStamp;
}

declare module '../storage/schema.ts' {
  interface DB {
    rollouts: RolloutsTable;
    rollout_nodes: RolloutNodesTable;
  }
}
