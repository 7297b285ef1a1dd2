// Kysely types of the control-plane tables (migration 020), added to the shared DB interface.

import type { CommandState } from '@wattfleet/protocol';
import type { ColumnType, Generated, JSONColumnType } from 'kysely';

type Timestamp = ColumnType<Date, Date | string, Date | string>;
type DefaultNow = ColumnType<Date, Date | string | undefined, Date | string>;

export interface CommandsTable {
  id: Generated<string>;
  node_id: string;
  site_id: string;
  type: string;
  args: JSONColumnType<Record<string, unknown>>;
  state: ColumnType<CommandState, CommandState | undefined, CommandState>;
  created_at: DefaultNow;
  updated_at: DefaultNow;
  expires_at: Timestamp;
  published_at: Timestamp | null;
  created_by_type: string;
  created_by_id: string | null;
  result: JSONColumnType<Record<string, unknown>> | null;
  error: JSONColumnType<{ code: string; message: string }> | null;
}

export interface CommandTransitionsTable {
  id: Generated<number>;
  command_id: string;
  from_state: string | null;
  to_state: string;
  at: DefaultNow;
  source: 'actor' | 'node' | 'hub';
  data: JSONColumnType<Record<string, unknown>> | null;
}

export interface NodeLogChunksTable {
  node_id: string;
  upload_key: string;
  command_id: string | null;
  chunk: number;
  final: boolean;
  lines: JSONColumnType<string[]>;
  received_at: DefaultNow;
}

declare module '../storage/schema.ts' {
  interface DB {
    commands: CommandsTable;
    command_transitions: CommandTransitionsTable;
    node_log_chunks: NodeLogChunksTable;
  }
}
