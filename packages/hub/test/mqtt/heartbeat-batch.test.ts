// Heartbeats are written in batches: many nodes heard from within one flush interval cost one
// statement, not one transaction each. Both engines.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { ENGINES } from '../helpers/engines.ts';
import { createSite, startTestHub, type TestHub } from '../helpers/hub.ts';

const N = 300;

for (const engine of ENGINES) {
  describe(`batched heartbeats on ${engine}`, () => {
    let hub: TestHub;
    let ids: string[];

    before(async () => {
      // No broker needed: the service is fed directly, as the MQTT handler does.
      hub = await startTestHub(engine);
      const site = await createSite(hub);
      const { rows } = await sql<{ id: string }>`
        INSERT INTO nodes (site_id, name) SELECT ${site.siteId}, 'n' || g FROM generate_series(1, ${N}) g
        RETURNING id`.execute(hub.app.hub.db);
      ids = rows.map((r) => r.id);
    });
    after(async () => hub?.close());

    it(`writes ${N} nodes' heartbeats in one flush and announces each node once`, async () => {
      const hb = hub.app.controlPlane.heartbeats;
      const online: string[] = [];
      const off = hub.app.hub.bus.onEvent('node.status', (e) => online.push(e.nodeId));
      try {
        const now = Date.now();
        // Two heartbeats per node within the interval: only the newest is kept.
        for (const id of ids) hb.record(id, { state: 'online', clock: now - 5000 }, undefined, now - 5000);
        for (const id of ids)
          hb.record(id, { state: 'online', clock: now, agentVersion: '2.0.0' }, undefined, now);
        const flushes = hb.stats.flushes;
        await hb.flush();
        assert.equal(hb.stats.flushes, flushes + 1);
        assert.equal(hb.stats.rowsWritten, N);
        assert.equal(online.length, N);
        assert.equal(new Set(online).size, N);
        const counts = await hub.app.hub.db
          .selectFrom('nodes')
          .select((eb) => [eb.fn.countAll<number>().as('n')])
          .where('status', '=', 'online')
          .where('agent_version', '=', '2.0.0')
          .executeTakeFirstOrThrow();
        assert.equal(Number(counts.n), N);
        // Nodes already online: the next flush writes last_seen_at but announces nothing.
        for (const id of ids) hb.record(id, { state: 'online', clock: Date.now() });
        await hb.flush();
        assert.equal(online.length, N);
      } finally {
        off();
      }
    });
  });
}
