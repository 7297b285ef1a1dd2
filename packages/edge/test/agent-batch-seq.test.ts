// Batch sequence numbers end to end (issue 17 item 6): the real agent bundle (started as systemd
// starts it) against the real hub (PGlite, embedded broker).
//   1. It uploads, is stopped, and is started again cut off from the hub: the batches it forms
//      then continue the sequence where the first run left it (the counter is in the state file).
//   2. One of those formed batches is lost before it leaves (taken out of the state file by hand
//      while the agent is stopped: what a broken transport or a full outbox would do).
//   3. Started again with the hub reachable, it drains its backlog; the hub, which only ever saw
//      later batches arrive, reports exactly that batch's seq as lost in the node's completeness.
// The hub's tables are only read here.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { sql } from 'kysely';
import { localDate } from '../../hub/src/time/zoned.ts';
import { agent, ctx, TZ, until, useAgentHub } from './helpers/agent-hub.ts';
import { killAgent } from './helpers/agent-process.ts';

useAgentHub();

describe('the real agent numbers its batches and the hub sees the one it never got', () => {
  it('seq continues across restarts; a batch lost from the outbox is a lost batch in completeness', async () => {
    let stateDb = '';
    const hubLine = (url: string, mqtt: string) => `hub: { url: "${url}", mqttUrl: "${mqtt}" }`;
    const a = await agent('seq', (d) => {
      stateDb = join(d, 'state.db');
      return `${hubLine(ctx.hubUrl, ctx.brokerUrl)}
sources: [{ type: simulator, key: roof, seed: batch-seq }]
poll: { intervalS: 0.1 }
uplink: { batchMaxSamples: 5, batchMaxAgeMs: 50 }
`;
    });
    const watermark = async () =>
      Number(
        (
          await sql<{
            max_seq: string;
          }>`SELECT max_seq FROM node_batch_seq WHERE node_id = ${a.nodeId}`.execute(ctx.hub.tdb.database.db)
        ).rows[0]?.max_seq ?? 0,
      );
    const withState = <T>(fn: (db: Database.Database) => T): T => {
      const db = new Database(stateDb);
      try {
        db.pragma('busy_timeout = 5000');
        return fn(db);
      } finally {
        db.close();
      }
    };
    const setHub = (url: string, mqtt: string) => {
      const text = readFileSync(a.configPath, 'utf8').replace(/^hub: .*$/m, hubLine(url, mqtt));
      writeFileSync(a.configPath, text);
    };

    const setSources = (sources: string) => {
      const text = readFileSync(a.configPath, 'utf8').replace(/^sources: .*$/m, `sources: ${sources}`);
      writeFileSync(a.configPath, text);
    };
    const formed = () =>
      withState((db) => (db.prepare('SELECT count(*) AS n FROM batches').get() as { n: number }).n);
    const counter = () =>
      withState(
        (db) =>
          (db.prepare("SELECT value FROM counters WHERE name = 'batch_seq'").get() as { value: number })
            .value,
      );

    // 1. Uploads with seq; then a start without sources drains what is left, so the hub has all.
    let child = a.start();
    await until('batches with seq at the hub', async () => (await watermark()) >= 3, a.log);
    await killAgent(child, 'SIGTERM');
    setSources('[]');
    child = a.start();
    await until(
      'the first backlog drained',
      async () => formed() === 0 && (await watermark()) === counter(),
      a.log,
    );
    await killAgent(child, 'SIGTERM');
    const firstRun = counter();
    assert.ok(firstRun >= 3, `first run formed ${firstRun} batches`);

    // Restarted without a hub to talk to: batches are formed and wait in the outbox.
    setSources('[{ type: simulator, key: roof, seed: batch-seq }]');
    setHub('http://127.0.0.1:1', 'mqtt://127.0.0.1:1');
    child = a.start();
    await until('three formed batches waiting', () => formed() >= 3, a.log);
    await killAgent(child, 'SIGTERM');
    const waiting = withState(
      (db) =>
        db.prepare('SELECT id, seq FROM batches WHERE seq IS NOT NULL ORDER BY seq').all() as {
          id: string;
          seq: number;
        }[],
    );
    const newest = Math.max(...waiting.map((b) => b.seq));
    assert.ok(waiting.length >= 3, JSON.stringify(waiting));
    assert.equal(waiting[0]!.seq, firstRun + 1, 'the sequence continued where the first runs stopped');
    assert.ok(
      waiting.every((b, i) => i === 0 || b.seq === waiting[i - 1]!.seq + 1),
      'no seq skipped or given twice',
    );

    // 2. One of them is lost (by hand, in the agent's own state file, while it is stopped).
    const lost = waiting[1]!;
    withState((db) =>
      db.transaction(() => {
        db.prepare('DELETE FROM samples WHERE batch_id = ?').run(lost.id);
        db.prepare('DELETE FROM batches WHERE id = ?').run(lost.id);
      })(),
    );

    // 3. The hub is reachable again: the backlog drains and the hub names the hole.
    setHub(ctx.hubUrl, ctx.brokerUrl);
    child = a.start();
    await until('the backlog reached the hub', async () => (await watermark()) > newest, a.log);
    await killAgent(child, 'SIGTERM');
    const now = Date.now();
    const from = localDate(now - 86_400_000, TZ);
    const to = localDate(now + 86_400_000, TZ);
    const res = await ctx.hub.admin('GET', `/api/v1/nodes/${a.nodeId}/completeness?from=${from}&to=${to}`);
    assert.equal(res.statusCode, 200, res.body);
    const days = res.json() as {
      lostBatchCount: number;
      lostBatches: { fromSeq: number; toSeq: number }[];
    }[];
    const holes = days.flatMap((d) => d.lostBatches.map((g) => [g.fromSeq, g.toSeq]));
    assert.deepEqual(holes, [[lost.seq, lost.seq]], 'exactly the lost batch');
    assert.equal(
      days.reduce((n, d) => n + d.lostBatchCount, 0),
      1,
    );
  });
});
