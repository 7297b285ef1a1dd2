// Kysely types of the scene tables (migration 065).
import type { ColumnType, Generated, JSONColumnType } from 'kysely';
import type { OnOff } from '../automation.tables.ts';

type Stamp = ColumnType<Date, Date | string | undefined, Date | string>;

export interface SceneTargetValue {
  channelId: string;
  state: OnOff;
}

export type TargetOutcome = 'pending' | 'confirmed' | 'failed' | 'refused' | 'unchanged';

export interface ScenesTable {
  id: Generated<string>;
  site_id: string;
  name: string;
  description: string | null;
  version: Generated<number>;
  ttl_s: Generated<number>;
  targets: JSONColumnType<SceneTargetValue[], string, string>;
  created_at: Stamp;
  updated_at: Stamp;
}

export interface SceneActivationsTable {
  id: Generated<string>;
  scene_id: string;
  site_id: string;
  scene_name: string;
  scene_version: number;
  activated_by: string;
  settled_at: Date | null;
  created_at: Stamp;
}

export interface SceneActivationTargetsTable {
  activation_id: string;
  channel_id: string;
  site_id: string;
  state: OnOff;
  outcome: TargetOutcome;
  error_code: string | null;
  reason: string | null;
  command_id: string | null;
  updated_at: Stamp;
}

declare module '../../storage/schema.ts' {
  interface DB {
    scenes: ScenesTable;
    scene_activations: SceneActivationsTable;
    scene_activation_targets: SceneActivationTargetsTable;
  }
}
