// Notification delivery against real peers on loopback: an HTTP server (port 0) that fails three
// times before accepting, a Slack-style hook, and an SMTP server (smtp-server, port 0). Backoff
// is exercised by dispatching at later instants instead of waiting. Both engines.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { SMTPServer } from 'smtp-server';
import { evaluateSite } from '../../src/alerts/alert-engine.ts';
import { configureNotifications, dispatchDue } from '../../src/notifications/dispatcher.ts';
import { ENGINES } from '../helpers/engines.ts';
import { createSite, startTestHub, type TestHub, TestNode } from '../helpers/hub.ts';

interface Received {
  path: string;
  body: Record<string, unknown>;
  status: number;
}

for (const engine of ENGINES) {
  describe(`notification delivery on ${engine}`, () => {
    let hub: TestHub;
    let http: Server;
    let smtp: SMTPServer;
    let siteId: string;
    let orgId: string;
    let node: TestNode;
    const received: Received[] = [];
    const mails: string[] = [];
    let hookFailuresLeft = 3;

    before(async () => {
      http = createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (c) => chunks.push(c));
        req.on('end', () => {
          const failing = req.url === '/hook' && hookFailuresLeft > 0;
          if (failing) hookFailuresLeft--;
          const status = failing ? 503 : 200;
          received.push({ path: req.url ?? '', body: JSON.parse(Buffer.concat(chunks).toString()), status });
          res.writeHead(status).end();
        });
      });
      await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
      smtp = new SMTPServer({
        authOptional: true,
        disabledCommands: ['STARTTLS'],
        logger: false,
        onData(stream, _session, cb) {
          let text = '';
          stream.on('data', (c: Buffer) => {
            text += c.toString();
          });
          stream.on('end', () => {
            mails.push(text);
            cb();
          });
        },
      });
      await new Promise<void>((r) => smtp.listen(0, '127.0.0.1', r));

      hub = await startTestHub(engine);
      const site = await createSite(hub, { name: 'Roof Ost' });
      siteId = site.siteId;
      orgId = site.orgId;
      node = await TestNode.enroll(hub, siteId);
      // The stand-in receivers are on loopback, which the network guard refuses unless allowed
      // (the operator's NOTIFY_ALLOW_HOSTS; ssrf.test.ts shows the refusal without it).
      configureNotifications(hub.app.hub, { allowHosts: ['127.0.0.1'] });
      const base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
      for (const ch of [
        { kind: 'webhook', target: `${base}/hook` },
        { kind: 'slack', target: `${base}/slack` },
        { kind: 'email', target: 'ops@example.test' },
        // Routing by severity: this one only wants critical alerts; clock drift is a warning.
        { kind: 'webhook', target: `${base}/critical-only`, minSeverity: 'critical' },
      ]) {
        const res = await hub.admin('POST', `/api/v1/orgs/${orgId}/notification-channels`, ch);
        assert.equal(res.statusCode, 201, res.body);
      }
      configureNotifications(hub.app.hub, {
        smtp: {
          host: '127.0.0.1',
          port: (smtp.server.address() as AddressInfo).port,
          secure: false,
          ignoreTLS: true,
        },
        from: 'Wattfleet <alerts@wattfleet.test>',
        backoffBaseMs: 1000,
      });
    });
    after(async () => {
      await hub?.close();
      await new Promise((r) => http?.close(r));
      await new Promise<void>((r) => (smtp ? smtp.close(() => r()) : r()));
    });

    const outbox = async () =>
      (
        await hub.tdb.database.pool.query(
          `SELECT o.*, c.kind, c.target FROM notification_outbox o JOIN notification_channels c ON c.id = o.channel_id ORDER BY o.id`,
        )
      ).rows;

    it('a webhook that fails three times then succeeds is delivered once; slack and email arrive', async () => {
      const t0 = Date.now();
      await hub.tdb.database.pool.query('UPDATE nodes SET clock_offset_ms = 90000 WHERE id = $1', [
        node.nodeId,
      ]);
      await evaluateSite(hub.app.hub, siteId, { now: t0, rules: ['clock_drift'] });
      let rows = await outbox();
      assert.deepEqual(rows.map((r) => r.kind).sort(), ['email', 'slack', 'webhook']);

      // Attempts 1..3 fail: backoff 1 s, 2 s, 4 s after each failure.
      const r1 = await dispatchDue(hub.app.hub, { now: new Date(t0) });
      assert.deepEqual(r1, { sent: 2, retried: 1, failed: 0 });
      let hook = (await outbox()).find((r) => r.kind === 'webhook');
      assert.equal(new Date(hook.next_attempt_at).getTime(), t0 + 1000);
      // Not due yet: nothing is sent before the backoff has passed.
      assert.deepEqual(await dispatchDue(hub.app.hub, { now: new Date(t0 + 999) }), {
        sent: 0,
        retried: 0,
        failed: 0,
      });
      await dispatchDue(hub.app.hub, { now: new Date(t0 + 1000) });
      hook = (await outbox()).find((r) => r.kind === 'webhook');
      assert.equal(new Date(hook.next_attempt_at).getTime(), t0 + 1000 + 2000);
      await dispatchDue(hub.app.hub, { now: new Date(t0 + 3000) });
      hook = (await outbox()).find((r) => r.kind === 'webhook');
      assert.equal(new Date(hook.next_attempt_at).getTime(), t0 + 3000 + 4000);
      assert.deepEqual(await dispatchDue(hub.app.hub, { now: new Date(t0 + 7000) }), {
        sent: 1,
        retried: 0,
        failed: 0,
      });
      // Later rounds send nothing more.
      await dispatchDue(hub.app.hub, { now: new Date(t0 + 3_600_000) });

      const hooks = received.filter((r) => r.path === '/hook');
      assert.deepEqual(
        hooks.map((h) => h.status),
        [503, 503, 503, 200],
      );
      const ok = hooks.at(-1)!.body as {
        event: string;
        alert: { rule: string; siteName: string; severity: string };
      };
      assert.equal(ok.event, 'opened');
      assert.equal(ok.alert.rule, 'clock_drift');
      assert.equal(ok.alert.siteName, 'Roof Ost');
      rows = await outbox();
      hook = rows.find((r) => r.kind === 'webhook');
      assert.equal(hook.status, 'sent');
      assert.equal(hook.attempts, 4);

      const slack = received.filter((r) => r.path === '/slack');
      assert.equal(slack.length, 1);
      assert.match(String(slack[0]!.body.text), /\[WARNING\] Alert: clock_drift at Roof Ost/);
      assert.equal(received.filter((r) => r.path === '/critical-only').length, 0, 'routed by severity');

      assert.equal(mails.length, 1);
      const mail = mails[0]!;
      assert.match(mail, /^To: ops@example\.test/m);
      assert.match(mail, /^From: Wattfleet <alerts@wattfleet\.test>/m);
      assert.match(mail, /^Subject: \[WARNING\] Alert: clock_drift at Roof Ost/m);
      assert.match(mail, /Clock of test agent is off by 90 s/);
    });

    it('a flapping condition is throttled: one message per channel in the window, the rest recorded as suppressed', async () => {
      const before = (await outbox()).length;
      const t0 = Date.now() + 10_000;
      for (let i = 0; i < 10; i++) {
        const off = i % 2 === 0 ? 0 : 90_000; // resolve, open, resolve, open, …
        await hub.tdb.database.pool.query('UPDATE nodes SET clock_offset_ms = $1 WHERE id = $2', [
          off,
          node.nodeId,
        ]);
        await evaluateSite(hub.app.hub, siteId, { now: t0 + i * 1000, rules: ['clock_drift'] });
      }
      const rows = (await outbox()).slice(before);
      assert.equal(rows.length, 10 * 3, '10 transitions × 3 matching channels recorded');
      assert.equal(
        rows.filter((r) => r.status !== 'suppressed').length,
        0,
        'all inside the 15 min window of the first message',
      );
      const transitions = await hub.tdb.database.pool.query(
        `SELECT count(*)::int AS n FROM alert_transitions t JOIN alerts a ON a.id = t.alert_id WHERE a.rule = 'clock_drift'`,
      );
      assert.equal(transitions.rows[0].n, 1 + 10, 'every transition is still recorded');
    });
  });
}
