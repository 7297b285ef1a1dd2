// Turns every error into a coded answer from the protocol catalogue. Unexpected errors leave as
// a generic 500 with a correlation id; their details go to the log only.
import { type ErrorBody, type Problem, WattfleetError } from '@wattfleet/protocol';
import type { FastifyError, FastifyInstance } from 'fastify';
import { isConnectionLost } from '../storage/database.ts';
import { dedupeProblems } from './problems.ts';

interface ValidationItem {
  instancePath?: string;
  message?: string;
}

export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError & { validation?: ValidationItem[] }, request, reply) => {
    if (error instanceof WattfleetError) {
      if (error.code === 'WF_RATE_LIMITED' && error.extra?.retryAfterS !== undefined) {
        reply.header('retry-after', String(error.extra.retryAfterS));
      }
      return reply.status(error.statusCode).send(error.toBody());
    }
    if (error.validation) {
      const where = (error as { validationContext?: string }).validationContext ?? 'body';
      const problems: Problem[] = error.validation.map((v) => ({
        path: `/${where}${v.instancePath ?? ''}`,
        message: v.message ?? 'invalid',
      }));
      return reply.status(400).send({
        code: 'WF_VALIDATION',
        message: 'The request is invalid',
        problems: dedupeProblems(problems),
      });
    }
    const known = mapFastifyError(error);
    if (known) {
      if (known.code === 'WF_RATE_LIMITED') {
        const retry = reply.getHeader('retry-after');
        if (retry === undefined) reply.header('retry-after', '60');
      }
      return reply
        .status(known.status)
        .send({ code: known.code, message: known.message } satisfies ErrorBody);
    }
    if (isConnectionLost(error)) {
      // The database connection dropped under this request: nothing was committed (or, for a
      // batch, its claim and rows were committed together). The client retries; the pool reconnects.
      request.log.warn({ err: error.message, correlationId: request.id }, 'database connection lost');
      reply.header('retry-after', '1');
      return reply.status(503).send({
        code: 'WF_UNAVAILABLE',
        message: 'The database connection was lost; retry',
      } satisfies ErrorBody);
    }
    request.log.error({ err: error, correlationId: request.id }, 'unexpected error');
    return reply.status(500).send({
      code: 'WF_INTERNAL',
      message: 'Internal error',
      correlationId: String(request.id),
    } satisfies ErrorBody);
  });

  app.setNotFoundHandler((request, reply) => {
    reply.status(404).send({ code: 'WF_NOT_FOUND', message: `No route ${request.method} ${request.url}` });
  });
}

function mapFastifyError(
  error: FastifyError,
): { status: number; code: ErrorBody['code']; message: string } | undefined {
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { status: 413, code: 'WF_BODY_TOO_LARGE', message: error.message };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return { status: 415, code: 'WF_UNSUPPORTED_MEDIA', message: error.message };
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return { status: 400, code: 'WF_BAD_JSON', message: error.message };
  }
  if (error.statusCode === 429) return { status: 429, code: 'WF_RATE_LIMITED', message: error.message };
  if (error instanceof SyntaxError && error.statusCode === 400)
    return { status: 400, code: 'WF_BAD_JSON', message: error.message };
  if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
    return { status: error.statusCode, code: 'WF_VALIDATION', message: error.message };
  }
  return undefined;
}
