// Notifications: channels per org routed by severity, and a durable outbox that survives restarts
// and retries with exponential backoff.
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
CREATE TABLE notification_channels (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  org_id uuid NOT NULL REFERENCES orgs (id),
  kind text NOT NULL CHECK (kind IN ('webhook', 'slack', 'email')),
  target text NOT NULL,
  min_severity text NOT NULL DEFAULT 'warning' CHECK (min_severity IN ('info', 'warning', 'critical')),
  throttle_s integer NOT NULL DEFAULT 900 CHECK (throttle_s >= 0),
  enabled boolean NOT NULL DEFAULT true,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX notification_channels_org ON notification_channels (org_id);

CREATE TABLE notification_outbox (
  id bigserial PRIMARY KEY,
  channel_id uuid NOT NULL REFERENCES notification_channels (id),
  alert_id uuid,
  -- rule and target of the alert: throttling counts messages per channel and key.
  throttle_key text NOT NULL,
  payload jsonb NOT NULL,
  status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed', 'suppressed')),
  attempts integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  last_error text,
  created_at timestamptz NOT NULL DEFAULT now(),
  sent_at timestamptz
);
CREATE INDEX notification_outbox_due ON notification_outbox (next_attempt_at) WHERE status = 'pending';
CREATE INDEX notification_outbox_throttle ON notification_outbox (channel_id, throttle_key, created_at);
`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE notification_outbox, notification_channels`.execute(db);
}
