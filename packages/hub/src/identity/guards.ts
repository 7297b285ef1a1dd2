// Role checks shared by the identity routes. A refusal of an admin action is itself audited.
import { WattfleetError } from '@wattfleet/protocol';
import type { FastifyRequest } from 'fastify';
import { audit } from '../audit/audit.ts';
import { type Actor, isFleetAdmin, isOrgAdminOf } from '../auth/actor.ts';
import { actorOf } from '../auth/authenticate.ts';
import type { HubContext } from '../context.ts';

export async function requireAdmin(
  hub: HubContext,
  request: FastifyRequest,
  action: string,
  target?: { type: string; id?: string },
): Promise<Actor> {
  const actor = actorOf(request);
  if (isFleetAdmin(actor)) return actor;
  return deny(hub, request, actor, action, target);
}

/**
 * Managing the users of an org: fleet admins anywhere, org admins in their own org. An org admin
 * reaching for another org's user gets 404 (as if it did not exist); other roles get an audited 403.
 */
export async function requireUserManager(
  hub: HubContext,
  request: FastifyRequest,
  action: string,
  orgId: string | undefined,
  target?: { type: string; id?: string },
): Promise<Actor> {
  const actor = actorOf(request);
  if (isFleetAdmin(actor) || isOrgAdminOf(actor, orgId)) return actor;
  if (actor.kind === 'user' && actor.role === 'org_admin' && target?.id) {
    throw new WattfleetError('WF_NOT_FOUND', 'User not found');
  }
  return deny(hub, request, actor, action, target);
}

async function deny(
  hub: HubContext,
  request: FastifyRequest,
  actor: Actor,
  action: string,
  target?: { type: string; id?: string },
): Promise<never> {
  await audit(hub.db, actor, {
    action,
    result: 'denied',
    sourceIp: request.ip,
    ...(target ? { targetType: target.type } : {}),
    ...(target?.id ? { targetId: target.id } : {}),
  });
  throw new WattfleetError('WF_FORBIDDEN');
}

export function userOnly(actor: Actor): Extract<Actor, { kind: 'user' }> {
  if (actor.kind !== 'user') throw new WattfleetError('WF_FORBIDDEN', 'Only user sessions can do this');
  return actor;
}
