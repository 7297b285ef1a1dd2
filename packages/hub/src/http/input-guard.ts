// One rule for every route: no string of a request (body, query, path parameters; values and keys)
// may hold NUL or a lone surrogate. PostgreSQL cannot store either faithfully, and a value that
// fails only at the audit write would leave a committed change answered with 500. Checked before
// schema validation so no handler ever sees such a string. Signed node routes still hold raw
// bytes here (their scope decodes after this hook) and check device text themselves.
import { type Problem, unsafeTextProblems, WattfleetError } from '@wattfleet/protocol';
import type { FastifyInstance } from 'fastify';

export function registerInputGuard(app: FastifyInstance): void {
  app.addHook('preValidation', async (request) => {
    const problems: Problem[] = [
      ...unsafeTextProblems(request.params, '/params'),
      ...unsafeTextProblems(request.query, '/querystring'),
      ...(Buffer.isBuffer(request.body) ? [] : unsafeTextProblems(request.body, '/body')),
    ];
    if (problems.length > 0)
      throw new WattfleetError('WF_VALIDATION', 'The request holds invalid text', problems);
  });
}
