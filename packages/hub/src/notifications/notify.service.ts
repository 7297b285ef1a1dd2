// Routing of alert changes to an org's channels (by severity) into the durable outbox, with a
// throttle per channel and alert key so a flapping node produces one message, not a hundred.
import type { Severity } from '../alerts/alerts.tables.ts';
import type { HubContext } from '../context.ts';
import { getSite } from '../sites/sites.repository.ts';
import { enabledChannels, hasRecentMessage, insertMessage } from './notifications.repository.ts';

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
  const channels = await enabledChannels(hub.db, alert.org_id);
  const site = await getSite(hub.db, alert.site_id);
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
    const since = new Date(now.getTime() - ch.throttle_s * 1000);
    const recent = await hasRecentMessage(hub.db, ch.id, key, since);
    // Throttled messages are still recorded (status suppressed) so the history shows what was held back.
    await insertMessage(hub.db, {
      channelId: ch.id,
      alertId: alert.id,
      throttleKey: key,
      payload,
      status: recent ? 'suppressed' : 'pending',
      now,
    });
    if (!recent) queued++;
  }
  return queued;
}
