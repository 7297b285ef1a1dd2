// Issue 19 item 6: webhook and Slack channels could target the hub's own network (the hub POSTed
// alert JSON to 127.0.0.1). Loopback, private, CGNAT, link-local/metadata, unique-local and the
// IPv6 forms embedding IPv4 are refused after DNS resolution: when the channel is created, and
// again at every delivery and every redirect (a name may resolve elsewhere by then: DNS
// rebinding), unless the operator's allow-list (NOTIFY_ALLOW_HOSTS) says otherwise. The receiving
// server is a loopback stand-in; no traffic leaves the machine.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it, test } from 'node:test';
import { evaluateSite } from '../../src/alerts/alert-engine.ts';
import { configureNotifications, dispatchDue } from '../../src/notifications/dispatcher.ts';
import { forbiddenReason, parseAllowList } from '../../src/notifications/net-guard.ts';
import { allowHostsFromEnv } from '../../src/notifications/senders.ts';
import { ENGINES } from '../helpers/engines.ts';
import { createSite, startTestHub, type TestHub, TestNode } from '../helpers/hub.ts';

test('address classes: only globally routable unicast passes (pure function, no traffic)', () => {
  const refused = [
    '127.0.0.1',
    '127.8.9.10',
    '0.0.0.0',
    '10.1.2.3',
    '172.16.0.1',
    '172.31.255.254',
    '192.168.1.1',
    '100.64.0.1',
    '100.100.100.200', // Alibaba metadata (CGNAT)
    '169.254.169.254', // AWS/GCP/Azure metadata
    '224.0.0.1',
    '255.255.255.255',
    '::1',
    '::',
    'fe80::1',
    'fc00::1',
    'fd00:ec2::254', // AWS IPv6 metadata
    '::ffff:127.0.0.1',
    '::ffff:7f00:1',
    '::ffff:169.254.169.254',
    '::127.0.0.1',
    '64:ff9b::7f00:1', // NAT64 of 127.0.0.1
    '2002:7f00:1::1', // 6to4 of 127.0.0.1
    'ff02::1',
  ];
  for (const a of refused) assert.ok(forbiddenReason(a), `${a} must be refused`);
  for (const a of ['93.184.215.14', '1.1.1.1', '2606:4700:4700::1111', '::ffff:1.1.1.1'])
    assert.equal(forbiddenReason(a), undefined, `${a} is public`);
  const allow = parseAllowList('10.20.0.0/16, 127.0.0.1, chat.internal');
  assert.equal(forbiddenReason('10.20.3.4', allow), undefined);
  assert.equal(forbiddenReason('::ffff:127.0.0.1', allow), undefined);
  assert.ok(forbiddenReason('10.21.0.1', allow));
  assert.deepEqual(allowHostsFromEnv({ NOTIFY_ALLOW_HOSTS: ' 127.0.0.1 , hooks.lan ' }), [
    '127.0.0.1',
    'hooks.lan',
  ]);
  assert.throws(() => allowHostsFromEnv({ NOTIFY_ALLOW_HOSTS: '10.0.0.0/99' }), /NOTIFY_ALLOW_HOSTS/);
});

