// Who is calling. Every route works with an Actor; how one is established (admin token today,
// JWT users in the identity module, signed node requests) is the authentication layer's job.
import type { Role } from '@wattfleet/protocol';

/** Reading a site's data, or changing it (viewers never write). */
export type AccessMode = 'read' | 'write';

export type Actor =
  | { kind: 'user'; userId: string; orgId: string; role: Role; email?: string }
  | { kind: 'token' } // the static admin token from configuration: operator scripts, tests
  | { kind: 'node'; nodeId: string; siteId: string }
  | { kind: 'system' };

export function actorId(actor: Actor): string | null {
  switch (actor.kind) {
    case 'user':
      return actor.userId;
    case 'node':
      return actor.nodeId;
    default:
      return null;
  }
}

/**
 * Fleet-wide operators: the admin role and the configuration token. A user with role `admin`
 * always belongs to an operator org (the database refuses anything else, migration 013).
 */
export function isFleetAdmin(actor: Actor): boolean {
  return (
    actor.kind === 'token' || actor.kind === 'system' || (actor.kind === 'user' && actor.role === 'admin')
  );
}

/** An org-scoped administrator: manages the users and sites of `orgId` only. */
export function isOrgAdminOf(actor: Actor, orgId: string | undefined): boolean {
  return actor.kind === 'user' && actor.role === 'org_admin' && orgId !== undefined && actor.orgId === orgId;
}
