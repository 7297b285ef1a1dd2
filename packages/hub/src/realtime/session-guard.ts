// A realtime socket must not outlive the session that opened it. Three ways it learns that the
// session is over:
//  - the bus: this hub revoked sessions (logout, refresh reuse, disable, admin reset, password
//    change) and announced it ('session.ended') → the matching sockets close at once;
//  - a timer at the access token's expiry;
//  - a periodic re-check of every open socket's session in ONE query per 500 sessions, which also
//    catches what another hub (or a direct database change) did, and the identity's injectable
//    clock. The same pass narrows subscriptions to what the user may still see (a revoked or
//    expired grant, a changed role or org).
// A closed socket gets one last {type:'error', code, message} and close code 4401 with the code as
// reason; the portal then refreshes its token (expiry) or shows the login page (ended session).
import type { Actor } from '../auth/actor.ts';
import type { HubContext } from '../context.ts';
import type { SessionEnded } from '../identity/sessions.service.ts';
import type { Registry, Subscriber } from './registry.ts';

/** How often open sockets are re-checked against their sessions and grants. */
export const SESSION_CHECK_MS = 15_000;

export interface GuardActions {
  end(sub: Subscriber, code: string, message: string): void;
  /** Drops subscriptions the actor may no longer see, and tells the client. */
  narrow(sub: Subscriber, siteIds: string[], nodeIds: string[]): void;
}

const MAX_TIMER_MS = 2 ** 31 - 1;

export class SessionGuard {
  private readonly expiryTimers = new Map<Subscriber, ReturnType<typeof setTimeout>>();
  private running: Promise<void> | undefined;

  constructor(
    private readonly hub: HubContext,
    private readonly registry: Registry,
    private readonly actions: GuardActions,
  ) {}

  private now(): number {
    return this.hub.identity?.options.now() ?? Date.now();
  }

  /** Starts watching an authenticated socket's token expiry. */
  watch(sub: Subscriber): void {
    this.forget(sub);
    if (sub.expiresAtMs === undefined) return;
    const arm = () => {
      const left = (sub.expiresAtMs ?? 0) - this.now();
      if (left <= 0) return this.expire(sub);
      const timer = setTimeout(arm, Math.min(left, MAX_TIMER_MS));
      timer.unref();
      this.expiryTimers.set(sub, timer);
    };
    arm();
  }

  forget(sub: Subscriber): void {
    const timer = this.expiryTimers.get(sub);
    if (timer) clearTimeout(timer);
    this.expiryTimers.delete(sub);
  }

  private expire(sub: Subscriber): void {
    this.actions.end(sub, 'WF_TOKEN_EXPIRED', 'The access token has expired; reconnect with a fresh one');
  }

  /** Bus listener: sessions ended on this hub. */
  readonly onSessionEnded = (ev: SessionEnded): void => {
    const ended = new Set(ev.sessionIds);
    for (const sub of [...this.registry.all]) {
      const actor = sub.actor;
      if (actor?.kind !== 'user' || actor.userId !== ev.userId) continue;
      const hit =
        (sub.sessionId !== undefined && ended.has(sub.sessionId)) ||
        (ev.userWide && (ev.exceptSessionId === undefined || sub.sessionId !== ev.exceptSessionId));
      if (!hit) continue;
      if (ev.reason === 'disabled') this.actions.end(sub, 'WF_USER_DISABLED', 'The user was disabled');
      else this.actions.end(sub, 'WF_TOKEN_INVALID', `The session has ended (${ev.reason})`);
    }
  };

  /** One pass over every open socket; concurrent calls share the pass in progress. */
  recheck(): Promise<void> {
    this.running ??= this.pass().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async pass(): Promise<void> {
    const now = this.now();
    for (const sub of [...this.registry.all]) {
      if (sub.expiresAtMs !== undefined && now >= sub.expiresAtMs) this.expire(sub);
    }
    const identity = this.hub.identity;
    const withSession = [...this.registry.all].filter((s) => s.sessionId !== undefined && !s.ended);
    if (identity && withSession.length) {
      const states = await identity.sessionStates(withSession.map((s) => s.sessionId!));
      for (const sub of withSession) {
        const state = states.get(sub.sessionId!);
        if (sub.ended) continue;
        if (!state || state.revoked) this.actions.end(sub, 'WF_TOKEN_INVALID', 'The session has ended');
        else if (state.disabled) this.actions.end(sub, 'WF_USER_DISABLED', 'The user was disabled');
        else if (sub.actor?.kind === 'user') {
          // Role and org come from the database, as on every HTTP request.
          sub.actor = { ...sub.actor, role: state.role, orgId: state.orgId };
        }
      }
    }
    await this.narrowScopes();
  }

  /** Grants expire and get revoked while a socket is open: keep only what is still visible. */
  private async narrowScopes(): Promise<void> {
    const scopes = new Map<string, Promise<'all' | string[]>>();
    const scopeOf = (actor: Actor) => {
      const key = actor.kind === 'user' ? `u|${actor.role}|${actor.orgId}` : JSON.stringify(actor);
      let scope = scopes.get(key);
      if (!scope) {
        scope = this.hub.siteScope(this.hub.db, actor, 'read');
        scopes.set(key, scope);
      }
      return scope;
    };
    for (const sub of [...this.registry.all]) {
      if (sub.ended || !sub.actor || (sub.sites.size === 0 && sub.nodes.size === 0)) continue;
      const scope = await scopeOf(sub.actor);
      if (scope === 'all' || sub.ended) continue;
      const visible = new Set(scope);
      const lostSites = [...sub.sites].filter((id) => !visible.has(id));
      const lostNodes = [...sub.nodes].filter(([, site]) => !visible.has(site)).map(([id]) => id);
      if (lostSites.length || lostNodes.length) this.actions.narrow(sub, lostSites, lostNodes);
    }
  }

  stop(): void {
    for (const timer of this.expiryTimers.values()) clearTimeout(timer);
    this.expiryTimers.clear();
  }
}
