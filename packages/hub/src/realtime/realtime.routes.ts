// Realtime fan-out over WebSocket (GET /api/v1/realtime). A browser authenticates with its bearer
// token (`?token=` or a first message {type:'auth', token}), subscribes to sites or nodes it may
// see, and receives live snapshots, status changes, command and alert updates of those only.
// A subscription to anything outside the caller's scope is refused as a whole with an error and
// nothing of it is ever sent; unknown and foreign ids get the same answer (no existence oracle).
// A client that does not read (bufferedAmount above a bound) is dropped, never buffered without bound.
//
// Client → hub: {type:'auth', token} | {type:'subscribe'|'unsubscribe', siteIds?, nodeIds?}
// Hub → client: {type:'ready'} | {type:'subscribed', siteIds, nodeIds} | {type:'error', code, message, refused?}
//               | {type:'event', event, data}
import websocket from '@fastify/websocket';
import { checker } from '@wattfleet/protocol';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import Type from 'typebox';
import type { WebSocket } from 'ws';
import type { Actor } from '../auth/actor.ts';
import type { HubEvents } from '../context.ts';

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

type FannedEvent = 'node.live' | 'node.status' | 'command.updated' | 'alert.updated' | 'node.clock_drift';
const FANNED: FannedEvent[] = [
  'node.live',
  'node.status',
  'command.updated',
  'alert.updated',
  'node.clock_drift',
];

interface Subscriber {
  socket: WebSocket;
  actor: Actor | undefined;
  sites: Set<string>;
  nodes: Set<string>;
}

export interface RealtimeStats {
  sent: number;
  dropped: number;
}

export interface RealtimeOptions {
  maxBufferedBytes?: number;
  /** Counters owned by the caller (the control plane exposes them). */
  stats?: RealtimeStats;
}

