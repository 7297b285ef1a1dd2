import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  CommandArgs,
  checker,
  generateNodeKeyPair,
  isAcceptedMetric,
  metricKind,
  parseNodeTopic,
  privateKeyFromPem,
  publicKeyFromRaw,
  signRequest,
  TelemetryBatch,
  toEpochMs,
  topics,
  verifySignature,
} from '../src/index.ts';

describe('telemetry batch schema', () => {
  const check = checker(TelemetryBatch);
  it('accepts a well-formed batch with epoch and RFC 3339 timestamps', () => {
    const batch = {
      batchId: 'b-0000000001',
      samples: [
        { metric: 'solar_w', ts: 1_763_900_000_000, value: 1200 },
        { metric: 'grid_w', ts: '2025-11-23T14:00:00+01:00', value: -300, equipment: 'meter1' },
      ],
    };
    assert.equal(check.check(batch), true);
  });
  it('lists every problem at once', () => {
    const problems = check.problems({
      batchId: 'x',
      samples: [{ metric: 'Solar', ts: 'yesterday', value: 'a' }],
    });
    const paths = problems.map((p) => p.path);
    assert.ok(paths.includes('/batchId'), JSON.stringify(problems));
    assert.ok(
      paths.some((p) => p.startsWith('/samples/0/metric')),
      JSON.stringify(problems),
    );
    assert.ok(
      paths.some((p) => p.startsWith('/samples/0/value')),
      JSON.stringify(problems),
    );
    assert.ok(problems.length >= 3);
  });
  it('refuses more than 5000 samples', () => {
    const samples = Array.from({ length: 5001 }, (_, i) => ({
      metric: 'load_w',
      ts: 1_763_900_000_000 + i,
      value: 1,
    }));
    assert.equal(check.check({ batchId: 'b-0000000002', samples }), false);
  });
});

describe('metric catalogue', () => {
  it('accepts catalogue and x_ metrics only', () => {
    assert.equal(isAcceptedMetric('solar_w'), true);
    assert.equal(isAcceptedMetric('x_pool_pump_w'), true);
    assert.equal(isAcceptedMetric('pool_pump_w'), false);
    assert.equal(metricKind('grid_import_wh'), 'energy');
    assert.equal(metricKind('x_heat_pump_w'), 'power');
  });
});

describe('timestamps', () => {
  it('normalises offsets to UTC and refuses zone-less times', () => {
    assert.equal(toEpochMs('2025-03-30T02:30:00+02:00'), Date.UTC(2025, 2, 30, 0, 30));
    assert.equal(toEpochMs('2025-03-30T02:30:00'), undefined);
    assert.equal(toEpochMs(1.5), undefined);
  });
});

describe('topics', () => {
  it('builds and parses node topics', () => {
    assert.equal(topics.telemetry('n1'), 'nodes/n1/telemetry');
    assert.deepEqual(parseNodeTopic('nodes/n1/responses'), { nodeId: 'n1', channel: 'responses' });
    assert.equal(parseNodeTopic('nodes/n1/other'), undefined);
    assert.equal(parseNodeTopic('nodes/n1/telemetry/extra'), undefined);
  });
});

describe('command arguments', () => {
  it('refuses option-like tags and unknown keys', () => {
    const c = checker(CommandArgs.SELF_UPDATE);
    assert.equal(c.check({ tag: 'v1.2.3' }), true);
    assert.equal(c.check({ tag: '--upload-pack=evil' }), false);
    assert.equal(checker(CommandArgs.RELAY_SET).check({ equipment: 'r1', state: 'on', shell: 'x' }), false);
  });
});

describe('request signing', () => {
  const pair = generateNodeKeyPair();
  const priv = privateKeyFromPem(pair.privateKeyPem);
  const pub = publicKeyFromRaw(pair.publicKey);
  const body = Buffer.from('{"a":1}');
  it('verifies its own signature and refuses tampering', () => {
    const now = Date.now();
    const h = signRequest(priv, 'n', 'POST', '/api/v1/ingest/telemetry', body, now);
    assert.deepEqual(verifySignature(pub, 'POST', '/api/v1/ingest/telemetry', h, body, now + 40), {
      ok: true,
      offsetMs: -40,
    });
    const bad = verifySignature(pub, 'POST', '/api/v1/ingest/telemetry', h, Buffer.from('{"a":2}'));
    assert.equal(bad.ok, false);
    const wrongPath = verifySignature(pub, 'POST', '/api/v1/ingest/daily', h, body);
    assert.equal(wrongPath.ok, false);
  });
  it('refuses timestamps outside the window', () => {
    const now = Date.now();
    const h = signRequest(priv, 'n', 'POST', '/p', body, now - 6 * 60_000);
    const r = verifySignature(pub, 'POST', '/p', h, body, now);
    assert.equal(r.ok === false && r.reason, 'expired');
    // 'expired' says the signature itself is good (the node's clock is off), with the offset.
    assert.equal(r.ok === false && r.reason === 'expired' && r.offsetMs, -6 * 60_000);
    const forged = verifySignature(pub, 'POST', '/p', h, Buffer.from('{"a":2}'), now);
    assert.equal(forged.ok === false && forged.reason, 'invalid', 'a bad signature is never "expired"');
  });
});

describe('problem lists', () => {
  it('lists more than eight problems at once', () => {
    const samples = Array.from({ length: 20 }, () => ({ metric: 'solar_w', ts: 'never', value: 1 }));
    const problems = checker(TelemetryBatch).problems({ batchId: 'b-00000000', samples });
    const tsProblems = new Set(problems.filter((p) => p.path.endsWith('/ts')).map((p) => p.path));
    assert.equal(tsProblems.size, 20);
  });
});
