import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { generateNodeKeyPair, privateKeyFromPem } from '@wattfleet/protocol';
import { Outbox } from '../src/outbox/outbox.ts';
import { backoffDelay, parseRetryAfter } from '../src/uplink/backoff.ts';
import { CircuitBreaker } from '../src/uplink/breaker.ts';
import { HttpTransport } from '../src/uplink/http-transport.ts';
import { Uplink } from '../src/uplink/uplink.ts';
import { type Responder, startHubStandIn, stored } from './hub-standin.ts';

const dir = mkdtempSync(join(tmpdir(), 'wf-uplink-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const keys = generateNodeKeyPair();
let n = 0;

async function setup(responder: Responder, opts: Partial<ConstructorParameters<typeof Uplink>[2]> = {}) {
  const hub = await startHubStandIn(keys.publicKey, responder);
  const outbox = Outbox.open(join(dir, `u${n++}.db`), { maxBytes: 1 << 30 });
  const transport = new HttpTransport({
    hubUrl: hub.url,
    nodeId: 'node-1',
    key: privateKeyFromPem(keys.privateKeyPem),
  });
  const uplink = new Uplink(outbox, transport, {
    batchMaxSamples: 500,
    batchMaxAgeMs: 50,
    backoff: { baseMs: 50, maxMs: 200 },
    breaker: { threshold: 100 },
    ...opts,
  });
  return {
    hub,
    outbox,
    uplink,
    async close() {
      await uplink.stop();
      outbox.close();
      await hub.close();
    },
  };
}

const samples = (from: number, count: number) =>
  Array.from({ length: count }, (_, i) => ({
    metric: 'solar_w',
    ts: 1_700_000_000_000 + (from + i) * 1000,
    value: from + i,
  }));

async function until(cond: () => boolean, timeoutMs = 10_000) {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(10);
  }
}

describe('backoff and breaker', () => {
  it('grows exponentially with full jitter up to the cap', () => {
    assert.equal(
      backoffDelay(0, { baseMs: 100, maxMs: 1000 }, () => 1),
      100,
    );
    assert.equal(
      backoffDelay(3, { baseMs: 100, maxMs: 1000 }, () => 1),
      800,
    );
    assert.equal(
      backoffDelay(10, { baseMs: 100, maxMs: 1000 }, () => 1),
      1000,
    );
    assert.equal(
      backoffDelay(10, { baseMs: 100, maxMs: 1000 }, () => 0),
      0,
    );
  });
  it('reads Retry-After as seconds or as a date', () => {
    assert.equal(parseRetryAfter('3'), 3000);
    assert.equal(parseRetryAfter(new Date(10_000).toUTCString(), 4_000), 6000);
    assert.equal(parseRetryAfter(null), undefined);
  });
  it('opens after the threshold, half-opens after the cooldown, closes on success', () => {
    const b = new CircuitBreaker({ threshold: 2, cooldownMs: 1000 });
    b.failure(0);
    assert.equal(b.waitMs(0), 0);
    b.failure(0);
    assert.equal(b.state, 'open');
    assert.equal(b.waitMs(500), 500);
    assert.equal(b.waitMs(1000), 0);
    assert.equal(b.state, 'half-open');
    b.failure(1000);
    assert.equal(b.state, 'open', 'a failed trial reopens at once');
    b.waitMs(2000);
    b.success();
    assert.equal(b.state, 'closed');
  });
});

describe('uplink over HTTP (hub stand-in)', () => {
  it('sends signed gzip batches of at most 500 samples and deletes them when acknowledged', async () => {
    const t = await setup(stored);
    t.outbox.append(samples(0, 1200));
    t.uplink.start();
    await until(() => t.outbox.stats().depth === 0);
    const sizes = t.hub.received.map((r) => (r.json as { samples: unknown[] }).samples.length);
    assert.deepEqual(sizes, [500, 500, 200]);
    for (const r of t.hub.received) {
      assert.equal(r.path, '/api/v1/ingest/telemetry');
      assert.equal(r.headers['content-encoding'], 'gzip');
      assert.ok(r.signatureOk, 'signature covers the exact bytes sent');
    }
    assert.equal(t.outbox.stats().acked, 1200);
    await t.close();
  });

  it('retries 5xx and network errors with backoff, resending the same batch id', async () => {
    const t = await setup((r, i) => (i <= 3 ? { status: 503, body: { code: 'WF_UNAVAILABLE' } } : stored(r)));
    t.outbox.append(samples(0, 10));
    t.uplink.start();
    await until(() => t.outbox.stats().depth === 0);
    const ids = new Set(t.hub.received.map((r) => (r.json as { batchId: string }).batchId));
    assert.equal(t.hub.received.length, 4);
    assert.equal(ids.size, 1, 'every retry carries the original batch id');
    await t.close();
  });

  it('honours Retry-After on 429', async () => {
    const t = await setup((r, i) =>
      i === 1
        ? { status: 429, headers: { 'retry-after': '1' }, body: { code: 'WF_RATE_LIMITED' } }
        : stored(r),
    );
    t.outbox.append(samples(0, 10));
    t.uplink.start();
    await until(() => t.outbox.stats().depth === 0);
    const [first, second] = t.hub.received;
    assert.ok(second!.at - first!.at >= 950, `waited ${second!.at - first!.at} ms`);
    assert.equal(t.uplink.breakerState, 'closed', '429 does not count as the hub failing');
    await t.close();
  });

  it('moves a 400 batch aside once and carries on with the next', async () => {
    const t = await setup((r, i) =>
      i === 1
        ? { status: 400, body: { code: 'WF_UNKNOWN_METRIC', message: 'Unknown metric', problems: [] } }
        : stored(r),
    );
    t.outbox.append(samples(0, 500));
    t.outbox.append(samples(500, 5));
    t.uplink.start();
    await until(() => t.outbox.stats().depth === 0);
    await sleep(200);
    assert.equal(t.hub.received.length, 2, 'the poison batch is never retried');
    assert.equal(t.outbox.stats().poisoned, 500);
    assert.match(t.outbox.poisoned()[0]!.reason, /WF_UNKNOWN_METRIC/);
    assert.equal(t.uplink.status.poisonBatches, 1);
    await t.close();
  });

  it('opens the circuit breaker during an outage, then drains the backlog oldest-first with original timestamps', async () => {
    let down = true;
    const t = await setup((r) => (down ? { status: 502 } : stored(r)), {
      breaker: { threshold: 3, cooldownMs: 300 },
    });
    t.uplink.start();
    t.outbox.append(samples(0, 1500));
    await until(() => t.uplink.breakerState === 'open');
    const whileDown = t.hub.received.length;
    await sleep(150);
    assert.equal(t.hub.received.length, whileDown, 'no requests while the breaker is open');
    down = false;
    // New readings keep flowing while the backlog drains.
    const feeder = (async () => {
      for (let k = 0; k < 10; k++) {
        t.outbox.append(samples(1500 + k * 10, 10));
        await sleep(30);
      }
    })();
    await feeder;
    await until(() => t.outbox.stats().depth === 0);
    const delivered = t.hub.received
      .filter((r) => r.at > 0)
      .slice(whileDown)
      .flatMap((r) => (r.json as { samples: { ts: number; value: number }[] }).samples)
      .filter((s, i, all) => all.findIndex((x) => x.value === s.value) === i);
    assert.equal(delivered.length, 1600);
    assert.deepEqual(
      delivered.map((s) => s.value),
      Array.from({ length: 1600 }, (_, i) => i),
      'oldest first',
    );
    assert.ok(
      delivered.every((s) => s.ts === 1_700_000_000_000 + s.value * 1000),
      'original timestamps',
    );
    await t.close();
  });
});
