// Realtime fan-out over WebSocket (GET /api/v1/realtime). A browser authenticates with its bearer
// token in its first message {type:'auth', token} (never in the URL: URLs end up in logs and
// browser history, so a `?token=` is refused with WF_TOKEN_IN_URL), subscribes to sites or nodes
// it may see, and receives live snapshots, status changes, command and alert updates of those only.
// A subscription to anything outside the caller's scope is refused as a whole with an error and
// nothing of it is ever sent; unknown and foreign ids get the same answer (no existence oracle).
// A client that does not read (bufferedAmount above a bound) is dropped, never buffered without bound.
// A socket never outlives its session: logout, revocation, disable or token expiry close it with
// code 4401 (session-guard.ts). A fresh token sent as {type:'auth'} on an open socket (same user)
// extends it instead.
//
// Client → hub: {type:'auth', token} | {type:'subscribe'|'unsubscribe', siteIds?, nodeIds?}
// Hub → client: {type:'ready'} | {type:'subscribed', siteIds, nodeIds} | {type:'error', code, message, refused?}
//               | {type:'event', event, data}
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import websocket from '@fastify/websocket';
import { checker, ERRORS, WattfleetError } from '@wattfleet/protocol';
import type { FastifyRequest } from 'fastify';
import Type from 'typebox';
import type { Actor } from '../auth/actor.ts';
import type { HubEvents } from '../context.ts';
import { newSubscriber, Registry, type Subscriber } from './registry.ts';
import { resolveTargets } from './scope.ts';
import { SESSION_CHECK_MS, SessionGuard } from './session-guard.ts';

declare module '../context.ts' {
  interface HubContext {
    /** Set by the realtime routes: re-check open sockets against sessions and grants now. */
    realtime?: { recheckSessions(): Promise<void>; sockets?(): number };
  }
}

/** Above this many unsent bytes a client is considered stuck and dropped. */
export const MAX_BUFFERED_BYTES = 1024 * 1024;
const AUTH_TIMEOUT_MS = 10_000;
const MAX_SUBSCRIPTIONS = 1000;

const Ids = Type.Array(Type.String({ format: 'uuid' }), { maxItems: MAX_SUBSCRIPTIONS });
const ClientMessage = Type.Union([
  Type.Object(
    { type: Type.Literal('auth'), token: Type.String({ maxLength: 8192 }) },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      type: Type.Union([Type.Literal('subscribe'), Type.Literal('unsubscribe')]),
      siteIds: Type.Optional(Ids),
      nodeIds: Type.Optional(Ids),
    },
    { additionalProperties: false },
  ),
]);
const clientMessage = checker(ClientMessage);

type FannedEvent =
  | 'node.live'
  | 'node.status'
  | 'command.updated'
  | 'alert.updated'
  | 'node.clock_drift'
  | 'equipment.updated';
const FANNED: FannedEvent[] = [
  'node.live',
  'node.status',
  'command.updated',
  'alert.updated',
  'node.clock_drift',
  'equipment.updated',
];

export interface RealtimeStats {
  sent: number;
  dropped: number;
}

export interface RealtimeOptions {
  maxBufferedBytes?: number;
  /** Counters owned by the caller (the control plane exposes them). */
  stats?: RealtimeStats;
  /** Period of the session and grant re-check of open sockets (default SESSION_CHECK_MS). */
  sessionCheckMs?: number;
}

/** The upgrade request: a token in the URL is refused (WF_TOKEN_IN_URL), so it is declared here. */
const UpgradeQuery = Type.Object({
  token: Type.Optional(Type.String({ description: 'Refused: send the token in the first message' })),
});

const DESCRIPTION = [
  'WebSocket (upgrade with GET). Authenticate in the first message, within 10 s:',
  '`{"type":"auth","token":"<access token>"}` (a token in the URL is refused with WF_TOKEN_IN_URL).',
  'Then `{"type":"subscribe"|"unsubscribe","siteIds":[…],"nodeIds":[…]}`.',
  'The hub sends `{"type":"ready"}`, `{"type":"subscribed","siteIds","nodeIds"}`,',
  '`{"type":"event","event":"node.live"|"node.status"|"command.updated"|"alert.updated"|"node.clock_drift","data"}`',
  'and `{"type":"error","code","message","refused?"}`. A subscription outside the caller\'s scope is refused',
  'as a whole. The socket closes with code 4401 when the session ends (logout, revocation, expiry).',
].join(' ');

