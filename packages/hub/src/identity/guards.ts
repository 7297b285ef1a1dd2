// Role checks shared by the identity services. A refusal of an admin action is itself audited.
import { WattfleetError } from '@wattfleet/protocol';
import { audit } from '../audit/audit.ts';
import { type Actor, isFleetAdmin, isOrgAdminOf } from '../auth/actor.ts';
import type { HubContext } from '../context.ts';

export interface Target {
  type: string;
  id?: string;
}

export async function requireAdmin(
  hub: HubContext,
  actor: Actor,
  sourceIp: string,
  action: string,
  target?: Target,
): Promise<Actor> {
  if (isFleetAdmin(actor)) return actor;
  return deny(hub, actor, sourceIp, action, target);
}

/**
 * Managing the users of an org: fleet admins anywhere, org admins in their own org. An org admin
 * reaching for another org's user gets 404 (as if it did not exist); other roles get an audited 403.
 */
export async function requireUserManager(
  hub: HubContext,
  actor: Actor,
  sourceIp: string,
  action: string,
  orgId: string | undefined,
  target?: Target,
): Promise<Actor> {
  if (isFleetAdmin(actor) || isOrgAdminOf(actor, orgId)) return actor;
  if (actor.kind === 'user' && actor.role === 'org_admin' && target?.id) {
    throw new WattfleetError('WF_NOT_FOUND', 'User not found');
  }
  return deny(hub, actor, sourceIp, action, target);
}

async function deny(
  hub: HubContext,
  actor: Actor,
  sourceIp: string,
  action: string,
  target?: Target,
): Promise<never> {
  await audit(hub.db, actor, {
    action,
    result: 'denied',
    sourceIp,
    ...(target ? { targetType: target.type } : {}),
    ...(target?.id ? { targetId: target.id } : {}),
  });
  throw new WattfleetError('WF_FORBIDDEN');
}

export function userOnly(actor: Actor): Extract<Actor, { kind: 'user' }> {
  if (actor.kind !== 'user') throw new WattfleetError('WF_FORBIDDEN', 'Only user sessions can do this');
  return actor;
}
