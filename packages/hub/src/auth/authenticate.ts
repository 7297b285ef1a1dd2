// Request authentication for people and scripts. The static admin token from configuration is
// accepted as a fleet-admin actor; user sessions (JWT) plug in through `userAuthenticators`.
import { timingSafeEqual } from 'node:crypto';
import { WattfleetError } from '@wattfleet/protocol';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Actor } from './actor.ts';

/** Turns a bearer token into an Actor, or returns undefined when it is not theirs to judge. */
export type BearerAuthenticator = (token: string, request: FastifyRequest) => Promise<Actor | undefined>;

declare module 'fastify' {
  interface FastifyRequest {
    actor: Actor | undefined;
  }
  interface FastifyInstance {
    /** preHandler: refuses the request unless a user (or the admin token) is authenticated. */
    requireActor: (request: FastifyRequest) => Promise<void>;
    bearerAuthenticators: BearerAuthenticator[];
  }
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export function registerAuthentication(app: FastifyInstance, adminToken: string | undefined): void {
  app.decorateRequest('actor', undefined);
  const authenticators: BearerAuthenticator[] = [];
  if (adminToken) {
    authenticators.push(async (token) => (safeEqual(token, adminToken) ? { kind: 'token' } : undefined));
  }
  app.decorate('bearerAuthenticators', authenticators);
  app.decorate('requireActor', async (request: FastifyRequest) => {
    const header = request.headers.authorization;
    if (!header?.startsWith('Bearer ')) throw new WattfleetError('WF_UNAUTHENTICATED');
    const token = header.slice(7).trim();
    for (const authenticate of app.bearerAuthenticators) {
      const actor = await authenticate(token, request);
      if (actor) {
        request.actor = actor;
        return;
      }
    }
    throw new WattfleetError('WF_TOKEN_INVALID');
  });
}

/** The authenticated actor of a route guarded by requireActor. */
export function actorOf(request: FastifyRequest): Actor {
  if (!request.actor) throw new WattfleetError('WF_UNAUTHENTICATED');
  return request.actor;
}
