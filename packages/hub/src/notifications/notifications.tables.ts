// Kysely types of the notification tables (migration 032), added to the shared DB interface.
import type { ColumnType, Generated, JSONColumnType } from 'kysely';
import type { Severity } from '../alerts/alerts.tables.ts';

type Stamp = ColumnType<Date, Date | string | undefined, Date | string>;
export type ChannelKind = 'webhook' | 'slack' | 'email';
export type OutboxStatus = 'pending' | 'sent' | 'failed' | 'suppressed';

export interface NotificationChannelsTable {
  id: Generated<string>;
  org_id: string;
  kind: ChannelKind;
  target: string;
  min_severity: Generated<Severity>;
  throttle_s: Generated<number>;
  enabled: Generated<boolean>;
  created_at: Stamp;
}

export interface NotificationOutboxTable {
  id: Generated<number>;
  channel_id: string;
  alert_id: string | null;
  throttle_key: string;
  payload: JSONColumnType<Record<string, unknown>>;
  status: Generated<OutboxStatus>;
  attempts: Generated<number>;
  next_attempt_at: Stamp;
  last_error: string | null;
  created_at: Stamp;
  sent_at: Date | null;
}

declare module '../storage/schema.ts' {
  interface DB {
    notification_channels: NotificationChannelsTable;
    notification_outbox: NotificationOutboxTable;
  }
}
