// Role checks shared by the identity routes. A refusal of an admin action is itself audited.
import { WattfleetError } from '@wattfleet/protocol';
import type { FastifyRequest } from 'fastify';
import { audit } from '../audit/audit.ts';
import { type Actor, isFleetAdmin } from '../auth/actor.ts';
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
