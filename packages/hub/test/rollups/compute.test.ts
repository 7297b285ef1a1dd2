import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { computeBucket, type Point } from '../../src/rollups/compute.ts';
import { spannedBuckets } from '../../src/rollups/spans.ts';

const S = 1000;
const H = 3_600_000;
const series = (pairs: [number, number][]): Point[] => pairs.map(([t, v]) => ({ ts: t * S, value: v }));

describe('bucket computation (hand-computed references)', () => {
  it('integrates constant power exactly: 1 kW for one hour is 1000 Wh', () => {
    const pts = Array.from({ length: 361 }, (_, i) => ({ ts: i * 10 * S, value: 1000 }));
    const b = computeBucket(pts, 0, H, 'power', 900 * S)!;
    assert.ok(Math.abs(b.energyWh! - 1000) < 1e-9, String(b.energyWh));
    assert.equal(b.count, 360); // the point at 3600 s belongs to the next hour
    assert.equal(b.sum / b.count, 1000);
  });

  it('integrates a triangle exactly (linear interpolation): peak 1800 W over an hour is 900 Wh', () => {
    const b = computeBucket(
      series([
        [0, 0],
        [1800, 1800],
        [3600, 0],
      ]),
      0,
      H,
      'power',
      3600 * S,
    )!;
    assert.equal(b.energyWh, 900);
    assert.equal(b.max, 1800);
    assert.equal(b.min, 0);
  });

  it('splits an interval that crosses the bucket edge', () => {
    // 1000 W from 3590 s to 3610 s: 10 s fall in the first hour = 2.777… Wh.
    const pts = series([
      [3000, 1000],
      [3590, 1000],
      [3610, 1000],
    ]);
    const first = computeBucket(pts, 0, H, 'power', 900 * S)!;
    assert.ok(Math.abs(first.energyWh! - (1000 * 600) / 3600) < 1e-9);
    const second = computeBucket(pts, H, 2 * H, 'power', 900 * S)!;
    assert.ok(Math.abs(second.energyWh! - (1000 * 10) / 3600) < 1e-9);
  });

  it('does not integrate across a gap longer than the limit', () => {
    const b = computeBucket(
      series([
        [0, 1000],
        [60, 1000],
        [2000, 1000],
        [2060, 1000],
      ]),
      0,
      H,
      'power',
      900 * S,
    )!;
    assert.ok(Math.abs(b.energyWh! - (2 * 1000 * 60) / 3600) < 1e-9);
  });

  it('treats a counter going backwards as a reset, not negative energy', () => {
    // 100 → 200 → 300, reset, 50 → 150: 100 + 100 + 50 + 100 = 350 Wh.
    const b = computeBucket(
      series([
        [0, 100],
        [900, 200],
        [1800, 300],
        [2700, 50],
        [3599, 150],
      ]),
      0,
      H,
      'energy',
      Infinity,
    )!;
    assert.equal(b.energyWh, 350);
    assert.equal(b.resets, 1);
  });

  it('keeps gauges as statistics without energy', () => {
    const b = computeBucket(
      series([
        [0, 229],
        [60, 231],
        [120, 233],
      ]),
      0,
      H,
      'gauge',
      900 * S,
    )!;
    assert.deepEqual(
      { count: b.count, min: b.min, max: b.max, first: b.first, last: b.last, energy: b.energyWh },
      { count: 3, min: 229, max: 233, first: 229, last: 233, energy: null },
    );
  });

  it('returns nothing for a bucket without points', () => {
    assert.equal(computeBucket(series([[0, 1]]), H, 2 * H, 'power', 900 * S), undefined);
  });

  it('gives a bucket without readings its share of a counter interval that spans it', () => {
    // Read at 09:59 (1000 Wh) and 11:00 (1610 Wh): 10 Wh a minute, 600 of them in 10–11.
    const pts = series([
      [(9 * 60 + 59) * 60, 1000],
      [11 * 3600, 1610],
    ]);
    const b = computeBucket(pts, 10 * H, 11 * H, 'energy', Number.POSITIVE_INFINITY)!;
    assert.deepEqual(
      { count: b.count, min: b.min, first: b.first, firstTs: b.firstTs, energy: b.energyWh },
      { count: 0, min: null, first: null, firstTs: null, energy: 600 },
    );
    // Power across a gap longer than the limit carries nothing, so the bucket stays absent.
    assert.equal(computeBucket(pts, 10 * H, 11 * H, 'power', 900 * S), undefined);
  });

  it('widens a dirty hour to every hour the intervals touching it span', () => {
    const hourAt = (ms: number) => {
      const start = Math.floor(ms / H) * H;
      return { start, end: start + H };
    };
    // Readings at 07:30, 09:59 and 15:59; the 15:59 one is new, so hour 15 is dirty.
    const pts = series([
      [7.5 * 3600, 1],
      [(9 * 60 + 59) * 60, 2],
      [(15 * 60 + 59) * 60, 3],
    ]);
    const hours = (kind: 'energy' | 'power' | 'gauge', gap: number) =>
      spannedBuckets(pts, [hourAt(15 * H)], kind, gap, hourAt).map((b) => b.start / H);
    assert.deepEqual(hours('energy', Number.POSITIVE_INFINITY), [9, 10, 11, 12, 13, 14, 15]);
    assert.deepEqual(hours('power', 900 * S), [15]);
    assert.deepEqual(hours('gauge', 900 * S), [15]);
    // A reading exactly on the hour changes the hour before it alone.
    const sharp = series([
      [10.5 * 3600, 1],
      [11 * 3600, 2],
    ]);
    assert.deepEqual(
      spannedBuckets(sharp, [hourAt(11 * H)], 'power', 3600 * S, hourAt).map((b) => b.start / H),
      [10, 11],
    );
  });
});
