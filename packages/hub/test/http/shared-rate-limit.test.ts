// Rate limits hold across hubs (issue 16.3): two hubs with REDIS_URL share their counters in the
// real Redis on this machine, so the enrollment limit (20 a minute per address) is 20 for the pair,
// not 20 each; without REDIS_URL each hub counts alone. A Redis that cannot be reached makes the
// limits fail open (requests pass, at once) rather than take the API down.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { after, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { startTestHub, type TestHub } from '../helpers/hub.ts';

const REDIS_URL = process.env.WATTFLEET_TEST_REDIS ?? 'redis://127.0.0.1:6379';
const LIMIT = 20; // nodes.routes.ts: POST /nodes/enroll

const enroll = (hub: TestHub) =>
  hub.app.inject({
    method: 'POST',
    url: '/api/v1/nodes/enroll',
    payload: { code: 'WRONG-CODE-0000', name: 'n', publicKey: 'x' },
  });

async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

describe('rate limits across hubs', () => {
  const hubs: TestHub[] = [];
  // A namespace of its own: parallel runs sharing the machine's Redis must not count each other.
  const nameSpace = `wattfleet-test-${randomBytes(6).toString('hex')}:`;
  after(async () => {
    for (const h of hubs) await h.close();
    const redis = new Redis(REDIS_URL);
    const keys = await redis.keys(`${nameSpace}*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
  });

  test('two hubs sharing Redis enforce one limit between them', async () => {
    const a = await startTestHub('pglite', { rateLimit: { url: REDIS_URL, nameSpace } });
    const b = await startTestHub('pglite', { rateLimit: { url: REDIS_URL, nameSpace } });
    hubs.push(a, b);
    const statuses: number[] = [];
    for (let i = 0; i < LIMIT; i++) statuses.push((await enroll(i % 2 ? b : a)).statusCode);
    assert.ok(
      statuses.every((s) => s !== 429),
      `the first ${LIMIT} requests pass the limit: ${statuses}`,
    );
    const overA = await enroll(a);
    const overB = await enroll(b);
    assert.equal(overA.statusCode, 429, overA.body);
    assert.equal(overB.statusCode, 429, overB.body);
    assert.equal(overB.json().code, 'WF_RATE_LIMITED');
    const redis = new Redis(REDIS_URL);
    try {
      const keys = await redis.keys(`${nameSpace}*`);
      assert.ok(keys.length >= 1, 'the counter lives in Redis');
    } finally {
      redis.disconnect();
    }
  });

  test('without REDIS_URL each hub counts on its own', async () => {
    const a = await startTestHub('pglite');
    const b = await startTestHub('pglite');
    hubs.push(a, b);
    for (let i = 0; i < LIMIT; i++) assert.notEqual((await enroll(a)).statusCode, 429);
    assert.equal((await enroll(a)).statusCode, 429);
    assert.notEqual((await enroll(b)).statusCode, 429, 'the other hub has its own counter');
  });

  test('an unreachable Redis fails open: requests are answered, not limited or hung', async () => {
    const logs: string[] = [];
    const url = `redis://127.0.0.1:${await closedPort()}`;
    const hub = await startTestHub('pglite', { rateLimit: { url, nameSpace } }, { logs });
    hubs.push(hub);
    for (let i = 0; i < LIMIT + 5; i++) {
      const res = await enroll(hub);
      assert.notEqual(res.statusCode, 429);
      assert.notEqual(res.statusCode, 500, res.body);
    }
    assert.ok(
      logs.some((l) => l.includes('rate-limit store unreachable')),
      'the hub says the limits are off',
    );
  });
});