for (const engine of ENGINES) {
  describe(`webhook targets on ${engine}`, () => {
    let hub: TestHub;
    let http: Server;
    let port: number;
    let orgId: string;
    let siteId: string;
    let node: TestNode;
    const received: string[] = [];

    before(async () => {
      http = createServer((req, res) => {
        received.push(req.url ?? '');
        if (req.url === '/bounce') {
          res.writeHead(307, { location: `http://127.0.0.1:${port}/hook` }).end();
          return;
        }
        req.resume();
        res.writeHead(200).end();
      });
      await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
      port = (http.address() as AddressInfo).port;
      hub = await startTestHub(engine);
      const site = await createSite(hub, { name: 'Roof' });
      orgId = site.orgId;
      siteId = site.siteId;
      node = await TestNode.enroll(hub, siteId);
    });
    after(async () => {
      await hub?.close();
      await new Promise((r) => http?.close(r));
    });

    const create = (target: string, kind = 'webhook') =>
      hub.admin('POST', `/api/v1/orgs/${orgId}/notification-channels`, { kind, target });

    it('refuses internal targets at creation and stores nothing', async () => {
      configureNotifications(hub.app.hub, { allowHosts: [] });
      for (const target of [
        `http://127.0.0.1:${port}/hook`,
        `http://localhost:${port}/hook`, // a name: refused for what it resolves to
        `http://[::ffff:127.0.0.1]:${port}/hook`,
        `http://[::1]:${port}/hook`,
        'http://169.254.169.254/latest/meta-data/',
        'http://10.0.0.5/hook',
        'http://100.64.1.1/hook',
        'http://[fd00:ec2::254]/latest/meta-data/',
        `http://2130706433:${port}/hook`, // 127.0.0.1 as one decimal number
      ]) {
        const r = await create(target, target.includes('10.0.0.5') ? 'slack' : 'webhook');
        assert.equal(r.statusCode, 400, `${target}: ${r.body}`);
        assert.equal(r.json().code, 'WF_TARGET_REFUSED', target);
        assert.equal(r.json().problems[0].path, '/body/target');
      }
      const list = await hub.admin('GET', `/api/v1/orgs/${orgId}/notification-channels`);
      assert.deepEqual(list.json(), []);
      assert.deepEqual(received, []);
    });

    it('checks again at delivery time and on every redirect', async () => {
      // Allowed by name while created; the operator then withdraws it (or the name now points
      // elsewhere): delivery is refused before a byte is sent.
      configureNotifications(hub.app.hub, { allowHosts: ['localhost', '127.0.0.1'], backoffBaseMs: 1000 });
      for (const target of [
        `http://localhost:${port}/rebound`,
        `http://127.0.0.1:${port}/literal`,
        `http://localhost:${port}/bounce`,
      ]) {
        assert.equal((await create(target)).statusCode, 201, target);
      }
      configureNotifications(hub.app.hub, { allowHosts: [] });
      const t0 = Date.now();
      await hub.tdb.database.pool.query('UPDATE nodes SET clock_offset_ms = 90000 WHERE id = $1', [
        node.nodeId,
      ]);
      await evaluateSite(hub.app.hub, siteId, { now: t0, rules: ['clock_drift'] });
      const r1 = await dispatchDue(hub.app.hub, { now: new Date(t0) });
      assert.deepEqual(r1, { sent: 0, retried: 3, failed: 0 });
      assert.deepEqual(received, []);
      const errors = (
        await hub.tdb.database.pool.query<{ last_error: string }>(
          'SELECT last_error FROM notification_outbox',
        )
      ).rows.map((r) => r.last_error);
      assert.equal(errors.length, 3);
      for (const e of errors) assert.match(e, /^refused: .*loopback/);

      // Only the name is allowed: the first hop goes out, its redirect to 127.0.0.1 does not.
      configureNotifications(hub.app.hub, { allowHosts: ['localhost'] });
      const r2 = await dispatchDue(hub.app.hub, { now: new Date(t0 + 1000) });
      assert.deepEqual(r2, { sent: 1, retried: 2, failed: 0 }, 'only /rebound is delivered');
      assert.deepEqual(received.sort(), ['/bounce', '/rebound']);
      const bounce = (
        await hub.tdb.database.pool.query<{ status: string; last_error: string }>(
          `SELECT o.status, o.last_error FROM notification_outbox o JOIN notification_channels c ON c.id = o.channel_id WHERE c.target LIKE '%/bounce'`,
        )
      ).rows[0];
      assert.equal(bounce?.status, 'pending');
      assert.match(bounce?.last_error ?? '', /^refused: 127\.0\.0\.1 is a loopback address/);
    });
  });
}
