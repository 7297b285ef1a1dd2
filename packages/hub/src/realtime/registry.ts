// The open realtime sockets of one hub and what each is subscribed to, indexed by site and node so
// a fanned-out event finds its receivers without scanning every socket.
import type { WebSocket } from 'ws';
import type { Actor } from '../auth/actor.ts';

export interface Subscriber {
  socket: WebSocket;
  actor: Actor | undefined;
  /** The login session behind a user's access token (absent for the admin token). */
  sessionId: string | undefined;
  /** When the access token expires (ms, the identity clock); the socket closes then. */
  expiresAtMs: number | undefined;
  sites: Set<string>;
  /** Subscribed node → its site, kept so a narrowed scope can drop the node too. */
  nodes: Map<string, string>;
  /** Set once the socket is being closed by the hub: nothing more is sent to it. */
  ended: boolean;
}

export function newSubscriber(socket: WebSocket): Subscriber {
  return {
    socket,
    actor: undefined,
    sessionId: undefined,
    expiresAtMs: undefined,
    sites: new Set(),
    nodes: new Map(),
    ended: false,
  };
}

export class Registry {
  readonly all = new Set<Subscriber>();
  private readonly bySite = new Map<string, Set<Subscriber>>();
  private readonly byNode = new Map<string, Set<Subscriber>>();

  add(sub: Subscriber): void {
    this.all.add(sub);
  }

  /** Forgets the socket and every subscription of it (idempotent). */
  remove(sub: Subscriber): void {
    this.all.delete(sub);
    for (const id of sub.sites) this.index(this.bySite, id, sub, false);
    for (const id of sub.nodes.keys()) this.index(this.byNode, id, sub, false);
  }

  addSite(sub: Subscriber, siteId: string): void {
    sub.sites.add(siteId);
    this.index(this.bySite, siteId, sub, true);
  }

  addNode(sub: Subscriber, nodeId: string, siteId: string): void {
    sub.nodes.set(nodeId, siteId);
    this.index(this.byNode, nodeId, sub, true);
  }

  dropSite(sub: Subscriber, siteId: string): void {
    sub.sites.delete(siteId);
    this.index(this.bySite, siteId, sub, false);
  }

  dropNode(sub: Subscriber, nodeId: string): void {
    sub.nodes.delete(nodeId);
    this.index(this.byNode, nodeId, sub, false);
  }

  /** Receivers of an event about this site and/or node. */
  targets(siteId: string | null | undefined, nodeId: string | undefined): Set<Subscriber> {
    const out = new Set<Subscriber>();
    if (siteId) for (const s of this.bySite.get(siteId) ?? []) out.add(s);
    if (nodeId) for (const s of this.byNode.get(nodeId) ?? []) out.add(s);
    return out;
  }

  private index(map: Map<string, Set<Subscriber>>, key: string, sub: Subscriber, add: boolean): void {
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
  }
}
