import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Coalescer } from '../../src/storage/coalesce.ts';

/** A flush that records its groups and completes when the test releases it. */
function recorder() {
  const groups: string[][] = [];
  const releases: (() => void)[] = [];
  const flush = (items: string[]) => {
    groups.push(items);
    return new Promise<(string | Error)[]>((resolve) => {
      releases.push(() =>
        resolve(items.map((i) => (i.startsWith('bad') ? new Error(`no ${i}`) : `ok ${i}`))),
      );
    });
  };
  const releaseAll = async () => {
    while (releases.length) {
      releases.shift()!();
      await new Promise((r) => setImmediate(r));
    }
  };
  return { groups, flush, releaseAll };
}

describe('write coalescer', () => {
  it('flushes a lone item at once and groups what arrives meanwhile, bounded by weight', async () => {
    const r = recorder();
    const c = new Coalescer<string, string>(r.flush, { concurrency: 1, maxWeight: 3 });
    const all = ['a', 'b', 'c', 'd', 'e', 'f'].map((x) => c.submit(x));
    assert.deepEqual(r.groups, [['a']]);
    await r.releaseAll();
    assert.deepEqual(await Promise.all(all), ['ok a', 'ok b', 'ok c', 'ok d', 'ok e', 'ok f']);
    assert.deepEqual(r.groups, [['a'], ['b', 'c', 'd'], ['e', 'f']]);
  });

  it('never flushes two items with the same key together or at the same time', async () => {
    const r = recorder();
    const c = new Coalescer<string, string>(r.flush, { concurrency: 2, maxWeight: 10, key: (x) => x[0]! });
    const all = ['x1', 'x2', 'y1', 'x3', 'y2'].map((x) => c.submit(x));
    // Two flushes may run: x1 alone first, then y1 (x2 waits while x1 is in flight).
    assert.deepEqual(r.groups, [['x1'], ['y1']]);
    await r.releaseAll();
    await Promise.all(all);
    for (const g of r.groups) assert.equal(new Set(g.map((x) => x[0])).size, g.length, `group ${g}`);
    assert.deepEqual(r.groups.flat().sort(), ['x1', 'x2', 'x3', 'y1', 'y2']);
  });

  it('an Error result rejects only its item; a thrown error rejects the whole group', async () => {
    const r = recorder();
    const c = new Coalescer<string, string>(r.flush, { concurrency: 1, maxWeight: 10 });
    const first = c.submit('a');
    const good = c.submit('b');
    const bad = assert.rejects(c.submit('bad'), /no bad/);
    await r.releaseAll();
    assert.equal(await first, 'ok a');
    assert.equal(await good, 'ok b');
    await bad;

    const failing = new Coalescer<string, string>(
      async () => {
        throw new Error('database down');
      },
      { concurrency: 1, maxWeight: 10 },
    );
    const results = await Promise.allSettled([failing.submit('p'), failing.submit('q')]);
    assert.deepEqual(
      results.map((x) => x.status === 'rejected' && (x.reason as Error).message),
      ['database down', 'database down'],
    );
  });
});
