// Issue 19 item 7: five wrong passwords used to lock the account's rightful owner out too. Now
// failures are counted per account, per address and per (account, address) pair in the database:
// the account's delay grows with every failure but holds back only clients that failed against
// it, an address that fails too often is refused whatever the account, X-Forwarded-For counts
// only behind a configured proxy, and a second hub on the same database sees the same state.
// The identity clock is pinned, so the delays are exact and nothing waits.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildHub } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { ENGINES } from '../helpers/engines.ts';
import { ADMIN_TOKEN, startTestHub, type TestHub } from '../helpers/hub.ts';
import { createOrg, createUser, PASSWORD } from './helpers.ts';

const T0 = Date.parse('2026-03-01T12:00:00Z');

for (const engine of ENGINES) {
  describe(`login throttling on ${engine}`, () => {
    let hub: TestHub;
    /** A second hub on the same database, behind a proxy it trusts (TRUST_PROXY). */
    let proxied: FastifyInstance;
    let clock = T0;
    let org: string;

    before(async () => {
      hub = await startTestHub(engine);
      proxied = await buildHub({
        config: loadConfig({}, { adminToken: ADMIN_TOKEN, trustProxy: true, logLevel: 'warn' }),
        database: hub.tdb.database,
        logger: false,
      });
      await proxied.ready();
      for (const app of [hub.app, proxied]) app.hub.identity!.options.now = () => clock;
      org = await createOrg(hub, 'household');
    });
    after(async () => {
      await proxied?.close();
      await hub?.close();
    });

    const attempt = (
      email: string,
      password: string,
      ip: string,
      opts: { app?: FastifyInstance; forwardedFor?: string } = {},
    ) =>
      (opts.app ?? hub.app).inject({
        method: 'POST',
        url: '/api/v1/auth/login',
        payload: { email, password },
        remoteAddress: ip,
        ...(opts.forwardedFor ? { headers: { 'x-forwarded-for': opts.forwardedFor } } : {}),
      });

    test('guessing slows down progressively, but the owner from a client that has not failed gets in', async () => {
      clock = T0;
      await createUser(hub, org, 'owner', 'victim@example.test');
      const guess = (ip: string) => attempt('victim@example.test', 'not-the-password', ip);
      for (let i = 0; i < 5; i++) assert.equal((await guess('203.0.113.7')).statusCode, 401);
      const held = await guess('203.0.113.7');
      assert.equal(held.statusCode, 429);
      assert.equal(held.json().code, 'WF_RATE_LIMITED');
      assert.equal(held.headers['retry-after'], '2');
      // Even the right password waits when it comes from the client that has been guessing.
      assert.equal((await attempt('victim@example.test', PASSWORD, '203.0.113.7')).statusCode, 429);

      // The owner, elsewhere, is not locked out.
      const owner = await attempt('victim@example.test', PASSWORD, '198.51.100.9');
      assert.equal(owner.statusCode, 200, owner.body);

      // A new client gets its password checked, but once it fails it waits as well (now longer).
      assert.equal((await guess('192.0.2.33')).statusCode, 401);
      const second = await guess('192.0.2.33');
      assert.equal(second.statusCode, 429);
      assert.equal(second.headers['retry-after'], '4');

      // After the delay the guesser may try again; its failure doubles the next delay.
      clock = T0 + 5_000;
      assert.equal((await guess('203.0.113.7')).statusCode, 401);
      const longer = await guess('203.0.113.7');
      assert.equal(longer.statusCode, 429);
      assert.equal(longer.headers['retry-after'], '8');

      // Another hub on the same database holds the same state (nothing lives in one process).
      const elsewhere = await attempt('victim@example.test', 'not-the-password', '203.0.113.7', {
        app: proxied,
        forwardedFor: '203.0.113.7',
      });
      assert.equal(elsewhere.statusCode, 429);
      // Other accounts from the guessing address are unaffected.
      await createUser(hub, org, 'owner', 'bystander@example.test');
      assert.equal((await attempt('bystander@example.test', PASSWORD, '203.0.113.7')).statusCode, 200);
    });

    test('a user who mistyped and then got it right is forgiven their own failures', async () => {
      clock = T0 + 60_000;
      await createUser(hub, org, 'owner', 'typo@example.test');
      for (let i = 0; i < 5; i++)
        assert.equal((await attempt('typo@example.test', 'typo-typo', '198.51.100.20')).statusCode, 401);
      clock += 3_000; // past the first delay
      assert.equal((await attempt('typo@example.test', PASSWORD, '198.51.100.20')).statusCode, 200);
      // The count started again: one more typo is just a 401, not a delay.
      assert.equal((await attempt('typo@example.test', 'typo-typo', '198.51.100.20')).statusCode, 401);
      assert.equal((await attempt('typo@example.test', PASSWORD, '198.51.100.20')).statusCode, 200);
    });

    test('an address that fails too often is refused for its window, whatever the account', async () => {
      clock = T0 + 120_000;
      await createUser(hub, org, 'owner', 'target@example.test');
      for (let i = 0; i < 20; i++) {
        const r = await attempt(`nobody${i}@example.test`, 'whatever-xx', '203.0.113.80');
        assert.equal(r.statusCode, 401, `attempt ${i}`);
      }
      const refused = await attempt('target@example.test', PASSWORD, '203.0.113.80');
      assert.equal(refused.statusCode, 429);
      assert.equal(refused.headers['retry-after'], String(15 * 60));
      assert.equal((await attempt('target@example.test', PASSWORD, '203.0.113.81')).statusCode, 200);
      clock += 15 * 60_000 + 1_000;
      assert.equal((await attempt('target@example.test', PASSWORD, '203.0.113.80')).statusCode, 200);
    });

    test('X-Forwarded-For counts only behind a trusted proxy', async () => {
      clock = T0 + 3_600_000;
      await createUser(hub, org, 'owner', 'spoof@example.test');
      // No trusted proxy: a forged header per request changes nothing, the address is the socket's.
      for (let i = 0; i < 5; i++) {
        const r = await attempt('spoof@example.test', 'guess-guess', '203.0.113.90', {
          forwardedFor: `10.9.8.${i}`,
        });
        assert.equal(r.statusCode, 401);
      }
      const forged = await attempt('spoof@example.test', 'guess-guess', '203.0.113.90', {
        forwardedFor: '10.9.8.200',
      });
      assert.equal(forged.statusCode, 429);
      // Behind the trusted proxy (one socket address for everyone) the clients are told apart by
      // the header: the guesser waits, the owner behind the same proxy gets in.
      const proxy = '127.0.0.1';
      const viaProxy = (password: string, client: string) =>
        attempt('spoof@example.test', password, proxy, { app: proxied, forwardedFor: client });
      assert.equal((await viaProxy('guess-guess', '203.0.113.90')).statusCode, 429);
      assert.equal((await viaProxy(PASSWORD, '198.51.100.44')).statusCode, 200);
    });
  });
}
