// Kysely types of the alert tables (migration 031), added to the shared DB interface; the
// notification tables are in notifications/notifications.tables.ts.
import type { ColumnType, Generated, JSONColumnType } from 'kysely';

type Stamp = ColumnType<Date, Date | string | undefined, Date | string>;
export type Severity = 'info' | 'warning' | 'critical';
export type AlertState = 'open' | 'acknowledged' | 'resolved';

export interface AlertRuleSettingsTable {
  id: Generated<string>;
  org_id: string | null;
  site_id: string | null;
  rule: string;
  enabled: boolean | null;
  severity: Severity | null;
  duration_s: number | null;
  repeat_s: number | null;
  params: JSONColumnType<Record<string, number>, string | undefined, string>;
  updated_at: Stamp;
}

export interface AlertsTable {
  id: Generated<string>;
  rule: string;
  target_type: 'site' | 'node' | 'equipment' | 'series';
  target_id: string;
  org_id: string;
  site_id: string;
  node_id: string | null;
  severity: Severity;
  state: AlertState;
  message: string;
  value: number | null;
  opened_at: Stamp;
  acknowledged_at: Date | null;
  acknowledged_by: string | null;
  resolved_at: Date | null;
  resolved_by: string | null;
  last_notified_at: Date | null;
  repeat_count: Generated<number>;
  updated_at: Stamp;
}

export interface AlertTransitionsTable {
  id: Generated<number>;
  alert_id: string;
  at: Stamp;
  from_state: string | null;
  to_state: string;
  actor: string;
  note: string | null;
}

export interface AlertConditionsTable {
  rule: string;
  target_id: string;
  firing_since: Date | null;
  clear_since: Date | null;
  rearm_required: Generated<boolean>;
}

export interface AlertMutesTable {
  site_id: string;
  rule: string;
  until: Date;
  created_by: string | null;
  created_at: Stamp;
}

declare module '../storage/schema.ts' {
  interface DB {
    alert_rule_settings: AlertRuleSettingsTable;
    alerts: AlertsTable;
    alert_transitions: AlertTransitionsTable;
    alert_conditions: AlertConditionsTable;
    alert_mutes: AlertMutesTable;
  }
}
