// The only place notification SQL lives: an org's channels, and the outbox of messages (queued by
// notify.service.ts, sent by dispatcher.ts). All of it runs on hub.db (the table owner): the
// channel API checks access in code, and the engine and dispatcher work across tenants.
import type { Kysely, Selectable } from 'kysely';
import type { DB } from '../storage/schema.ts';
import type { NotificationChannelsTable } from './notifications.tables.ts';
import './notifications.tables.ts';
import type { ChannelBody } from './notifications.schema.ts';

export type ChannelRow = Selectable<NotificationChannelsTable>;

// ---- channels ----

/** Every channel of an org (disabled ones too), oldest first. */
export async function listChannels(db: Kysely<DB>, orgId: string): Promise<ChannelRow[]> {
  return db
    .selectFrom('notification_channels')
    .selectAll()
    .where('org_id', '=', orgId)
    .orderBy('created_at')
    .execute();
}

export async function enabledChannels(db: Kysely<DB>, orgId: string): Promise<ChannelRow[]> {
  return db
    .selectFrom('notification_channels')
    .selectAll()
    .where('org_id', '=', orgId)
    .where('enabled', '=', true)
    .execute();
}

export async function insertChannel(db: Kysely<DB>, orgId: string, b: ChannelBody): Promise<ChannelRow> {
  return db
    .insertInto('notification_channels')
    .values({
      org_id: orgId,
      kind: b.kind,
      target: b.target,
      min_severity: b.minSeverity ?? 'warning',
      throttle_s: b.throttleS ?? 900,
      created_at: new Date(),
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** Disabled, not deleted: outbox rows keep pointing at it. False when the org has no such channel. */
export async function disableChannel(db: Kysely<DB>, orgId: string, id: string): Promise<boolean> {
  const r = await db
    .updateTable('notification_channels')
    .set({ enabled: false })
    .where('id', '=', id)
    .where('org_id', '=', orgId)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

// ---- outbox ----

/** Whether the channel has a message for this key, pending or sent, created after `since`. */
export async function hasRecentMessage(
  db: Kysely<DB>,
  channelId: string,
  throttleKey: string,
  since: Date,
): Promise<boolean> {
  const row = await db
    .selectFrom('notification_outbox')
    .select('id')
    .where('channel_id', '=', channelId)
    .where('throttle_key', '=', throttleKey)
    .where('status', 'in', ['pending', 'sent'])
    .where('created_at', '>', since)
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}

export interface NewMessage {
  channelId: string;
  alertId: string;
  throttleKey: string;
  payload: Record<string, unknown>;
  status: 'pending' | 'suppressed';
  now: Date;
}

export async function insertMessage(db: Kysely<DB>, m: NewMessage): Promise<void> {
  await db
    .insertInto('notification_outbox')
    .values({
      channel_id: m.channelId,
      alert_id: m.alertId,
      throttle_key: m.throttleKey,
      payload: JSON.stringify(m.payload),
      status: m.status,
      next_attempt_at: m.now,
      last_error: null,
      created_at: m.now,
      sent_at: null,
    })
    .execute();
}

/** Pending messages whose next attempt is due, oldest first, with where they go. */
export async function dueMessages(db: Kysely<DB>, now: Date, limit: number) {
  return db
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
    .limit(limit)
    .execute();
}

export async function markSent(db: Kysely<DB>, id: number, attempts: number): Promise<void> {
  await db
    .updateTable('notification_outbox')
    .set({ status: 'sent', attempts, sent_at: new Date(), last_error: null })
    .where('id', '=', id)
    .execute();
}

/** A failed attempt: tried again at `nextAttemptAt`, or given up on (`final`). */
export async function markAttemptFailed(
  db: Kysely<DB>,
  id: number,
  attempts: number,
  error: string,
  nextAttemptAt: Date,
  final: boolean,
): Promise<void> {
  await db
    .updateTable('notification_outbox')
    .set({
      status: final ? 'failed' : 'pending',
      attempts,
      last_error: error,
      next_attempt_at: nextAttemptAt,
    })
    .where('id', '=', id)
    .execute();
}
