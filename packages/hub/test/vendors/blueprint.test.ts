// The copy-me test for a new adapter: a stand-in for the (imaginary) Blueprint cloud as a real
// HTTP server on loopback, the adapter's mapping checked directly, then the whole path through a
// hub on both engines (test connection, add, poll, store once). Copy it with adapters/blueprint.ts.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { isAcceptedMetric } from '@wattfleet/protocol';
import { blueprintAdapter } from '../../src/vendors/adapters/blueprint.ts';
import { vendorHttp } from '../../src/vendors/adapters/http.ts';
import { ENGINES } from '../helpers/engines.ts';
import { createSite } from '../helpers/hub.ts';
import { startVendorHub, vendorTestConfig } from './helpers.ts';

/** LOCAL STAND-IN for the imaginary Blueprint cloud: GET /v1/systems/{id}/latest with a bearer token. */
async function blueprintCloud(reading: { ts: number; power_w: number; energy_kwh: number }) {
  const server: Server = createServer((req, res) => {
    if (req.headers.authorization !== 'Bearer good-token') {
      res.writeHead(401).end();
      return;
    }
    if (req.url !== '/v1/systems/42/latest') {
      res.writeHead(404).end();
      return;
    }
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ ...reading, model: 'BP-1' }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((r) => server.close(r)),
  };
}

const ts = Math.floor(Date.now() / 60_000) * 60 - 120;
const reading = { ts, power_w: 1234, energy_kwh: 5678.9012 };

describe('blueprint adapter', () => {
  let cloud: Awaited<ReturnType<typeof blueprintCloud>>;
  before(async () => {
    cloud = await blueprintCloud(reading);
  });
  after(async () => cloud.close());

  const ctx = (token: string) => ({
    config: vendorTestConfig({}).vendors!,
    http: vendorHttp({ timeoutMs: 5_000 }),
    credentials: { endpoint: cloud.url, token },
    saveCredentials: async () => {},
    session: new Map(),
    now: Date.now(),
  });

  test('maps onto the catalogue in our units, with a batch key from the vendor timestamp', async () => {
    const r = await blueprintAdapter.poll({
      ...ctx('good-token'),
      accountId: 'a',
      externalId: '42',
      settings: {},
      cursor: {},
      budget: { remaining: () => ({ minute: 1, month: 1 }), monthRemainingMs: () => 1 },
    });
    assert.equal(r.batches.length, 1);
    assert.equal(r.batches[0]!.key, `bp-${ts * 1000}`);
    for (const s of r.batches[0]!.samples) assert.ok(isAcceptedMetric(s.metric), s.metric);
    assert.deepEqual(
      r.batches[0]!.samples.map((s) => [s.metric, s.value]),
      [
        ['solar_w', 1234],
        ['solar_wh', 5678901.2],
      ],
    );
  });

  test('a refused token is a credentials error', async () => {
    await assert.rejects(blueprintAdapter.connect(ctx('bad'), '42'), {
      name: 'VendorError',
      kind: 'credentials',
    });
  });

  for (const engine of ENGINES) {
    test(`through a hub on ${engine}: test connection, add, poll, store once`, async () => {
      const hub = await startVendorHub(engine, {});
      try {
        const { siteId } = await createSite(hub);
        const body = {
          vendor: 'blueprint',
          externalId: '42',
          credentials: { endpoint: cloud.url, token: 'good-token' },
        };
        const tested = await hub.admin('POST', `/api/v1/sites/${siteId}/vendor-accounts/test`, body);
        assert.equal(tested.statusCode, 200, tested.body);
        assert.equal(tested.json().model, 'BP-1');
        const created = await hub.admin('POST', `/api/v1/sites/${siteId}/vendor-accounts`, body);
        assert.equal(created.statusCode, 201, created.body);
        const id = created.json().id;
        assert.equal((await hub.app.vendors.poller.pollNow(id))?.stored, 2);
        assert.equal(
          (await hub.app.vendors.poller.pollNow(id))?.stored,
          0,
          'the same reading again stores nothing',
        );
      } finally {
        await hub.close();
      }
    });
  }
});
