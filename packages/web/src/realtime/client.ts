// Realtime: one WebSocket per tab, re-opened with capped exponential backoff (plus jitter so a
// hub restart is not met by every browser at the same instant). Subscriptions are remembered
// and replayed after every reconnect, so pages subscribe once and forget about the socket.
// Wire format (hub src/realtime/realtime.routes.ts): the first message is {type:'auth', token}
// (never a token in the URL: the hub refuses it, URLs end up in logs); then the client sends
// {type:'subscribe'|'unsubscribe', siteIds?, nodeIds?}; hub sends {type:'ready'},
// {type:'subscribed', siteIds, nodeIds}, {type:'error', code, message, refused?} and
// {type:'event', event, data} with event one of the names in HubEventData below.
import { API_PREFIX, getTokens, onTokens, request } from '../api/http.ts';

export type RealtimeMessage = { type: string; [key: string]: unknown };

/** Payloads of the events the hub fans out (its HubEvents), as they arrive in `data`. */
export interface HubEventData {
  'node.live': {
    nodeId: string;
    siteId: string;
    snapshot: {
      ts: number;
      values: Record<string, number>;
      equipment?: Record<string, Record<string, number>>;
    };
  };
  'node.status': { nodeId: string; siteId: string; status: string; reason?: string };
  'command.updated': { commandId: string; nodeId: string; siteId: string; state: string };
  'alert.updated': { alertId: string; siteId: string | null; state: string };
  'node.clock_drift': { nodeId: string; siteId: string; [key: string]: unknown };
  'equipment.updated': {
    siteId: string;
    nodeId: string;
    channelId?: string;
    status?: string;
    desiredState?: string | null;
    reportedState?: string | null;
    failureReason?: string | null;
  };
}
export type HubEventName = keyof HubEventData;
export type ConnectionState = 'connecting' | 'open' | 'closed';
type Listener = (message: RealtimeMessage) => void;

export interface RealtimeOptions {
  /** Builds the socket URL; the default is same-origin /api/v1/realtime. */
  url?: () => string;
  minDelayMs?: number;
  maxDelayMs?: number;
}

function defaultUrl(): string {
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${proto}//${location.host}${API_PREFIX}/realtime`;
}

export class RealtimeClient {
  private socket: WebSocket | null = null;
  private attempts = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private stopped = true;
  private readonly sites = new Map<string, number>();
  private readonly nodes = new Map<string, number>();
  private readonly listeners = new Set<Listener>();
  private readonly stateListeners = new Set<(s: ConnectionState) => void>();
  state: ConnectionState = 'closed';

  constructor(private readonly opts: RealtimeOptions = {}) {}

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.socket?.close(1000, 'bye');
    this.socket = null;
    this.setState('closed');
  }

  /** Restart with the current token (after login or a refresh). */
  restart(): void {
    this.stop();
    this.start();
  }

  onMessage(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Typed listener for one pushed hub event. */
  onEvent<K extends HubEventName>(name: K, listener: (data: HubEventData[K]) => void): () => void {
    return this.onMessage((m) => {
      if (m.type === 'event' && m.event === name && m.data) listener(m.data as HubEventData[K]);
    });
  }

  onState(listener: (s: ConnectionState) => void): () => void {
    this.stateListeners.add(listener);
    listener(this.state);
    return () => this.stateListeners.delete(listener);
  }

  /** Reference counted: two components watching one site share one subscription. */
  subscribe(target: { siteId?: string; nodeId?: string }): () => void {
    if (target.siteId) return this.subscribeMany({ siteIds: [target.siteId] });
    return target.nodeId ? this.subscribeMany({ nodeIds: [target.nodeId] }) : () => {};
  }

  /**
   * Many sites or nodes in one message each way (the fleet table watches every visible site), with
   * the same reference counting as subscribe().
   */
  subscribeMany(target: { siteIds?: readonly string[]; nodeIds?: readonly string[] }): () => void {
    const siteIds = [...new Set(target.siteIds ?? [])];
    const nodeIds = [...new Set(target.nodeIds ?? [])];
    const acquire = (map: Map<string, number>, ids: string[]) =>
      ids.filter((id) => {
        const count = map.get(id) ?? 0;
        map.set(id, count + 1);
        return count === 0;
      });
    const release = (map: Map<string, number>, ids: string[]) =>
      ids.filter((id) => {
        const left = (map.get(id) ?? 1) - 1;
        if (left > 0) map.set(id, left);
        else map.delete(id);
        return left <= 0;
      });
    const newSites = acquire(this.sites, siteIds);
    const newNodes = acquire(this.nodes, nodeIds);
    if (newSites.length || newNodes.length)
      this.sendJson({ type: 'subscribe', siteIds: newSites, nodeIds: newNodes });
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const goneSites = release(this.sites, siteIds);
      const goneNodes = release(this.nodes, nodeIds);
      if (goneSites.length || goneNodes.length)
        this.sendJson({ type: 'unsubscribe', siteIds: goneSites, nodeIds: goneNodes });
    };
  }

  private setState(state: ConnectionState): void {
    this.state = state;
    for (const l of this.stateListeners) l(state);
  }

  private sendJson(message: unknown): void {
    if (this.socket?.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(message));
  }

  private connect(): void {
    const token = getTokens()?.accessToken;
    if (this.stopped || !token) return;
    this.setState('connecting');
    let socket: WebSocket;
    try {
      socket = new WebSocket((this.opts.url ?? defaultUrl)());
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.socket = socket;
    socket.onopen = () => {
      // Authenticate first; the hub handles messages in order, so the subscriptions replayed right
      // after are judged with this identity. 'open' waits for the hub's {type:'ready'}.
      socket.send(JSON.stringify({ type: 'auth', token: getTokens()?.accessToken ?? token }));
      if (this.sites.size || this.nodes.size) {
        this.sendJson({
          type: 'subscribe',
          siteIds: [...this.sites.keys()],
          nodeIds: [...this.nodes.keys()],
        });
      }
    };
    socket.onmessage = (event) => {
      let message: RealtimeMessage;
      try {
        message = JSON.parse(String(event.data)) as RealtimeMessage;
      } catch {
        return;
      }
      if (message.type === 'ready' && this.socket === socket) {
        this.attempts = 0;
        this.setState('open');
      }
      for (const l of this.listeners) l(message);
    };
    socket.onclose = (event) => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.setState('closed');
      // 4401: the hub refused the token (expired). One authenticated call refreshes it, and a new
      // token restarts the socket (onTokens below); the backoff retry covers the rest.
      if (event.code === 4401) void request('/auth/me').catch(() => undefined);
      this.scheduleReconnect();
    };
    socket.onerror = () => socket.close();
  }

  private scheduleReconnect(): void {
    if (this.stopped) return;
    const min = this.opts.minDelayMs ?? 500;
    const max = this.opts.maxDelayMs ?? 30_000;
    const delay = Math.min(max, min * 2 ** this.attempts) * (0.5 + Math.random() * 0.5);
    this.attempts += 1;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.connect();
    }, delay);
  }
}

export const realtime = new RealtimeClient();

// A new or refreshed access token means a new socket; logging out closes it.
onTokens((tokens) => {
  if (tokens) realtime.restart();
  else realtime.stop();
});
