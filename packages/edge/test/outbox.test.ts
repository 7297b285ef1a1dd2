import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { LocalHistory } from '../src/outbox/history.ts';
import { Outbox } from '../src/outbox/outbox.ts';

const dir = mkdtempSync(join(tmpdir(), 'wf-outbox-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const freshPath = () => join(dir, `o${n++}.db`);
const reading = (i: number, equipment?: string) => ({
  metric: 'solar_w',
  ts: 1_700_000_000_000 + i * 1000,
  value: i,
  ...(equipment ? { equipment } : {}),
});

describe('outbox', () => {
  it('forms a batch at 500 samples, or when the oldest sample has waited long enough', () => {
    const o = Outbox.open(freshPath(), { maxBytes: 1 << 30 });
    o.append(
      Array.from({ length: 499 }, (_, i) => reading(i)),
      1000,
    );
    assert.equal(
      o.formBatch({ maxSamples: 500, maxAgeMs: 1000, now: 1500 }),
      undefined,
      'too few and too young',
    );
    o.append([reading(499), reading(500)], 1200);
    const b = o.formBatch({ maxSamples: 500, maxAgeMs: 1000, now: 1500 });
    assert.equal(b?.count, 500);
    assert.equal(o.formBatch({ maxSamples: 500, maxAgeMs: 1000, now: 1500 }), undefined);
    const aged = o.formBatch({ maxSamples: 500, maxAgeMs: 1000, now: 2200 });
    assert.equal(aged?.count, 1, 'the leftover sample leaves after 1 s');
    const body = JSON.parse(b!.body);
    assert.equal(body.batchId, b!.id);
    assert.deepEqual(body.samples[0], { metric: 'solar_w', ts: 1_700_000_000_000, value: 0 });
    o.close();
  });

  it('keeps batch ids and bytes identical across close and reopen', () => {
    const path = freshPath();
    const o = Outbox.open(path, { maxBytes: 1 << 30 });
    o.append([
      reading(1, 'inv-1'),
      reading(2),
      { metric: 'grid_w', ts: 1_700_000_000_000, value: -0.1 + 0.3 },
    ]);
    const formed = o.formBatch({ maxSamples: 500, maxAgeMs: 0 })!;
    o.close();
    const again = Outbox.open(path, { maxBytes: 1 << 30 });
    const [resend] = again.batches();
    assert.equal(resend?.id, formed.id);
    assert.equal(resend?.body, formed.body, 'byte-identical body, floats included');
    assert.equal(again.ack(formed.id), 3);
    assert.equal(again.stats().depth, 0);
    assert.equal(again.stats().acked, 3);
    again.close();
  });

  it('bounds the file by the pages SQLite really uses: oldest dropped, counted, kept across reopen', () => {
    const path = freshPath();
    const maxBytes = 1024 * 1024;
    const o = Outbox.open(path, { maxBytes });
    // Long equipment names: rows of a size the per-row estimate was never tuned for; the bound reads
    // the pages, so it holds all the same.
    const equipment = 'inverter-with-a-rather-long-equipment-key-0123456789';
    let total = 0;
    let firstDropAt = -1;
    while (total < 40_000) {
      o.append(Array.from({ length: 500 }, (_, k) => reading(total + k, equipment)));
      total += 500;
      if (firstDropAt < 0 && o.stats().dropped > 0) firstDropAt = total;
      assert.ok(o.usedBytes() <= maxBytes, `after ${total}: ${o.usedBytes()} ≤ ${maxBytes}`);
    }
    assert.ok(firstDropAt > 0, 'the outbox filled up');
    const s = o.stats();
    assert.equal(s.bytes, o.usedBytes());
    const rows = o.db.prepare('SELECT count(*) AS n, min(value) AS oldest FROM samples').get() as {
      n: number;
      oldest: number;
    };
    assert.equal(s.depth, rows.n);
    assert.equal(s.depth + s.dropped, total);
    assert.equal(rows.oldest, s.dropped, 'exactly the oldest ones went');
    // On disk: pages are reused before the file grows, so the file is the bound plus one append.
    o.db.pragma('wal_checkpoint(TRUNCATE)');
    assert.ok(statSync(path).size <= maxBytes + 64 * 1024, `file ${statSync(path).size} bytes`);
    o.close();
    const again = Outbox.open(path, { maxBytes });
    assert.equal(again.stats().dropped, s.dropped, 'drop count is persisted');
    again.close();
  });

  it('drops a formed batch whole rather than changing its content', () => {
    const maxBytes = 1024 * 1024;
    const o = Outbox.open(freshPath(), { maxBytes });
    o.append(Array.from({ length: 10 }, (_, i) => reading(i)));
    const b = o.formBatch({ maxSamples: 500, maxAgeMs: 0 })!;
    for (let i = 0; o.stats().dropped === 0; i += 500) {
      o.append(Array.from({ length: 500 }, (_, k) => reading(100 + i + k)));
    }
    assert.equal(o.batches().length, 0, 'batch went in one piece');
    const { n } = o.db.prepare('SELECT count(*) AS n FROM samples WHERE value < 100').get() as { n: number };
    assert.equal(n, 0);
    assert.ok(o.stats().dropped >= 10);
    assert.equal(o.ack(b.id), 0, 'a late ack for a dropped batch is harmless');
    o.close();
  });

  it('gives up local raw history older than a day before any unsent reading', () => {
    const maxBytes = 1024 * 1024;
    let history: LocalHistory | undefined;
    const now = Date.now();
    const keepSince = now - 86_400_000;
    const o = Outbox.open(freshPath(), {
      maxBytes,
      onAppend: (r) => history!.record(r),
      reclaim: (bytes) => history!.reclaim(bytes, keepSince),
    });
    history = new LocalHistory(o.db, 'UTC');
    const old = (i: number) => ({ metric: 'load_w', ts: now - 3 * 86_400_000 + i * 1000, value: i });
    // Old readings, already sent: in the local history only.
    for (let i = 0; i < 6_000; i += 500) {
      o.append(Array.from({ length: 500 }, (_, k) => old(i + k)));
      o.ack(o.formBatch({ maxSamples: 500, maxAgeMs: 0 })!.id);
    }
    const oldRows = () =>
      (o.db.prepare('SELECT count(*) AS n FROM history WHERE ts < ?').get(keepSince) as { n: number }).n;
    assert.equal(oldRows(), 6_000);
    // Then an outage: fresh readings pile up unsent until the file is full.
    let i = 0;
    while (o.stats().dropped === 0) {
      o.append(
        Array.from({ length: 500 }, (_, k) => ({ metric: 'load_w', ts: now + (i + k) * 1000, value: i + k })),
      );
      i += 500;
      if (o.stats().dropped === 0) assert.ok(o.usedBytes() <= maxBytes);
    }
    assert.equal(oldRows(), 0, 'all old history went before the first unsent reading');
    assert.ok(o.usedBytes() <= maxBytes);
    o.close();
  });

  it('moves a poison batch aside and counts it', () => {
    const o = Outbox.open(freshPath(), { maxBytes: 1 << 30 });
    o.append([reading(1), reading(2)]);
    const b = o.formBatch({ maxSamples: 500, maxAgeMs: 0 })!;
    o.poison(b.id, 'WF_UNKNOWN_METRIC');
    assert.deepEqual(
      o.poisoned().map((p) => [p.id, p.reason]),
      [[b.id, 'WF_UNKNOWN_METRIC']],
    );
    assert.equal(o.stats().poisoned, 2);
    assert.equal(o.stats().depth, 0);
    o.close();
  });

  it('keeps local history and daily summaries in the site timezone, pruned by retention', () => {
    const store = Outbox.open(freshPath(), { maxBytes: 1 << 30 });
    const h = new LocalHistory(store.db, 'Australia/Sydney');
    // 2026-01-01T13:30Z is already 2 January in Sydney (UTC+11).
    const t = Date.parse('2026-01-01T13:30:00Z');
    h.record([
      { metric: 'solar_w', ts: t, value: 100 },
      { metric: 'solar_w', ts: t + 60_000, value: 300 },
    ]);
    assert.deepEqual(h.days('2026-01-01'), [
      { date: '2026-01-02', equipment: '', metric: 'solar_w', min: 100, max: 300, avg: 200, delta: 200 },
    ]);
    assert.equal(h.series({ metric: 'solar_w', from: t - 1000, to: t + 120_000 }).length, 2);
    const pruned = h.prune(t + 8 * 86_400_000, 7, 365);
    assert.deepEqual(pruned, { raw: 2, daily: 0 });
    store.close();
  });
});

describe('outbox crash safety', () => {
  it('survives SIGKILL at random moments: no corruption, no duplicates, consistent counts, stable batches', async () => {
    const path = freshPath();
    let previous = new Map<string, string>();
    let last: ReturnType<Outbox['stats']> | undefined;
    for (let round = 0; round < 12; round++) {
      const child = fork(join(import.meta.dirname, 'outbox-crash-child.ts'), [path], {
        execArgv: ['--import', 'tsx'],
        stdio: 'ignore',
      });
      await new Promise<void>((resolve, reject) => {
        child.once('message', () => resolve());
        child.once('exit', (code) => reject(new Error(`child exited early (${code})`)));
      });
      await sleep(50 + Math.random() * 250);
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;

      const o = Outbox.open(path, { maxBytes: 1024 * 1024 });
      assert.equal(o.db.pragma('integrity_check', { simple: true }), 'ok');
      const s = o.stats();
      const rows = o.db.prepare('SELECT count(*) AS n FROM samples').get() as { n: number };
      assert.equal(s.depth, rows.n, `round ${round}: counters agree with the rows`);
      assert.ok(s.bytes <= 1024 * 1024, `round ${round}: ${s.bytes} bytes in use, within the bound`);
      const dup = o.db.prepare('SELECT value FROM samples GROUP BY value HAVING count(*) > 1').all();
      assert.deepEqual(dup, [], 'no duplicate samples');
      const max = o.db.prepare('SELECT max(value) AS v FROM samples').get() as { v: number | null };
      assert.ok((max.v ?? -1) < s.appended, 'every stored value was counted when appended');
      const orphans = o.db
        .prepare(
          'SELECT count(*) AS n FROM samples WHERE batch_id IS NOT NULL AND batch_id NOT IN (SELECT id FROM batches)',
        )
        .get() as { n: number };
      assert.equal(orphans.n, 0);
      const batches = o.batches(1_000_000); // throws when a body no longer matches its digest
      for (const b of batches) {
        const members = o.db.prepare('SELECT count(*) AS n FROM samples WHERE batch_id = ?').get(b.id) as {
          n: number;
        };
        assert.equal(members.n, b.count, 'batch membership intact');
        const before = previous.get(b.id);
        if (before !== undefined) assert.equal(b.body, before, 'a batch that survived a crash is unchanged');
      }
      previous = new Map(batches.map((b) => [b.id, b.body]));
      last = s;
      o.close();
    }
    assert.ok(
      last && last.appended > 0 && last.acked > 0,
      `the child did real work: ${JSON.stringify(last)}`,
    );
  });
});
