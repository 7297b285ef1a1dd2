import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { generateNodeKeyPair, privateKeyFromPem, signRequest } from '@wattfleet/protocol';
import { verifyMqttPassword } from '../../src/nodes/credentials.ts';
import { ENGINES } from '../helpers/engines.ts';
import { batchId, createSite, startTestHub, type TestHub, TestNode } from '../helpers/hub.ts';

for (const engine of ENGINES) {
  describe(`node enrollment on ${engine}`, () => {
    let hub: TestHub;
    let siteId: string;
    before(async () => {
      hub = await startTestHub(engine);
      siteId = (await createSite(hub)).siteId;
    });
    after(async () => hub?.close());

    const enroll = (code: string, publicKey = generateNodeKeyPair().publicKey) =>
      hub.app.inject({
        method: 'POST',
        url: '/api/v1/nodes/enroll',
        payload: { code, publicKey, name: 'pi' },
      });

    it('exchanges a code once for credentials; the hub keeps only a public key and a password hash', async () => {
      const code = (
        await hub.admin('POST', `/api/v1/sites/${siteId}/enrollment-codes`, { ttlMinutes: 10 })
      ).json().code;
      const pair = generateNodeKeyPair();
      const first = await enroll(code, pair.publicKey);
      assert.equal(first.statusCode, 200, first.body);
      const body = first.json();
      assert.equal(body.siteId, siteId);
      assert.equal(body.mqtt.username, body.nodeId);
      const { rows } = await hub.tdb.database.pool.query(
        'SELECT public_key, mqtt_password_hash FROM nodes WHERE id = $1',
        [body.nodeId],
      );
      assert.equal(rows[0].public_key, pair.publicKey);
      assert.notEqual(rows[0].mqtt_password_hash, body.mqtt.password);
      assert.match(rows[0].mqtt_password_hash, /^\$7\$101\$/);
      assert.equal(verifyMqttPassword(body.mqtt.password, rows[0].mqtt_password_hash), true);
      assert.equal(verifyMqttPassword('wrong', rows[0].mqtt_password_hash), false);
      // No column holds the code itself either.
      const codes = await hub.tdb.database.pool.query('SELECT code_hash FROM enrollment_codes');
      assert.ok(codes.rows.every((r: { code_hash: string }) => r.code_hash !== code));

      const again = await enroll(code);
      assert.equal(again.statusCode, 400);
      assert.equal(again.json().code, 'WF_ENROLLMENT_INVALID');
      assert.match(again.json().message, /already used/);
    });

    it('accepts a code typed in lower case without dashes', async () => {
      const code: string = (await hub.admin('POST', `/api/v1/sites/${siteId}/enrollment-codes`, {})).json()
        .code;
      const res = await enroll(code.replaceAll('-', '').toLowerCase());
      assert.equal(res.statusCode, 200, res.body);
    });

    it('refuses an expired code and an unknown code', async () => {
      const code = (
        await hub.admin('POST', `/api/v1/sites/${siteId}/enrollment-codes`, { ttlMinutes: 1 })
      ).json().code;
      await hub.tdb.database.pool.query(
        `UPDATE enrollment_codes SET expires_at = now() - interval '1 second'`,
      );
      const expired = await enroll(code);
      assert.equal(expired.statusCode, 400);
      assert.match(expired.json().message, /expired/);
      const unknown = await enroll('ZZZZ-ZZZZ-ZZZZ');
      assert.equal(unknown.statusCode, 400);
      assert.match(unknown.json().message, /unknown/);
    });

    it('lets exactly one of two racing agents use a code', async () => {
      const code = (await hub.admin('POST', `/api/v1/sites/${siteId}/enrollment-codes`, {})).json().code;
      const answers = await Promise.all([enroll(code), enroll(code), enroll(code)]);
      assert.deepEqual(answers.map((a) => a.statusCode).sort(), [200, 400, 400]);
    });

    it('validates the enrollment request and refuses the admin API without a token', async () => {
      const bad = await hub.app.inject({
        method: 'POST',
        url: '/api/v1/nodes/enroll',
        payload: { code: 1, publicKey: 'x' },
      });
      assert.equal(bad.statusCode, 400);
      assert.equal(bad.json().code, 'WF_VALIDATION');
      const anon = await hub.app.inject({
        method: 'POST',
        url: `/api/v1/sites/${siteId}/enrollment-codes`,
        payload: {},
      });
      assert.equal(anon.statusCode, 401);
    });

    it('re-enrollment replaces a node key; the old key stops working', async () => {
      const node = await TestNode.enroll(hub, siteId);
      const ok = await node.send('/api/v1/ingest/events', {
        batchId: batchId(),
        events: [{ ts: Date.now(), kind: 'agent.start', severity: 'info', message: 'started' }],
      });
      assert.equal(ok.statusCode, 200, ok.body);
      const code = (await hub.admin('POST', `/api/v1/nodes/${node.nodeId}/reenrollment-code`)).json().code;
      const pair = generateNodeKeyPair();
      const res = await enroll(code, pair.publicKey);
      assert.equal(res.json().nodeId, node.nodeId);
      hub.app.nodeKeys.invalidate(node.nodeId);
      const old = await node.send('/api/v1/ingest/events', {
        batchId: batchId(),
        events: [{ ts: Date.now(), kind: 'agent.start', severity: 'info', message: 'old key' }],
      });
      assert.equal(old.statusCode, 401);
      assert.equal(old.json().code, 'WF_SIGNATURE_INVALID');
      const renewed = new TestNode(hub, node.nodeId, siteId, privateKeyFromPem(pair.privateKeyPem), '');
      const fresh = await renewed.send('/api/v1/ingest/events', {
        batchId: batchId(),
        events: [{ ts: Date.now(), kind: 'agent.start', severity: 'info', message: 'new key' }],
      });
      assert.equal(fresh.statusCode, 200);
    });

    it('a node rotates its own credentials with a request signed by its current key', async () => {
      const node = await TestNode.enroll(hub, siteId);
      const pair = generateNodeKeyPair();
      const res = await node.send('/api/v1/nodes/self/credentials', { publicKey: pair.publicKey });
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.json().mqtt.username, node.nodeId);
      const url = '/api/v1/ingest/events';
      const body = Buffer.from(
        JSON.stringify({
          batchId: batchId(),
          events: [{ ts: Date.now(), kind: 'x.y', severity: 'info', message: 'm' }],
        }),
      );
      const headers = signRequest(privateKeyFromPem(pair.privateKeyPem), node.nodeId, 'POST', url, body);
      const viaNew = await hub.app.inject({
        method: 'POST',
        url,
        headers: { ...headers, 'content-type': 'application/json' },
        payload: body,
      });
      assert.equal(viaNew.statusCode, 200, viaNew.body);
      const audit = await hub.tdb.database.pool.query(
        `SELECT action FROM audit_log WHERE target_id = $1 ORDER BY id`,
        [node.nodeId],
      );
      assert.deepEqual(
        audit.rows.map((r: { action: string }) => r.action),
        ['node.enroll', 'node.credentials.rotate'],
      );
    });
  });
}