export function realtimeRoutes(opts: RealtimeOptions = {}) {
  const bound = opts.maxBufferedBytes ?? MAX_BUFFERED_BYTES;
  return async (app: FastifyInstance): Promise<void> => {
    if (!app.hasDecorator('websocketServer')) {
      await app.register(websocket, { options: { maxPayload: 64 * 1024 } });
    }
    const hub = app.hub;
    const bySite = new Map<string, Set<Subscriber>>();
    const byNode = new Map<string, Set<Subscriber>>();
    const all = new Set<Subscriber>();
    const stats = opts.stats ?? { dropped: 0, sent: 0 };

    const send = (sub: Subscriber, message: object): void => {
      if (sub.socket.readyState !== sub.socket.OPEN) return;
      if (sub.socket.bufferedAmount > bound) {
        stats.dropped++;
        sub.socket.terminate();
        return;
      }
      sub.socket.send(JSON.stringify(message));
      stats.sent++;
    };

    const fanOut = (event: FannedEvent, data: { siteId?: string | null; nodeId?: string }) => {
      const targets = new Set<Subscriber>();
      if (data.siteId) for (const s of bySite.get(data.siteId) ?? []) targets.add(s);
      if (data.nodeId) for (const s of byNode.get(data.nodeId) ?? []) targets.add(s);
      for (const sub of targets) send(sub, { type: 'event', event, data });
    };
    const offs = FANNED.map((name) =>
      hub.bus.onEvent(name, (payload: HubEvents[typeof name]) =>
        fanOut(name, payload as { siteId?: string | null; nodeId?: string }),
      ),
    );
    app.addHook('onClose', async () => {
      for (const off of offs) off();
      for (const sub of all) sub.socket.close(1001, 'hub shutting down');
    });

    const index = (map: Map<string, Set<Subscriber>>, key: string, sub: Subscriber, add: boolean) => {
      let set = map.get(key);
      if (add) {
        if (!set) {
          set = new Set();
          map.set(key, set);
        }
        set.add(sub);
      } else if (set) {
        set.delete(sub);
        if (set.size === 0) map.delete(key);
      }
    };

    const authenticate = async (token: string, request: FastifyRequest): Promise<Actor | undefined> => {
      for (const a of app.bearerAuthenticators) {
        try {
          const actor = await a(token, request);
          if (actor) return actor;
        } catch {
          // An expired or malformed token is simply not this authenticator's actor.
        }
      }
      return undefined;
    };

    const subscribe = async (sub: Subscriber, siteIds: string[], nodeIds: string[]) => {
      const actor = sub.actor!;
      const scope = await hub.siteScope(hub.db, actor, 'read');
      const visible = (siteId: string) => scope === 'all' || scope.includes(siteId);
      const refused = { siteIds: siteIds.filter((id) => !visible(id)), nodeIds: [] as string[] };
      const nodeSites = nodeIds.length
        ? await hub.db.selectFrom('nodes').select(['id', 'site_id']).where('id', 'in', nodeIds).execute()
        : [];
      const siteOfNode = new Map(nodeSites.map((n) => [n.id, n.site_id]));
      for (const id of nodeIds) {
        const site = siteOfNode.get(id);
        if (!site || !visible(site)) refused.nodeIds.push(id);
      }
      const okSites = siteIds.filter((id) => !refused.siteIds.includes(id));
      const okNodes = nodeIds.filter((id) => !refused.nodeIds.includes(id));
      if (sub.sites.size + sub.nodes.size + okSites.length + okNodes.length > MAX_SUBSCRIPTIONS) {
        send(sub, { type: 'error', code: 'WF_VALIDATION', message: 'Too many subscriptions' });
        return;
      }
      for (const id of okSites) {
        sub.sites.add(id);
        index(bySite, id, sub, true);
      }
      for (const id of okNodes) {
        sub.nodes.add(id);
        index(byNode, id, sub, true);
      }
      if (refused.siteIds.length || refused.nodeIds.length) {
        send(sub, {
          type: 'error',
          code: 'WF_FORBIDDEN',
          message: 'Not found or not yours to see; nothing of these will be sent',
          refused,
        });
      }
      send(sub, { type: 'subscribed', siteIds: [...sub.sites], nodeIds: [...sub.nodes] });
    };

    const unsubscribe = (sub: Subscriber, siteIds: string[], nodeIds: string[]) => {
      for (const id of siteIds) {
        sub.sites.delete(id);
        index(bySite, id, sub, false);
      }
      for (const id of nodeIds) {
        sub.nodes.delete(id);
        index(byNode, id, sub, false);
      }
      send(sub, { type: 'subscribed', siteIds: [...sub.sites], nodeIds: [...sub.nodes] });
    };

    app.get('/realtime', { websocket: true }, (socket, request) => {
      const sub: Subscriber = { socket, actor: undefined, sites: new Set(), nodes: new Set() };
      all.add(sub);
      // Messages are handled one after another so a subscribe is complete before the next one.
      let queue: Promise<void> = Promise.resolve();
      const fail = (code: string, message: string) => {
        send(sub, { type: 'error', code, message });
        socket.close(4401, code);
      };
      const timer = setTimeout(() => {
        if (!sub.actor) fail('WF_UNAUTHENTICATED', 'Authenticate within 10 s');
      }, AUTH_TIMEOUT_MS);
      timer.unref();
      socket.on('close', () => {
        clearTimeout(timer);
        all.delete(sub);
        for (const id of sub.sites) index(bySite, id, sub, false);
        for (const id of sub.nodes) index(byNode, id, sub, false);
      });

      const token = (request.query as { token?: string }).token;
      if (token) {
        queue = queue.then(async () => {
          sub.actor = await authenticate(token, request);
          if (sub.actor) send(sub, { type: 'ready' });
          else fail('WF_TOKEN_INVALID', 'The token is invalid');
        });
      }

      socket.on('message', (raw) => {
        queue = queue
          .then(async () => {
            if (socket.readyState !== socket.OPEN) return;
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
            if (msg.type === 'auth') {
              if (sub.actor) return send(sub, { type: 'ready' });
              sub.actor = await authenticate(msg.token, request);
              if (sub.actor) send(sub, { type: 'ready' });
              else fail('WF_TOKEN_INVALID', 'The token is invalid');
              return;
            }
            if (!sub.actor) return fail('WF_UNAUTHENTICATED', 'Send {type:"auth", token} first');
            if (msg.type === 'subscribe') await subscribe(sub, msg.siteIds ?? [], msg.nodeIds ?? []);
            else unsubscribe(sub, msg.siteIds ?? [], msg.nodeIds ?? []);
          })
          .catch((err) => {
            request.log.error({ err }, 'realtime message failed');
            send(sub, { type: 'error', code: 'WF_INTERNAL', message: 'Internal error' });
          });
      });
    });
  };
}
