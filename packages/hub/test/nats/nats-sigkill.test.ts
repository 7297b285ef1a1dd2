// Issue #16 item 2 (a): two hubs (BROKER=nats, PostgreSQL) share one durable JetStream pull
// consumer over a real 3-server cluster (stream replicas 3). While MQTT nodes publish QoS 1
// batches to NATS's MQTT listener, one NATS server and one hub are SIGKILLed. A batch the dead
// hub held unacknowledged comes back after ack_wait to the surviving hub; the stream keeps its
// quorum on two servers. In the end every sample is stored exactly once.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { createPgDatabase, ENGINES } from '../helpers/engines.ts';
import type { HubProcess } from '../helpers/hub-process.ts';
import { sleep, waitFor } from '../mqtt/mqtt-helpers.ts';
import type { TestNatsCluster } from '../mqtt/nats-cluster.ts';
import {
  assertExactlyOnce,
  enrollNodes,
  natsHub,
  publishUntil,
  type ScriptedNode,
  startCluster,
} from './nats-ingest-helpers.ts';

const engines = ENGINES.includes('postgres') ? ['postgres'] : [];
for (const _engine of engines)
  describe('NATS server and hub SIGKILLed during ingest (3-server JetStream, 2 hubs, PostgreSQL)', () => {
    let db: { url: string; drop: () => Promise<void> };
    let cluster: TestNatsCluster;
    const hubs: HubProcess[] = [];
    let nodes: ScriptedNode[] = [];
    let sql: pg.Client;
    before(async () => {
      db = await createPgDatabase();
      cluster = await startCluster();
      for (const id of ['nats-a', 'nats-b']) hubs.push(await natsHub(cluster, db.url, id));
      sql = new pg.Client({ connectionString: db.url });
    });
    after(async () => {
      for (const n of nodes) await n.client?.endAsync(true).catch(() => {});
      await sql?.end().catch(() => {});
      for (const h of hubs) await h.kill();
      await cluster?.stop();
      await db?.drop();
    });

    it('stores every sample exactly once', { timeout: 300_000 }, async (t) => {
      for (const h of hubs) await h.start();
      await sql.connect();
      const count = async (q: string) => (await sql.query(q)).rows[0].n as number;
      nodes = await enrollNodes(hubs[0]!, cluster, 3);
      let publishing = true;
      const publishers = publishUntil(nodes, () => publishing, Date.now() - 3 * 3_600_000);
      await waitFor(
        async () => (await count('SELECT count(*)::int AS n FROM ingest_batches')) > 20,
        60_000,
        'ingest',
      );
      // Server 3 (not the nodes' MQTT server) and hub B die mid-ingest.
      cluster.kill(2);
      await hubs[1]!.kill();
      assert.equal(hubs[1]!.child?.signalCode, 'SIGKILL');
      const before = await count('SELECT count(*)::int AS n FROM ingest_batches');
      await waitFor(
        async () => (await count('SELECT count(*)::int AS n FROM ingest_batches')) > before + 20,
        60_000,
        `ingest by the surviving hub\n${cluster.log().slice(-2000)}`,
      );
      await sleep(2000);
      publishing = false;
      await publishers;
      const batches = await assertExactlyOnce(
        count,
        async (q) => (await sql.query(q)).rows,
        nodes,
        'after killing nats server 3 and hub B',
      );
      assert.ok(batches > 60, `enough batches (${batches})`);
      t.diagnostic(`${batches} batches, ${batches * 10} samples stored exactly once`);
    });
  });
