// Sends due outbox messages. A failure schedules the next attempt with exponential backoff; after
// maxAttempts the message is marked failed and stays for inspection. Runs as a job under the
// scheduler's advisory lock, so with several hubs each message is sent by one of them.
import type { HubContext } from '../context.ts';
import '../alerts/alerts.tables.ts';
import {
  defaultNotificationSettings,
  type NotificationSettings,
  type OutboxPayload,
  send,
} from './senders.ts';

const settingsByHub = new WeakMap<HubContext, NotificationSettings>();

export function notificationSettings(hub: HubContext): NotificationSettings {
  let s = settingsByHub.get(hub);
  if (!s) {
    s = defaultNotificationSettings();
    settingsByHub.set(hub, s);
  }
  return s;
}

export function configureNotifications(hub: HubContext, patch: Partial<NotificationSettings>): void {
  settingsByHub.set(hub, { ...notificationSettings(hub), ...patch });
}

export function backoffMs(attempts: number, s: NotificationSettings): number {
  return Math.min(s.maxBackoffMs, s.backoffBaseMs * 2 ** Math.max(0, attempts - 1));
}

export interface DispatchResult {
  sent: number;
  retried: number;
  failed: number;
}

export async function dispatchDue(
  hub: HubContext,
  opts: { now?: Date; limit?: number } = {},
): Promise<DispatchResult> {
  const now = opts.now ?? new Date();
  const settings = notificationSettings(hub);
  const due = await hub.db
    .selectFrom('notification_outbox')
    .innerJoin('notification_channels', 'notification_channels.id', 'notification_outbox.channel_id')
    .select([
      'notification_outbox.id',
      'notification_outbox.payload',
      'notification_outbox.attempts',
      'notification_channels.kind',
      'notification_channels.target',
    ])
    .where('notification_outbox.status', '=', 'pending')
    .where('notification_outbox.next_attempt_at', '<=', now)
    .orderBy('notification_outbox.id')
    .limit(opts.limit ?? 50)
    .execute();
  const result: DispatchResult = { sent: 0, retried: 0, failed: 0 };
  for (const m of due) {
    const payload = (typeof m.payload === 'string' ? JSON.parse(m.payload) : m.payload) as OutboxPayload;
    const attempts = m.attempts + 1;
    try {
      await send(m.kind, m.target, payload, settings);
      await hub.db
        .updateTable('notification_outbox')
        .set({ status: 'sent', attempts, sent_at: new Date(), last_error: null })
        .where('id', '=', m.id)
        .execute();
      result.sent++;
      hub.metrics.notificationDeliveries.inc({ kind: m.kind, result: 'sent' });
    } catch (err) {
      const error = err instanceof Error ? err.message : String(err);
      const final = attempts >= settings.maxAttempts;
      await hub.db
        .updateTable('notification_outbox')
        .set({
          status: final ? 'failed' : 'pending',
          attempts,
          last_error: error.slice(0, 500),
          next_attempt_at: new Date(now.getTime() + backoffMs(attempts, settings)),
        })
        .where('id', '=', m.id)
        .execute();
      if (final) result.failed++;
      else result.retried++;
      hub.metrics.notificationDeliveries.inc({ kind: m.kind, result: final ? 'failed' : 'retry' });
    }
  }
  return result;
}
