// Sends due outbox messages. A failure schedules the next attempt with exponential backoff; after
// maxAttempts the message is marked failed and stays for inspection. Runs as a job under the
// scheduler's advisory lock, so with several hubs each message is sent by one of them.
import type { HubContext } from '../context.ts';
import { dueMessages, markAttemptFailed, markSent } from './notifications.repository.ts';
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
  const due = await dueMessages(hub.db, now, opts.limit ?? 50);
  const result: DispatchResult = { sent: 0, retried: 0, failed: 0 };
  for (const m of due) {
    const payload = (typeof m.payload === 'string' ? JSON.parse(m.payload) : m.payload) as OutboxPayload;
    const attempts = m.attempts + 1;
    try {
      await send(m.kind, m.target, payload, settings);
      await markSent(hub.db, m.id, attempts);
      result.sent++;
      hub.metrics.notificationDeliveries.inc({ kind: m.kind, result: 'sent' });
    } catch (err) {
      const error = err instanceof Error ? err.message : String(err);
      const final = attempts >= settings.maxAttempts;
      const next = new Date(now.getTime() + backoffMs(attempts, settings));
      await markAttemptFailed(hub.db, m.id, attempts, error.slice(0, 500), next, final);
      if (final) result.failed++;
      else result.retried++;
      hub.metrics.notificationDeliveries.inc({ kind: m.kind, result: final ? 'failed' : 'retry' });
    }
  }
  return result;
}
