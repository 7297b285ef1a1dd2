// Issue #16 item 2 (b): no hub runs for 60 s while MQTT nodes publish QoS 1 batches to NATS's
// MQTT listener. The JetStream stream (replicas 3) captures them with no consumer connected;
// when a hub starts, the shared durable consumer hands over the backlog: nothing lost, nothing
// twice.
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

const OUTAGE_MS = 60_000;

const engines = ENGINES.includes('postgres') ? ['postgres'] : [];
for (const _engine of engines)
  describe('no hub for 60 s while nodes publish to NATS (3-server JetStream, PostgreSQL)', () => {
    let db: { url: string; drop: () => Promise<void> };
    let cluster: TestNatsCluster;
    const hubs: HubProcess[] = [];
    let nodes: ScriptedNode[] = [];
    let sql: pg.Client;
    before(async () => {
      db = await createPgDatabase();
      cluster = await startCluster();
      for (const id of ['outage-a', 'outage-b']) hubs.push(await natsHub(cluster, db.url, id));
      sql = new pg.Client({ connectionString: db.url });
    });
    after(async () => {
      for (const n of nodes) await n.client?.endAsync(true).catch(() => {});
      await sql?.end().catch(() => {});
      for (const h of hubs) await h.kill();
      await cluster?.stop();
      await db?.drop();
    });

    it('stores everything published while no hub ran, exactly once', { timeout: 300_000 }, async (t) => {
      for (const h of hubs) await h.start();
      await sql.connect();
      const count = async (q: string) => (await sql.query(q)).rows[0].n as number;
      nodes = await enrollNodes(hubs[0]!, cluster, 2);
      let publishing = true;
      const publishers = publishUntil(nodes, () => publishing, Date.now() - 3 * 3_600_000);
      const batchCount = () => count('SELECT count(*)::int AS n FROM ingest_batches');
      await waitFor(async () => (await batchCount()) > 5, 60_000, 'ingest');
      for (const h of hubs) await h.stop();
      const storedAtStop = await batchCount();
      const sentAtStop = nodes.reduce((a, n) => a + n.sent, 0);
      await sleep(OUTAGE_MS);
      const sentDuring = nodes.reduce((a, n) => a + n.sent, 0) - sentAtStop;
      assert.ok(sentDuring > 100, `nodes published while no hub ran (${sentDuring} batches acked)`);
      assert.equal(await batchCount(), storedAtStop, 'nothing stored while no hub ran');
      publishing = false;
      await publishers;
      // One hub is enough to drain the backlog.
      await hubs[0]!.start();
      const batches = await assertExactlyOnce(
        count,
        async (q) => (await sql.query(q)).rows,
        nodes,
        'after a 60 s hub outage',
      );
      t.diagnostic(`${batches} batches stored exactly once; ${sentDuring} published during the outage`);
    });
  });
