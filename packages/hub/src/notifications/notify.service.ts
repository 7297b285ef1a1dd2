// Routing of alert changes to an org's channels (by severity) into the durable outbox, with a
// throttle per channel and alert key so a flapping node produces one message, not a hundred.
import type { HubContext } from '../context.ts';
import '../alerts/alerts.tables.ts';
import type { Severity } from '../alerts/alerts.tables.ts';

const RANK: Record<Severity, number> = { info: 0, warning: 1, critical: 2 };

export interface AlertForNotification {
  id: string;
  rule: string;
  target_id: string;
  org_id: string;
  site_id: string;
  node_id: string | null;
  severity: Severity;
  state: string;
  message: string;
  value: number | null;
  opened_at: Date;
}

export type NotifyEvent = 'opened' | 'repeat' | 'acknowledged' | 'resolved';

export async function enqueueAlertNotifications(
  hub: HubContext,
  alert: AlertForNotification,
  event: NotifyEvent,
  now: Date,
): Promise<number> {
  // An acknowledgement is a person's own action; telling them about it is noise.
  if (event === 'acknowledged') return 0;
  const channels = await hub.db
    .selectFrom('notification_channels')
    .selectAll()
    .where('org_id', '=', alert.org_id)
    .where('enabled', '=', true)
    .execute();
  const site = await hub.db
    .selectFrom('sites')
    .select('name')
    .where('id', '=', alert.site_id)
    .executeTakeFirst();
  const key = `${alert.rule}:${alert.target_id}`;
  const payload = {
    event,
    alert: {
      id: alert.id,
      rule: alert.rule,
      severity: alert.severity,
      state: alert.state,
      message: alert.message,
      value: alert.value,
      siteId: alert.site_id,
      siteName: site?.name ?? null,
      nodeId: alert.node_id,
      targetId: alert.target_id,
      openedAt: new Date(alert.opened_at).toISOString(),
    },
    at: now.toISOString(),
  };
  let queued = 0;
  for (const ch of channels) {
    if (RANK[alert.severity] < RANK[ch.min_severity]) continue;
    const recent = await hub.db
      .selectFrom('notification_outbox')
      .select('id')
      .where('channel_id', '=', ch.id)
      .where('throttle_key', '=', key)
      .where('status', 'in', ['pending', 'sent'])
      .where('created_at', '>', new Date(now.getTime() - ch.throttle_s * 1000))
      .limit(1)
      .executeTakeFirst();
    // Throttled messages are still recorded (status suppressed) so the history shows what was held back.
    await hub.db
      .insertInto('notification_outbox')
      .values({
        channel_id: ch.id,
        alert_id: alert.id,
        throttle_key: key,
        payload: JSON.stringify(payload),
        status: recent ? 'suppressed' : 'pending',
        next_attempt_at: now,
        last_error: null,
        created_at: now,
        sent_at: null,
      })
      .execute();
    if (!recent) queued++;
  }
  return queued;
}
