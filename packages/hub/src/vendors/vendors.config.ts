// Vendor-cloud settings from the environment. Base URLs are settings so tests and benchmarks can
// point the adapters at the local stand-in servers; production keeps the vendors' own hosts.
import { hostname } from 'node:os';

export interface VendorsConfig {
  /** Run the poller in this hub (WATTFLEET_VENDOR_POLLER=0 keeps only the API). */
  poller: boolean;
  /** Vendor calls in flight at once per hub. */
  concurrency: number;
  /** How long a hub's claim on an account lasts without renewal; a dead hub's accounts move after this. */
  leaseS: number;
  /** This hub's name in leases and the connection log: the hub's WATTFLEET_HUB_ID (config.ts). */
  hubId: string;
  /** Every poll in the minute starts inside this window from its slot (the jitter). */
  jitterMs: number;
  selectLive: { baseUrl: string; timeoutMs: number; slowMs: number };
  enphase: {
    baseUrl: string;
    apiKey: string | undefined;
    clientId: string | undefined;
    clientSecret: string | undefined;
    redirectUri: string | undefined;
    requestsPerMinute: number;
    requestsPerMonth: number;
    /** Regular poll interval; the request budget may space polls further apart. */
    pollIntervalS: number;
    timeoutMs: number;
  };
}

function num(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name} must be a non-negative number, got "${raw}"`);
  return n;
}

/**
 * `hubId` is the hub's own name (config.ts); without one (tools and tests that build only this
 * part) a name unique to this process.
 */
export function vendorsConfig(env: NodeJS.ProcessEnv, hubId?: string): VendorsConfig {
  return {
    poller: env.WATTFLEET_VENDOR_POLLER !== '0',
    concurrency: Math.max(1, num(env, 'VENDOR_POLL_CONCURRENCY', 64)),
    leaseS: Math.max(5, num(env, 'VENDOR_LEASE_S', 60)),
    hubId: hubId ?? `${hostname()}:${process.pid}:${Math.random().toString(36).slice(2, 8)}`,
    jitterMs: num(env, 'VENDOR_POLL_JITTER_MS', 2_000),
    selectLive: {
      baseUrl: env.SELECT_LIVE_URL || 'https://select.live',
      timeoutMs: num(env, 'SELECT_LIVE_TIMEOUT_MS', 15_000),
      slowMs: num(env, 'SELECT_LIVE_SLOW_MS', 5_000),
    },
    enphase: {
      baseUrl: env.ENPHASE_API_URL || 'https://api.enphaseenergy.com',
      apiKey: env.ENPHASE_API_KEY || undefined,
      clientId: env.ENPHASE_CLIENT_ID || undefined,
      clientSecret: env.ENPHASE_CLIENT_SECRET || undefined,
      redirectUri: env.ENPHASE_REDIRECT_URI || undefined,
      requestsPerMinute: num(env, 'ENPHASE_REQUESTS_PER_MINUTE', 10),
      requestsPerMonth: num(env, 'ENPHASE_REQUESTS_PER_MONTH', 1000),
      pollIntervalS: Math.max(60, num(env, 'ENPHASE_POLL_INTERVAL_S', 900)),
      timeoutMs: num(env, 'ENPHASE_TIMEOUT_MS', 20_000),
    },
  };
}
