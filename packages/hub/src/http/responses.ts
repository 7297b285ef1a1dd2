// Documented error answers. Every route lists its success schema and the catalogue codes that
// are specific to it (`...errors('WF_NOT_FOUND', 'WF_FORBIDDEN')`); the answers every route of a
// kind can give (validation, authentication, rate limit, internal, unavailable) are added by the
// onRoute hook below, so a route cannot forget them and OpenAPI lists each code per status.
import { ERRORS, type ErrorCode } from '@wattfleet/protocol';
import type { FastifyInstance, RouteOptions } from 'fastify';
import Type, { type TSchema } from 'typebox';

const ProblemItem = Type.Object({
  path: Type.String({ description: 'JSON pointer into the request, e.g. /body/samples/0/ts' }),
  message: Type.String(),
  code: Type.Optional(Type.String()),
});

/**
 * The error body for one status. `code` is documented as an enum of the codes that status can
 * carry, but serialised as a plain string: fast-json-stringify does not check enums, so an
 * unexpected code still reaches the client instead of becoming a serialisation failure.
 * Extra fields (retryAfterS, correlationId, hubTime, …) pass through.
 */
function errorBody(codes: ErrorCode[]): TSchema {
  const list = [...new Set(codes)].sort();
  return Type.Object(
    {
      code: Type.String({ enum: list }),
      message: Type.String(),
      problems: Type.Optional(Type.Array(ProblemItem)),
      correlationId: Type.Optional(Type.String()),
    },
    {
      additionalProperties: true,
      description: list.map((c) => `${c}: ${ERRORS[c].message}`).join('; '),
    },
  );
}

/** Response entries for these codes, grouped by their HTTP status. */
export function errors(...codes: ErrorCode[]): Record<number, TSchema> {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of codes) {
    const status = ERRORS[code].status;
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  return Object.fromEntries([...byStatus].map(([status, list]) => [status, errorBody(list)]));
}

/** What a node-signed route can answer before its handler runs (nodes/node-auth.ts). */
export const NODE_AUTH_ERRORS: ErrorCode[] = [
  'WF_SIGNATURE_MISSING',
  'WF_SIGNATURE_INVALID',
  'WF_SIGNATURE_EXPIRED',
  'WF_SIGNATURE_REPLAYED',
  'WF_NODE_INACTIVE',
  'WF_BAD_GZIP',
  'WF_BAD_JSON',
];

/** What a person- or token-authenticated route (preHandler app.requireActor) can answer. */
export const ACTOR_AUTH_ERRORS: ErrorCode[] = [
  'WF_UNAUTHENTICATED',
  'WF_TOKEN_EXPIRED',
  'WF_TOKEN_INVALID',
  'WF_USER_DISABLED',
  'WF_PASSWORD_CHANGE_REQUIRED',
];

function hasRequestSchema(route: RouteOptions): boolean {
  const s = route.schema;
  return Boolean(s && (s.body || s.querystring || s.params || s.headers));
}

function usesActorAuth(app: FastifyInstance, route: RouteOptions): boolean {
  const pre = route.preHandler;
  const list = Array.isArray(pre) ? pre : pre ? [pre] : [];
  return list.includes(app.requireActor as never);
}

/**
 * Adds the answers every route of a kind can give to routes that declare a response schema.
 * Routes without one are left alone, so the check in test/http/openapi-responses.test.ts still
 * sees them. A route's own entry for a status wins (it knows its codes best); the standard codes
 * of that status are merged into its enum.
 */
export function registerStandardResponses(app: FastifyInstance): void {
  app.addHook('onRoute', (route) => {
    const response = route.schema?.response as Record<string | number, TSchema> | undefined;
    if (!route.schema || !response) return;
    const codes: ErrorCode[] = ['WF_INTERNAL', 'WF_UNAVAILABLE'];
    if (hasRequestSchema(route)) codes.push('WF_VALIDATION');
    if (route.schema.body) codes.push('WF_BAD_JSON', 'WF_BODY_TOO_LARGE', 'WF_UNSUPPORTED_MEDIA');
    if (route.config && (route.config as { rateLimit?: unknown }).rateLimit) codes.push('WF_RATE_LIMITED');
    if (usesActorAuth(app, route)) {
      codes.push(...ACTOR_AUTH_ERRORS);
      route.schema.security ??= [{ bearer: [] }];
    }
    for (const [status, schema] of Object.entries(errors(...codes))) {
      const own = response[status] as (TSchema & { properties?: { code?: { enum?: string[] } } }) | undefined;
      if (!own) {
        response[status] = schema;
        continue;
      }
      const ownCodes = own.properties?.code?.enum as ErrorCode[] | undefined;
      const standard = (schema as { properties: { code: { enum: ErrorCode[] } } }).properties.code.enum;
      if (ownCodes) response[status] = errorBody([...ownCodes, ...standard]);
    }
  });
}
