// One setting names a hub: WATTFLEET_HUB_ID, in metrics, logs and vendor leases alike. The old
// HUB_ID still works as a deprecated alias, and the hub says so in its log when it starts.
import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { PassThrough } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { buildHub } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { openTestDatabase, type TestDatabase } from '../helpers/engines.ts';

describe('hub id setting', () => {
  it('WATTFLEET_HUB_ID names the hub everywhere, vendor leases included', () => {
    const config = loadConfig({ WATTFLEET_HUB_ID: 'hub-east-1' });
    assert.equal(config.hubId, 'hub-east-1');
    assert.equal(config.vendors.hubId, 'hub-east-1');
    assert.deepEqual(config.deprecations, []);
  });

  it('HUB_ID alone still works, with a deprecation', () => {
    const config = loadConfig({ HUB_ID: 'old-name' });
    assert.equal(config.hubId, 'old-name');
    assert.equal(config.vendors.hubId, 'old-name');
    assert.equal(config.deprecations.length, 1);
    assert.match(config.deprecations[0]!, /HUB_ID is deprecated: rename it to WATTFLEET_HUB_ID/);
  });

  it('both set: WATTFLEET_HUB_ID wins and HUB_ID is reported as ignored', () => {
    const config = loadConfig({ HUB_ID: 'old-name', WATTFLEET_HUB_ID: 'new-name' });
    assert.equal(config.hubId, 'new-name');
    assert.equal(config.vendors.hubId, 'new-name');
    assert.match(config.deprecations[0]!, /HUB_ID is deprecated and ignored/);
  });

  it('default: host name and port; with PORT=0 the process id, so two such hubs differ', () => {
    assert.equal(loadConfig({}).hubId, `${hostname()}:8080`);
    assert.equal(loadConfig({ PORT: '9090' }).vendors.hubId, `${hostname()}:9090`);
    assert.equal(loadConfig({ PORT: '0' }).hubId, `${hostname()}:pid${process.pid}`);
  });

  describe('the hub logs the deprecation at start', () => {
    let tdb: TestDatabase;
    before(async () => {
      tdb = await openTestDatabase('pglite');
    });
    after(async () => {
      await tdb.drop();
    });

    it('one warning line naming the new setting', async () => {
      let raw = '';
      const stream = new PassThrough();
      stream.on('data', (d: Buffer) => {
        raw += d.toString();
      });
      const config = loadConfig(
        { HUB_ID: 'old-name' },
        { secrets: { key: undefined, keyFile: undefined, generate: false } },
      );
      const app = await buildHub({ config, database: tdb.database, logger: { level: 'info', stream } });
      await app.ready();
      await app.close();
      const lines = raw
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { level: number; msg: string; hub: string });
      const warned = lines.filter((l) => l.level === 40 && /WATTFLEET_HUB_ID/.test(l.msg));
      assert.equal(warned.length, 1, raw);
      assert.equal(warned[0]!.hub, 'old-name');
    });
  });
});
