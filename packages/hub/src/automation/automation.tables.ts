// Kysely types of the switchable-equipment tables (migration 060; safety limits 064).
import type { ColumnType, Generated, JSONColumnType } from 'kysely';

type Stamp = ColumnType<Date, Date | string | undefined, Date | string>;

export type ChannelStatus = 'unknown' | 'pending' | 'confirmed' | 'failed';
export type OnOff = 'on' | 'off';

export interface EquipmentChannelsTable {
  id: Generated<string>;
  equipment_id: string;
  node_id: string;
  site_id: string;
  channel: Generated<string>;
  label: string | null;
  capabilities: JSONColumnType<
    { switch: boolean; readBack: boolean; edgeAutomation?: boolean },
    string | undefined,
    string
  >;
  present: Generated<boolean>;
  desired_state: OnOff | null;
  desired_at: Date | null;
  desired_by: string | null;
  command_id: string | null;
  reported_state: OnOff | null;
  reported_at: Date | null;
  status: Generated<ChannelStatus>;
  failure_reason: string | null;
  updated_at: Stamp;
  /** Safety limits (0 / null = none), checked in the single switch path. */
  min_on_s: Generated<number>;
  min_off_s: Generated<number>;
  max_switches_per_hour: number | null;
}

/** One accepted state change of a channel: what the safety limits count and measure from. */
export interface EquipmentSwitchLogTable {
  id: Generated<string>;
  channel_id: string;
  site_id: string;
  at: Date;
  state: OnOff;
  origin: string;
  origin_id: string | null;
}

export interface SiteAutomationSettingsTable {
  site_id: string;
  paused: Generated<boolean>;
  changed_by: string | null;
  reason: string | null;
  updated_at: Stamp;
}

export interface OrgControlSettingsTable {
  org_id: string;
  owner_control: Generated<boolean>;
  updated_at: Stamp;
}

declare module '../storage/schema.ts' {
  interface DB {
    equipment_channels: EquipmentChannelsTable;
    org_control_settings: OrgControlSettingsTable;
    equipment_switch_log: EquipmentSwitchLogTable;
    site_automation_settings: SiteAutomationSettingsTable;
  }
}
