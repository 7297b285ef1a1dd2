// Every operation in the hub's OpenAPI document says what it answers (issue 18): a success
// response with a schema (a 2xx with content, or a 204, 101 or redirect, which have no body) and at
// least one error response. A route registered without a response schema shows up here as a bare
// "200: Default Response" and fails this test by name, so `npm test` catches it before a client
// meets an undocumented answer. The hub is built in-process on an in-memory PGlite, with a metrics
// token so that /metrics (routed only with one) is checked too.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestHub, type TestHub } from '../helpers/hub.ts';

interface Response {
  content?: Record<string, { schema?: unknown }>;
}
interface Operation {
  responses?: Record<string, Response>;
}

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'];
const BODILESS_SUCCESS = /^(204|101|3\d\d)$/;

function hasSchema(response: Response | undefined): boolean {
  const content = response?.content;
  return !!content && Object.values(content).some((media) => media?.schema !== undefined);
}

describe('OpenAPI responses', () => {
  let hub: TestHub;
  let paths: Record<string, Record<string, Operation>>;

  before(async () => {
    hub = await startTestHub('pglite', { metricsToken: 'openapi-responses-test-token' });
    paths = (hub.app.swagger() as { paths: typeof paths }).paths;
  });
  after(async () => {
    await hub?.close();
  });

  it('documents a success response with a schema and the error responses of every operation', () => {
    const missing: string[] = [];
    let operations = 0;
    for (const [path, item] of Object.entries(paths)) {
      for (const [method, op] of Object.entries(item)) {
        if (!METHODS.includes(method)) continue;
        operations++;
        const responses = op.responses ?? {};
        const statuses = Object.keys(responses);
        const success = statuses.some(
          (s) => BODILESS_SUCCESS.test(s) || (/^2\d\d$/.test(s) && hasSchema(responses[s])),
        );
        const failure = statuses.some((s) => /^[45]\d\d$/.test(s));
        const name = `${method.toUpperCase()} ${path}`;
        if (!success) missing.push(`${name}: no success response with a schema (has ${statuses.join(', ')})`);
        if (!failure) missing.push(`${name}: no 4xx/5xx response`);
      }
    }
    assert.ok(operations > 50, `only ${operations} operations in the document`);
    assert.ok(paths['/metrics']?.get, '/metrics is in the document when a metrics token is set');
    assert.deepEqual(missing, [], `operations without documented answers:\n${missing.join('\n')}`);
  });
});
