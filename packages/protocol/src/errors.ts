// Catalogue of coded errors. Every error the hub answers with carries one of these codes,
// so clients can branch on `code` rather than on message text.

export interface ErrorDefinition {
  readonly status: number;
  readonly message: string;
}

export const ERRORS = {
  WF_VALIDATION: { status: 400, message: 'The request is invalid' },
  WF_BAD_JSON: { status: 400, message: 'The body is not valid JSON' },
  WF_BAD_GZIP: { status: 400, message: 'The body is not valid gzip' },
  WF_UNKNOWN_METRIC: { status: 400, message: 'Unknown metric (custom metrics must start with x_)' },
  WF_BAD_TIMESTAMP: { status: 400, message: 'Timestamp is invalid or out of range' },
  WF_BODY_TOO_LARGE: { status: 413, message: 'The body is too large' },
  WF_UNSUPPORTED_MEDIA: { status: 415, message: 'Unsupported content type or encoding' },
  WF_UNAUTHENTICATED: { status: 401, message: 'Authentication required' },
  WF_BAD_CREDENTIALS: { status: 401, message: 'Wrong email or password' },
  WF_TOKEN_EXPIRED: { status: 401, message: 'The access token has expired' },
  WF_TOKEN_INVALID: { status: 401, message: 'The token is invalid' },
  WF_REFRESH_REUSED: { status: 401, message: 'Refresh token reuse detected; the session was revoked' },
  WF_SIGNATURE_MISSING: { status: 401, message: 'Node request signature headers are missing' },
  WF_SIGNATURE_INVALID: { status: 401, message: 'Node request signature does not verify' },
  WF_SIGNATURE_EXPIRED: { status: 401, message: 'Node request timestamp is outside the allowed window' },
  WF_SIGNATURE_REPLAYED: { status: 401, message: 'Node request was already seen (replay)' },
  WF_NODE_INACTIVE: { status: 403, message: 'The node is deactivated' },
  WF_FORBIDDEN: { status: 403, message: 'You are not allowed to do this' },
  WF_USER_DISABLED: { status: 403, message: 'The user is disabled' },
  WF_PASSWORD_CHANGE_REQUIRED: {
    status: 403,
    message: 'The password was set by an administrator; change it (POST /api/v1/auth/password) first',
  },
  WF_TOKEN_IN_URL: {
    status: 400,
    message: 'Tokens are never accepted in a URL; send {type:"auth", token} as the first message',
  },
  WF_TARGET_REFUSED: {
    status: 400,
    message: 'The target resolves to a loopback, private, link-local or metadata address',
  },
  WF_NOT_FOUND: { status: 404, message: 'Not found' },
  WF_CONFLICT: { status: 409, message: 'Conflict with the current state' },
  WF_ENROLLMENT_INVALID: { status: 400, message: 'The enrollment code is unknown, used or expired' },
  WF_COMMAND_NOT_ALLOWED: { status: 403, message: 'This command type is not allowed for your role' },
  WF_COMMAND_FINAL: { status: 409, message: 'The command has already finished' },
  WF_RATE_LIMITED: { status: 429, message: 'Too many requests' },
  WF_UNAVAILABLE: { status: 503, message: 'The service is temporarily unavailable' },
  WF_INTERNAL: { status: 500, message: 'Internal error' },
} as const satisfies Record<string, ErrorDefinition>;

export type ErrorCode = keyof typeof ERRORS;

/** One problem found in an input; `path` is a JSON pointer into the offending document. */
export interface Problem {
  path: string;
  message: string;
  code?: ErrorCode;
}

/** The body of every error answer. */
export interface ErrorBody {
  code: ErrorCode;
  message: string;
  problems?: Problem[];
  correlationId?: string;
  [extra: string]: unknown;
}

/** An error that knows its catalogue code; the hub's error handler turns it into an answer. */
export class WattfleetError extends Error {
  readonly code: ErrorCode;
  readonly statusCode: number;
  readonly problems: Problem[] | undefined;
  readonly extra: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message?: string, problems?: Problem[], extra?: Record<string, unknown>) {
    super(message ?? ERRORS[code].message);
    this.name = 'WattfleetError';
    this.code = code;
    this.statusCode = ERRORS[code].status;
    this.problems = problems;
    this.extra = extra;
  }

  toBody(): ErrorBody {
    return {
      code: this.code,
      message: this.message,
      ...(this.problems ? { problems: this.problems } : {}),
      ...(this.extra ?? {}),
    };
  }
}
