// What a failed call means to a person: one sentence per hub error code saying what happened and
// what to do. Typed against the protocol's catalogue, so a new code fails the type check until it
// has its sentence here; the code itself stays out of the text (it is kept as data-code).
import type { ErrorCode } from '@wattfleet/protocol';
import { ApiError } from '../api/http.ts';

const SENTENCES: Record<ErrorCode, string> = {
  WF_VALIDATION: 'Some of the values are not valid. Correct the fields listed below and try again.',
  WF_BAD_JSON: 'The request was garbled on its way to the hub. Reload the page and try again.',
  WF_BAD_GZIP: 'The request was garbled on its way to the hub. Reload the page and try again.',
  WF_UNKNOWN_METRIC: 'The hub does not know one of these measurements. Use a name from the metric catalogue.',
  WF_BAD_TIMESTAMP: 'A date or time is invalid or out of range. Check the dates and try again.',
  WF_BODY_TOO_LARGE: 'This is too large to send in one go. Send less at a time.',
  WF_UNSUPPORTED_MEDIA: 'The hub cannot read this kind of file. Use the format the form asks for.',
  WF_UNAUTHENTICATED: 'You are signed out. Sign in again to continue.',
  WF_BAD_CREDENTIALS: 'The email or password is wrong. Check both and try again.',
  WF_TOKEN_EXPIRED: 'Your session has expired. Sign in again to continue.',
  WF_TOKEN_INVALID: 'Your session is no longer valid. Sign in again to continue.',
  WF_REFRESH_REUSED:
    'For your safety this session was ended because it was used from two places. Sign in again.',
  WF_SIGNATURE_MISSING: 'The node did not sign its request. Re-enroll the node.',
  WF_SIGNATURE_INVALID: "The node's signature does not match. Re-enroll the node.",
  WF_SIGNATURE_EXPIRED: "The node's clock is off. Check its time synchronisation.",
  WF_SIGNATURE_REPLAYED: 'The node sent the same request twice. It will retry on its own.',
  WF_NODE_INACTIVE: 'This node is deactivated. Activate it on its site page first.',
  WF_FORBIDDEN: 'Your role does not allow this. Ask an administrator if you need it.',
  WF_PASSWORD_CHANGE_REQUIRED:
    'Choose your own password first: your current one was set by an administrator.',
  WF_TARGET_REFUSED:
    'This address is not allowed as a notification target (it points inside the network). Use a public address.',
  WF_TOKEN_IN_URL:
    'A sign-in token was put in a link, which is not allowed. Sign in again instead of using that link.',
  WF_USER_DISABLED: 'This account is disabled. Ask an administrator to enable it.',
  WF_NOT_FOUND: 'This does not exist or you do not have access to it. Check the link, or go back.',
  WF_CONFLICT: 'Someone changed this meanwhile. Reload the page and try again.',
  WF_ENROLLMENT_INVALID: 'This enrollment code is unknown, already used or expired. Create a new code.',
  WF_COMMAND_NOT_ALLOWED: 'Your role may not send this command. Ask an administrator.',
  WF_COMMAND_FINAL: 'This command has already finished; nothing more can change it.',
  WF_RATE_LIMITED: 'Too many attempts in a short time. Wait a minute and try again.',
  WF_UNAVAILABLE: 'The hub is busy or restarting. Try again in a moment.',
  WF_INTERNAL: 'Something went wrong on the hub. Try again; if it persists, tell your administrator.',
};

export function isErrorCode(code: string): code is ErrorCode {
  return Object.hasOwn(SENTENCES, code);
}

/**
 * The hub's problems with one field of a refused request body (path `/body/<field>`), joined:
 * what a form shows beside that field. Empty when the error is not about it.
 */
export function fieldProblem(error: Error | undefined, field: string): string {
  if (!(error instanceof ApiError)) return '';
  return error.problems
    .filter((p) => p.path === `/body/${field}` || p.path.startsWith(`/body/${field}/`))
    .map((p) => p.message)
    .join('; ');
}

/** The sentence for an error: the catalogue's for a hub code, else a network or generic one. */
export function humanError(error: Error): { code: string | undefined; text: string } {
  if (error instanceof ApiError) {
    // A switch a channel's safety limit held back is no edit conflict: the hub's detail says until when.
    if (error.code === 'WF_CONFLICT' && error.limit === 'automation_paused')
      return { code: error.code, text: 'Automation is paused on this site, so it switched nothing.' };
    if (error.code === 'WF_CONFLICT' && error.limit)
      return { code: error.code, text: "This channel's safety limits hold the switch back for now." };
    if (isErrorCode(error.code)) return { code: error.code, text: SENTENCES[error.code] };
    return { code: error.code, text: 'The hub refused this. Try again, or tell your administrator.' };
  }
  if (error instanceof TypeError || /network|fetch/i.test(error.message))
    return { code: undefined, text: 'The hub cannot be reached. Check your connection; this page retries.' };
  return { code: undefined, text: error.message || 'Something went wrong. Try again.' };
}