export function realtimeRoutes(opts: RealtimeOptions = {}): FastifyPluginAsyncTypebox {
  const bound = opts.maxBufferedBytes ?? MAX_BUFFERED_BYTES;
  return async (app) => {
    if (!app.hasDecorator('websocketServer')) {
      await app.register(websocket, { options: { maxPayload: 64 * 1024 } });
    }
    const hub = app.hub;
    const registry = new Registry();
    const stats = opts.stats ?? { dropped: 0, sent: 0 };

    const send = (sub: Subscriber, message: object): void => {
      if (sub.ended || sub.socket.readyState !== sub.socket.OPEN) return;
      if (sub.socket.bufferedAmount > bound) {
        stats.dropped++;
        sub.socket.terminate();
        return;
      }
      sub.socket.send(JSON.stringify(message));
      stats.sent++;
    };

    /** Closes a socket for good: unsubscribed first, so not one more event reaches it. */
    const end = (sub: Subscriber, code: string, message: string): void => {
      if (sub.ended) return;
      send(sub, { type: 'error', code, message });
      sub.ended = true;
      registry.remove(sub);
      guard.forget(sub);
      sub.socket.close(4401, code);
    };
    const guard = new SessionGuard(hub, registry, {
      end,
      narrow: (sub, siteIds, nodeIds) => {
        for (const id of siteIds) registry.dropSite(sub, id);
        for (const id of nodeIds) registry.dropNode(sub, id);
        send(sub, {
          type: 'error',
          code: 'WF_FORBIDDEN',
          message: 'Access to these ended; nothing more of them will be sent',
          refused: { siteIds, nodeIds },
        });
        send(sub, { type: 'subscribed', siteIds: [...sub.sites], nodeIds: [...sub.nodes.keys()] });
      },
    });
    hub.realtime = { recheckSessions: () => guard.recheck(), sockets: () => registry.all.size };

    const offs = FANNED.map((name) =>
      hub.bus.onEvent(name, (payload: HubEvents[typeof name]) => {
        const data = payload as { siteId?: string | null; nodeId?: string };
        for (const sub of registry.targets(data.siteId, data.nodeId))
          send(sub, { type: 'event', event: name, data });
      }),
    );
    offs.push(hub.bus.onEvent('session.ended', guard.onSessionEnded));
    const checkTimer = setInterval(() => {
      guard.recheck().catch((err) => app.log.error({ err }, 'realtime session re-check failed'));
    }, opts.sessionCheckMs ?? SESSION_CHECK_MS);
    checkTimer.unref();
    app.addHook('onClose', async () => {
      clearInterval(checkTimer);
      guard.stop();
      for (const off of offs) off();
      for (const sub of registry.all) sub.socket.close(1001, 'hub shutting down');
    });

    /** The actor of a token plus its session and expiry, or the error code that refused it. */
    const authenticate = async (
      token: string,
      request: FastifyRequest,
    ): Promise<
      | { actor: Actor; sessionId?: string; expiresAtMs?: number }
      | { refused: { code: string; message: string } }
    > => {
      let refused = { code: 'WF_TOKEN_INVALID', message: 'The token is invalid' };
      for (const a of app.bearerAuthenticators) {
        request.sessionId = undefined;
        request.accessExpiresAtMs = undefined;
        try {
          const actor = await a(token, request);
          if (actor) {
            return {
              actor,
              ...(request.sessionId ? { sessionId: request.sessionId } : {}),
              ...(request.accessExpiresAtMs ? { expiresAtMs: request.accessExpiresAtMs } : {}),
            };
          }
        } catch (err) {
          // An expired token, an ended session, a disabled user: say which.
          if (err instanceof WattfleetError) refused = { code: err.code, message: err.message };
        }
      }
      return { refused };
    };

    const sameIdentity = (a: Actor, b: Actor) =>
      a.kind === b.kind &&
      (a.kind !== 'user' || (b.kind === 'user' && a.userId === b.userId)) &&
      (a.kind !== 'node' || (b.kind === 'node' && a.nodeId === b.nodeId));

    /** First authentication, or a fresh token of the same identity that extends the socket. */
    const authorize = async (sub: Subscriber, token: string, request: FastifyRequest): Promise<void> => {
      const found = await authenticate(token, request);
      if (sub.ended) return;
      if ('refused' in found) return end(sub, found.refused.code, found.refused.message);
      if (sub.actor && !sameIdentity(sub.actor, found.actor)) {
        return end(sub, 'WF_FORBIDDEN', 'A socket stays with one identity; open a new one to switch');
      }
      sub.actor = found.actor;
      sub.sessionId = found.sessionId;
      sub.expiresAtMs = found.expiresAtMs;
      guard.watch(sub);
      send(sub, { type: 'ready' });
    };

    const subscribe = async (sub: Subscriber, siteIds: string[], nodeIds: string[]) => {
      const found = await resolveTargets(hub, sub.actor!, siteIds, nodeIds);
      // The socket may have been closed (session ended) while the lookup ran.
      if (sub.ended) return;
      const okSites = found.siteIds.filter((id) => !sub.sites.has(id));
      const okNodes = [...found.nodes].filter(([id]) => !sub.nodes.has(id));
      if (sub.sites.size + sub.nodes.size + okSites.length + okNodes.length > MAX_SUBSCRIPTIONS) {
        send(sub, { type: 'error', code: 'WF_VALIDATION', message: 'Too many subscriptions' });
        return;
      }
      for (const id of okSites) registry.addSite(sub, id);
      for (const [id, site] of okNodes) registry.addNode(sub, id, site);
      const { refused } = found;
      if (refused.siteIds.length || refused.nodeIds.length) {
        send(sub, {
          type: 'error',
          code: 'WF_FORBIDDEN',
          message: 'Not found or not yours to see; nothing of these will be sent',
          refused,
        });
      }
      send(sub, { type: 'subscribed', siteIds: [...sub.sites], nodeIds: [...sub.nodes.keys()] });
    };

    const unsubscribe = (sub: Subscriber, siteIds: string[], nodeIds: string[]) => {
      for (const id of siteIds) registry.dropSite(sub, id);
      for (const id of nodeIds) registry.dropNode(sub, id);
      send(sub, { type: 'subscribed', siteIds: [...sub.sites], nodeIds: [...sub.nodes.keys()] });
    };

    app.get(
      '/realtime',
      {
        websocket: true,
        schema: {
          tags: ['realtime'],
          summary: 'Live events of the sites and nodes the caller may see (WebSocket)',
          description: DESCRIPTION,
          querystring: UpgradeQuery,
          response: {
            101: Type.Null({ description: 'Switching protocols: the socket is open; messages as described' }),
          },
        },
      },
      (socket, request) => {
        const sub = newSubscriber(socket);
        registry.add(sub);
        // Messages are handled one after another so a subscribe is complete before the next one.
        let queue: Promise<void> = Promise.resolve();
        const timer = setTimeout(() => {
          if (!sub.actor) end(sub, 'WF_UNAUTHENTICATED', 'Authenticate within 10 s');
        }, AUTH_TIMEOUT_MS);
        timer.unref();
        socket.on('close', () => {
          clearTimeout(timer);
          sub.ended = true;
          registry.remove(sub);
          guard.forget(sub);
        });

        if (request.query.token !== undefined) {
          end(sub, 'WF_TOKEN_IN_URL', ERRORS.WF_TOKEN_IN_URL.message);
          return;
        }

        socket.on('message', (raw) => {
          queue = queue
            .then(async () => {
              if (sub.ended || socket.readyState !== socket.OPEN) return;
              let msg: unknown;
              try {
                msg = JSON.parse(raw.toString());
              } catch {
                return send(sub, { type: 'error', code: 'WF_BAD_JSON', message: 'Messages are JSON' });
              }
              if (!clientMessage.check(msg)) {
                return send(sub, {
                  type: 'error',
                  code: 'WF_VALIDATION',
                  message: 'Unknown message',
                  problems: clientMessage.problems(msg),
                });
              }
              if (msg.type === 'auth') return authorize(sub, msg.token, request);
              if (!sub.actor) return end(sub, 'WF_UNAUTHENTICATED', 'Send {type:"auth", token} first');
              if (msg.type === 'subscribe') await subscribe(sub, msg.siteIds ?? [], msg.nodeIds ?? []);
              else unsubscribe(sub, msg.siteIds ?? [], msg.nodeIds ?? []);
            })
            .catch((err) => {
              request.log.error({ err }, 'realtime message failed');
              send(sub, { type: 'error', code: 'WF_INTERNAL', message: 'Internal error' });
            });
        });
      },
    );
  };
}
