// Kysely types of the schedule tables (migration 062).

import type { OnOff, ScheduleRule } from '@wattfleet/devices/automation';
import type { ColumnType, Generated, JSONColumnType } from 'kysely';

type Stamp = ColumnType<Date, Date | string | undefined, Date | string>;

export type RunOutcome =
  | 'running'
  | 'done'
  | 'missed'
  | 'skipped-overlap'
  | 'superseded'
  | 'refused'
  | 'failed';
export type RunEdge = 'start' | 'end' | 'once';

export interface SchedulesTable {
  id: Generated<string>;
  site_id: string;
  channel_id: string;
  name: string;
  enabled: Generated<boolean>;
  priority: number;
  version: Generated<number>;
  rule: JSONColumnType<ScheduleRule, string, string>;
  valid_from: string | null;
  valid_until: string | null;
  except_dates: JSONColumnType<string[], string | undefined, string>;
  grace_min: Generated<number>;
  checked_until: Stamp;
  created_at: Stamp;
  updated_at: Stamp;
  deleted_at: Date | null;
}

export interface ScheduleRunsTable {
  id: Generated<string>;
  schedule_id: string;
  schedule_version: number;
  site_id: string;
  channel_id: string;
  due_at: Date;
  edge: RunEdge;
  state: OnOff;
  outcome: RunOutcome;
  reason: string;
  error_code: string | null;
  command_id: string | null;
  ran_at: Date | null;
  created_at: Stamp;
}

declare module '../../storage/schema.ts' {
  interface DB {
    schedules: SchedulesTable;
    schedule_runs: ScheduleRunsTable;
  }
}
