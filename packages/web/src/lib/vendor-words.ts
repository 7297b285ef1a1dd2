// Vendor-account states in words for people: the connection log's outcome codes, HTTP statuses
// and poll times as sentences (the codes stay in a tooltip for whoever needs them).
import { relativeTime } from './format.ts';

const OUTCOME: Record<string, string> = {
  ok: 'Read successfully',
  slow: 'Read successfully, but the vendor answered slowly (polling a little less often)',
  maintenance: "Skipped: the vendor's regular maintenance window",
  budget: "Skipped to stay within the vendor's request allowance",
  rate_limited: 'The vendor asked us to slow down; waiting longer before the next try',
  unavailable: "The vendor's service did not answer properly; trying again with growing pauses",
  protocol: "The vendor answered with something we could not read; we'll keep trying",
  credentials: 'The vendor rejected the login details: enter new credentials to continue',
  reauthorise: 'Access at the vendor was withdrawn or has lapsed: authorise again to continue',
};

/** One connection-log outcome (or an account's last one) as a sentence. */
export function outcomeWords(outcome: string | null | undefined): string {
  if (!outcome) return 'Not polled yet';
  return OUTCOME[outcome] ?? 'The poll did not succeed';
}

const HTTP: Record<number, string> = {
  200: 'answered',
  302: 'redirected',
  400: 'refused the request',
  401: 'refused access',
  403: 'refused access',
  404: 'did not find the system',
  429: 'too many requests',
  500: 'server error',
  502: 'gateway error',
  503: 'temporarily unavailable',
  504: 'gateway timed out',
};

/** An HTTP status the vendor answered with, in words ("server error (500)"). */
export function httpWords(status: number | null): string {
  if (status === null) return 'no answer';
  const words = HTTP[status] ?? (status >= 500 ? 'server error' : status >= 400 ? 'refused' : 'answered');
  return `${words} (${status})`;
}

/** When the next poll is due, as people say it. */
export function nextPollWords(
  account: { paused: boolean; nextPollAt: string | null; status: string },
  now = Date.now(),
): string {
  if (account.paused) return 'paused: no polls until resumed';
  if (account.status !== 'active') return 'stopped until the credentials are renewed';
  if (!account.nextPollAt) return 'not scheduled';
  const s = Math.round((Date.parse(account.nextPollAt) - now) / 1000);
  if (s <= 5) return 'any moment now';
  if (s < 60) return `in ${s} s`;
  if (s < 3600) return `in ${Math.round(s / 60)} min`;
  return `in ${Math.round(s / 3600)} h`;
}

/** When the last poll was, and how it went. */
export function lastPollWords(
  account: { lastPollAt: string | null; lastOutcome: string | null },
  now = Date.now(),
) {
  if (!account.lastPollAt) return 'not polled yet';
  return `${relativeTime(account.lastPollAt, now)}: ${outcomeWords(account.lastOutcome).toLowerCase()}`;
}
