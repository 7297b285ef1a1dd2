// The OpenAPI "Node authentication" example, followed step by step with node:crypto alone (not the
// protocol's signer): a real hub with a node enrolled under the example's key accepts the request
// at the example's time, and refuses a tampered body and a replay.
import assert from 'node:assert/strict';
import { createHash, createPrivateKey, createPublicKey, sign } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { SIGNING_EXAMPLE as ex } from '../../src/nodes/signing-docs.ts';
import { ENGINES } from '../helpers/engines.ts';
import { createSite, startTestHub, type TestHub } from '../helpers/hub.ts';

const key = createPrivateKey({
  key: Buffer.concat([
    Buffer.from('302e020100300506032b657004220420', 'hex'),
    Buffer.from(ex.privateKeySeedHex, 'hex'),
  ]),
  format: 'der',
  type: 'pkcs8',
});

for (const engine of ENGINES) {
  describe(`the documented signing example on ${engine}`, () => {
    let hub: TestHub;
    let nodeId: string;
    before(async () => {
      hub = await startTestHub(engine);
      const { siteId } = await createSite(hub);
      const code = (await hub.admin('POST', `/api/v1/sites/${siteId}/enrollment-codes`, {})).json().code;
      const res = await hub.app.inject({
        method: 'POST',
        url: '/api/v1/nodes/enroll',
        payload: { code, publicKey: ex.publicKey, name: 'example' },
      });
      assert.equal(res.statusCode, 200, res.body);
      nodeId = res.json().nodeId;
    });
    after(async () => hub?.close());

    it('documents values that follow from each other', () => {
      assert.equal(createPublicKey(key).export({ format: 'jwk' }).x, ex.publicKey);
      assert.equal(key.export({ format: 'pem', type: 'pkcs8' }), ex.privateKeyPem);
      const digest = createHash('sha256').update(Buffer.from(ex.body, 'utf8')).digest('hex');
      assert.equal(digest, ex.bodySha256Hex);
      const canonical = ['WF1', ex.method, ex.path, ex.timestamp, ex.nonce, digest].join('\n');
      assert.equal(canonical, ex.canonical);
      assert.equal(sign(null, Buffer.from(canonical, 'utf8'), key).toString('base64'), ex.signature);
    });

    const send = (body: string) =>
      hub.app.inject({
        method: ex.method,
        url: ex.path,
        headers: {
          'content-type': 'application/json',
          'x-wf-node': nodeId,
          'x-wf-timestamp': ex.timestamp,
          'x-wf-nonce': ex.nonce,
          'x-wf-signature': ex.signature,
        },
        payload: Buffer.from(body, 'utf8'),
      });

    it('is accepted by the hub at the example time, and a tampered body or a replay is refused', async () => {
      // The hub's clock at the example's timestamp (+2 s), only while these requests run.
      const realNow = Date.now;
      Date.now = () => Number(ex.timestamp) + 2_000;
      try {
        const tampered = await send(ex.body.replace('12.5', '13.5'));
        assert.equal(tampered.statusCode, 401, tampered.body);
        assert.equal(tampered.json().code, 'WF_SIGNATURE_INVALID');

        const ok = await send(ex.body);
        assert.equal(ok.statusCode, 200, ok.body);
        assert.deepEqual(ok.json(), { status: 'stored', batchId: 'example-daily-1', stored: 1 });

        const replay = await send(ex.body);
        assert.equal(replay.statusCode, 401, replay.body);
        assert.equal(replay.json().code, 'WF_SIGNATURE_REPLAYED');
      } finally {
        Date.now = realNow;
      }
      // At any other time the same request is out of the window.
      const late = await send(ex.body);
      assert.equal(late.statusCode, 401);
      assert.equal(late.json().code, 'WF_SIGNATURE_EXPIRED');
    });
  });
}
