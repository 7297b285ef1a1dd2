// The one place that talks HTTP to the hub: bearer header, JSON, coded errors, and a single
// refresh-and-retry when an access token has expired (so pages never handle token expiry).

export interface ApiProblem {
  path: string;
  message: string;
}

/** A failed hub call, carrying the hub's error code (WF_…) so pages can react to it. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly problems: ApiProblem[] = [],
    /** Which safety limit refused a switch (WF_CONFLICT from a channel switch), if one did. */
    readonly limit?: string,
  ) {
    super(message);
  }
}

/**
 * The access token, kept in memory only: nothing a script (or an extension) reads from storage
 * can replay a session. The refresh token never reaches this code at all: the hub keeps it in an
 * httpOnly, SameSite=Strict cookie scoped to /api/v1/auth, and a reload gets a fresh access token
 * from it (restoreSession). The admin token, having no cookie, lasts until the tab is reloaded.
 */
export interface Tokens {
  accessToken: string;
  /** A user session (refreshable through the cookie), or the hub's static admin token. */
  kind: 'session' | 'admin-token';
}

type TokenListener = (tokens: Tokens | null) => void;

let tokens: Tokens | null = null;
const listeners = new Set<TokenListener>();
let refreshing: Promise<boolean> | null = null;

// Earlier versions kept tokens in localStorage: wipe what they may have left behind.
try {
  localStorage.removeItem('wattfleet.tokens');
} catch {
  // Storage unavailable (private mode): nothing to wipe.
}

export function getTokens(): Tokens | null {
  return tokens;
}

export function setTokens(next: Tokens | null): void {
  tokens = next;
  for (const l of listeners) l(next);
}

export function onTokens(listener: TokenListener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export const API_PREFIX = '/api/v1';

export interface RequestOptions {
  method?: string;
  body?: unknown;
  query?: Record<string, string | number | undefined>;
  signal?: AbortSignal;
  /** Login and refresh must not try to refresh themselves. */
  noAuth?: boolean;
}

function buildUrl(path: string, query?: RequestOptions['query']): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) params.set(k, String(v));
  const qs = params.toString();
  return `${API_PREFIX}${path}${qs ? `?${qs}` : ''}`;
}

async function send(path: string, opts: RequestOptions): Promise<Response> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  if (!opts.noAuth && tokens) headers.authorization = `Bearer ${tokens.accessToken}`;
  return fetch(buildUrl(path, opts.query), {
    method: opts.method ?? (opts.body !== undefined ? 'POST' : 'GET'),
    headers,
    body: opts.body !== undefined ? JSON.stringify(opts.body) : null,
    signal: opts.signal ?? null,
    // The refresh cookie goes to the same origin only (and only to /api/v1/auth, by its path).
    credentials: 'same-origin',
  });
}

/**
 * A new access token from the refresh cookie (which the hub rotates on every use). Concurrent
 * callers share one call: the cookie is single-use, a second parallel refresh would be reuse.
 */
export function refreshOnce(): Promise<boolean> {
  if (tokens?.kind === 'admin-token') return Promise.resolve(false);
  refreshing ??= (async () => {
    try {
      const res = await send('/auth/refresh', { body: {}, noAuth: true });
      if (!res.ok) return false;
      const body = (await res.json()) as { accessToken: string };
      setTokens({ accessToken: body.accessToken, kind: 'session' });
      return true;
    } catch {
      return false;
    } finally {
      refreshing = null;
    }
  })();
  return refreshing;
}

async function toError(res: Response): Promise<ApiError> {
  let code = `HTTP_${res.status}`;
  let message = res.statusText || 'Request failed';
  let problems: ApiProblem[] = [];
  let limit: string | undefined;
  try {
    const body = (await res.json()) as {
      code?: string;
      message?: string;
      problems?: ApiProblem[];
      limit?: unknown;
    };
    code = body.code ?? code;
    message = body.message ?? message;
    problems = body.problems ?? [];
    if (typeof body.limit === 'string') limit = body.limit;
  } catch {
    // Not JSON (a proxy error page): keep the HTTP status as the message.
  }
  return new ApiError(res.status, code, message, problems, limit);
}

async function isDisabled(res: Response): Promise<boolean> {
  return (await toError(res.clone())).code === 'WF_USER_DISABLED';
}

export async function request<T>(path: string, opts: RequestOptions = {}): Promise<T> {
  let res = await send(path, opts);
  if (res.status === 401 && !opts.noAuth) {
    // A wrong password typed into a form (password change) is the form's error, not an ended session.
    const err = await toError(res.clone());
    if (err.code === 'WF_BAD_CREDENTIALS') throw err;
    if (await refreshOnce()) res = await send(path, opts);
  }
  if (!opts.noAuth && (res.status === 401 || (res.status === 403 && (await isDisabled(res))))) {
    // The session is over (ended, or the user was disabled): forget it so the shell shows the login page.
    setTokens(null);
  }
  if (!res.ok) throw await toError(res);
  if (res.status === 204) return undefined as T;
  return (await res.json()) as T;
}
