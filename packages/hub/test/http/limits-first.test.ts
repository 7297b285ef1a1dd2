// Rate limits run before body validation: a client sending only malformed requests is limited
// like any other (issue #19 item 14). Before the fix the limiters ran in preHandler, after
// validation, so these requests answered 400 forever.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { startTestHub, TestNode } from '../helpers/hub.ts';

describe('rate limits come before validation', () => {
  test('malformed logins, enrollments and signed ingest bodies are limited with 429', async () => {
    const hub = await startTestHub('pglite', { ingest: { ...defaults(), nodeRatePerMinute: 3 } });
    try {
      const codes = async (n: number, send: (i: number) => Promise<{ statusCode: number }>) => {
        const out: number[] = [];
        for (let i = 0; i < n; i++) out.push((await send(i)).statusCode);
        return out;
      };
      // Login per IP (30/min by default): a body the schema refuses, every time. (The per-account
      // throttle counts wrong passwords, which a malformed body is not.)
      const login = await codes(31, (i) =>
        hub.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email: i } }),
      );
      assert.deepEqual([...new Set(login.slice(0, 30))], [400]);
      assert.equal(login[30], 429);
      // Enrollment (20/min per IP) with garbage bodies.
      const enroll = await codes(21, () =>
        hub.app.inject({
          method: 'POST',
          url: '/api/v1/nodes/enroll',
          remoteAddress: '10.9.9.9',
          payload: { code: [] },
        }),
      );
      assert.deepEqual([...new Set(enroll.slice(0, 20))], [400]);
      assert.equal(enroll[20], 429);
      // A node with a valid signature over a malformed daily batch: limited per node (3/min here).
      const site = await hub.admin('POST', '/api/v1/orgs', { name: 'Org', kind: 'household' });
      const created = await hub.admin('POST', '/api/v1/sites', {
        orgId: site.json().id,
        name: 'Site',
        timezone: 'UTC',
      });
      const node = await TestNode.enroll(hub, created.json().id);
      const ingest = await codes(4, () => node.send('/api/v1/ingest/daily', { batchId: 'x', reports: 'no' }));
      assert.deepEqual(ingest.slice(0, 3), [400, 400, 400]);
      assert.equal(ingest[3], 429);
    } finally {
      await hub.close();
    }
  });
});

function defaults() {
  return { maxBodyBytes: 4 * 1024 * 1024, nodeRatePerMinute: 600, writers: 2, groupSamples: 20_000 };
}
