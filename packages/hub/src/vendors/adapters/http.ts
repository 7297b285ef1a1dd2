// HTTP for adapters: fetch with a timeout, timing, a per-poll trace for the connection log, and
// the account's request budget charged before each call (a call the budget cannot pay is not made).
import { VendorError } from './adapter.ts';

export interface HttpAnswer {
  status: number;
  headers: Headers;
  text: string;
  ms: number;
}

export interface HttpTrace {
  requests: number;
  lastStatus: number | undefined;
  totalMs: number;
  slowest: number;
}

export interface VendorHttp {
  request(url: string, init?: RequestInit & { timeoutMs?: number; uncharged?: boolean }): Promise<HttpAnswer>;
  readonly trace: HttpTrace;
}

export interface HttpOptions {
  timeoutMs: number;
  /** Charged once per request; throws VendorError('budget') to refuse. */
  charge?: () => void;
}

export function vendorHttp(opts: HttpOptions): VendorHttp {
  const trace: HttpTrace = { requests: 0, lastStatus: undefined, totalMs: 0, slowest: 0 };
  return {
    trace,
    async request(url, { uncharged, ...init } = {}) {
      // An uncharged request (an OAuth token call) is not a hit of the vendor's plan.
      if (!uncharged) opts.charge?.();
      const started = performance.now();
      trace.requests++;
      let res: Response;
      try {
        res = await fetch(url, {
          redirect: 'manual',
          ...init,
          signal: AbortSignal.timeout(init.timeoutMs ?? opts.timeoutMs),
        });
      } catch (err) {
        const ms = Math.round(performance.now() - started);
        trace.totalMs += ms;
        const e = err as Error;
        const timeout = e.name === 'TimeoutError' || e.name === 'AbortError';
        throw new VendorError(
          'unavailable',
          timeout ? `no answer within ${init.timeoutMs ?? opts.timeoutMs} ms` : `network error: ${e.message}`,
        );
      }
      const text = await res.text();
      const ms = Math.round(performance.now() - started);
      trace.totalMs += ms;
      trace.slowest = Math.max(trace.slowest, ms);
      trace.lastStatus = res.status;
      return { status: res.status, headers: res.headers, text, ms };
    },
  };
}

export function parseJson(answer: HttpAnswer, what: string): unknown {
  try {
    return JSON.parse(answer.text);
  } catch {
    throw new VendorError('protocol', `${what}: the answer is not JSON`, { httpStatus: answer.status });
  }
}
