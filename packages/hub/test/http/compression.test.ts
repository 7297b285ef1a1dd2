// API answers are compressed for clients that accept it (issue 15: the hub served everything
// uncompressed). A large answer comes back brotli- or gzip-encoded and decodes to exactly the plain
// answer; small answers and clients that do not ask stay plain.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { startTestHub, type TestHub } from '../helpers/hub.ts';

describe('compressed answers', () => {
  let hub: TestHub;
  before(async () => {
    hub = await startTestHub('pglite');
    const org = (await hub.admin('POST', '/api/v1/orgs', { name: 'Compress Org', kind: 'household' })).json();
    for (let i = 0; i < 30; i++) {
      const res = await hub.admin('POST', '/api/v1/sites', {
        orgId: org.id,
        name: `Site number ${i} with a descriptive name`,
        timezone: 'Europe/Athens',
      });
      assert.equal(res.statusCode, 201, res.body);
    }
  });
  after(() => hub?.close());

  const get = (url: string, encoding?: string) =>
    hub.app.inject({
      method: 'GET',
      url,
      headers: {
        authorization: 'Bearer test-admin-token-0123456789',
        ...(encoding ? { 'accept-encoding': encoding } : {}),
      },
    });

  test('a large answer is brotli-encoded for a browser and decodes to the plain answer', async () => {
    const plain = await get('/api/v1/sites');
    assert.equal(plain.statusCode, 200);
    assert.equal(plain.headers['content-encoding'], undefined);
    assert.ok(plain.rawPayload.length > 1024, `the answer is large enough: ${plain.rawPayload.length} bytes`);

    const br = await get('/api/v1/sites', 'gzip, deflate, br');
    assert.equal(br.headers['content-encoding'], 'br');
    assert.ok(br.rawPayload.length < plain.rawPayload.length / 2, 'compressed to less than half');
    assert.deepEqual(JSON.parse(brotliDecompressSync(br.rawPayload).toString()), plain.json());

    const gz = await get('/api/v1/sites', 'gzip');
    assert.equal(gz.headers['content-encoding'], 'gzip');
    assert.deepEqual(JSON.parse(gunzipSync(gz.rawPayload).toString()), plain.json());
  });

  test('a small answer stays plain', async () => {
    const res = await get('/healthz', 'br');
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-encoding'], undefined);
  });
});
