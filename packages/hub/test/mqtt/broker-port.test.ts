import assert from 'node:assert/strict';
import { once } from 'node:events';
import { type AddressInfo, createServer } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { AedesBroker } from '../../src/mqtt/aedes-broker.ts';
import { openTestDatabase, type TestDatabase } from '../helpers/engines.ts';

describe('embedded broker port', () => {
  let tdb: TestDatabase;
  const busy = createServer();
  let busyPort = 0;
  before(async () => {
    tdb = await openTestDatabase('pglite');
    busy.listen(0, '127.0.0.1');
    await once(busy, 'listening');
    busyPort = (busy.address() as AddressInfo).port;
  });
  after(async () => {
    busy.close();
    await tdb?.drop();
  });

  it('takes a free port when the default one is busy, and says so', async () => {
    const warnings: string[] = [];
    const broker = new AedesBroker({
      db: tdb.database.db,
      host: '127.0.0.1',
      port: busyPort,
      fallbackToFreePort: true,
      log: { warn: (_o, msg) => warnings.push(msg) },
    });
    await broker.start();
    try {
      assert.notEqual(broker.port, busyPort);
      assert.ok(broker.port > 0);
      assert.match(warnings.join('\n'), /MQTT port is taken/);
    } finally {
      await broker.stop();
    }
  });

  it('fails when the port was chosen explicitly', async () => {
    const broker = new AedesBroker({
      db: tdb.database.db,
      host: '127.0.0.1',
      port: busyPort,
      log: { warn: () => {} },
    });
    await assert.rejects(broker.start(), /EADDRINUSE/);
    await broker.stop().catch(() => {});
  });
});
