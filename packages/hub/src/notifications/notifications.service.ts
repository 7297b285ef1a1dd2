// Notification channels of an org as users manage them: who may see and change them, which
// targets are acceptable (a public address only, checked again at every delivery), and the audit
// trail. Routing alerts into the outbox is notify.service.ts; SQL is in notifications.repository.ts.
import { WattfleetError } from '@wattfleet/protocol';
import { audit } from '../audit/audit.ts';
import { type Actor, isFleetAdmin } from '../auth/actor.ts';
import type { HubContext } from '../context.ts';
import { notificationSettings } from './dispatcher.ts';
import { assertPublicTarget, parseAllowList, TargetRefusedError } from './net-guard.ts';
import { type ChannelRow, disableChannel, insertChannel, listChannels } from './notifications.repository.ts';
import type { Channel, ChannelBody } from './notifications.schema.ts';

/** A row as the API shows it (the row itself, snake_case, timestamps as ISO text). */
const channelView = (c: ChannelRow): Channel => ({ ...c, created_at: new Date(c.created_at).toISOString() });

/** Another org's channels do not exist for the caller; viewers may read but not change them. */
function assertOrg(actor: Actor, orgId: string, write: boolean) {
  if (isFleetAdmin(actor)) return;
  if (actor.kind === 'user' && actor.orgId === orgId && (!write || (actor.role as string) !== 'viewer'))
    return;
  throw new WattfleetError('WF_NOT_FOUND', 'Organisation not found');
}

function checkTarget(kind: string, target: string) {
  const ok =
    kind === 'email'
      ? /^[^\s@]+@[^\s@]+$/.test(target)
      : (() => {
          try {
            const u = new URL(target);
            return u.protocol === 'https:' || u.protocol === 'http:';
          } catch {
            return false;
          }
        })();
  if (!ok)
    throw new WattfleetError('WF_VALIDATION', undefined, [
      { path: '/body/target', message: kind === 'email' ? 'Not an email address' : 'Not an http(s) URL' },
    ]);
}

export class NotificationService {
  constructor(private readonly hub: HubContext) {}

  async list(actor: Actor, orgId: string): Promise<Channel[]> {
    assertOrg(actor, orgId, false);
    return (await listChannels(this.hub.db, orgId)).map(channelView);
  }

  async create(actor: Actor, orgId: string, body: ChannelBody, sourceIp: string): Promise<Channel> {
    assertOrg(actor, orgId, true);
    checkTarget(body.kind, body.target);
    if (body.kind !== 'email') {
      // Refused now rather than at the first alert; delivery checks again (DNS may change).
      try {
        await assertPublicTarget(
          new URL(body.target),
          parseAllowList(notificationSettings(this.hub).allowHosts),
        );
      } catch (err) {
        if (!(err instanceof TargetRefusedError)) throw err;
        throw new WattfleetError('WF_TARGET_REFUSED', undefined, [
          { path: '/body/target', message: err.message },
        ]);
      }
    }
    const ch = await insertChannel(this.hub.db, orgId, body);
    await audit(this.hub.db, actor, {
      action: 'notification.channel.create',
      targetType: 'org',
      targetId: orgId,
      sourceIp,
      details: { channelId: ch.id, kind: body.kind },
    });
    return channelView(ch);
  }

  async disable(actor: Actor, orgId: string, id: string, sourceIp: string): Promise<void> {
    assertOrg(actor, orgId, true);
    if (!(await disableChannel(this.hub.db, orgId, id)))
      throw new WattfleetError('WF_NOT_FOUND', 'Channel not found');
    await audit(this.hub.db, actor, {
      action: 'notification.channel.disable',
      targetType: 'org',
      targetId: orgId,
      sourceIp,
      details: { channelId: id },
    });
  }
}
