// A node whose clock is outside the ±5 min signature window: its signed requests are refused (as
// before) but answered with the hub's time, recorded on the node and raised as a clock_skew
// alert, which the first request inside the window clears. Forged requests record nothing. Drift
// inside the window is measured on signed HTTP too (clock_drift). On both engines.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { HUB_TIME_HEADER } from '@wattfleet/protocol';
import { evaluateSite } from '../../src/alerts/alert-engine.ts';
import { ENGINES } from '../helpers/engines.ts';
import { batchId, createSite, startTestHub, type TestHub, TestNode } from '../helpers/hub.ts';

for (const engine of ENGINES) {
  describe(`clock skew on signed HTTP on ${engine}`, () => {
    let hub: TestHub;
    let siteId: string;
    const batch = () => ({
      batchId: batchId('k'),
      samples: [{ metric: 'load_w', ts: Date.now() - 1000, value: 1 }],
    });
    const alerts = async (rule: string) => {
      await evaluateSite(hub.app.hub, siteId, { rules: [rule] });
      const res = await hub.admin('GET', `/api/v1/alerts?siteId=${siteId}&rule=${rule}`);
      assert.equal(res.statusCode, 200, res.body);
      return res.json() as { state: string; target_id: string; message: string }[];
    };
    const node = async (id: string) =>
      (await hub.admin('GET', `/api/v1/nodes/${id}`)).json() as { clock_offset_ms: number | null };

    before(async () => {
      hub = await startTestHub(engine);
      siteId = (await createSite(hub)).siteId;
    });
    after(() => hub?.close());

    it('refuses a request 10 min late, answers with the hub time, and opens clock_skew', async () => {
      const n = await TestNode.enroll(hub, siteId);
      const before = Date.now();
      const res = await n.send('/api/v1/ingest/telemetry', batch(), { now: Date.now() - 10 * 60_000 });
      assert.equal(res.statusCode, 401, res.body);
      const body = res.json();
      assert.equal(body.code, 'WF_SIGNATURE_EXPIRED');
      assert.ok(body.hubTime >= before && body.hubTime <= Date.now(), 'the hub says its time');
      assert.ok(Math.abs(body.offsetMs + 600_000) < 5_000, `offset ${body.offsetMs}`);
      assert.ok(Number(res.headers[HUB_TIME_HEADER]) >= before, 'and in the header, as on every answer');
      const open = await alerts('clock_skew');
      assert.deepEqual(
        open.map((a) => [a.target_id, a.state]),
        [[n.nodeId, 'open']],
      );
      assert.match(open[0]!.message, /-60\d s off/);
      assert.ok(Math.abs(((await node(n.nodeId)).clock_offset_ms ?? 0) + 600_000) < 5_000);

      // Fixed clock: the next request goes through and clears the alert.
      const ok = await n.send('/api/v1/ingest/telemetry', batch());
      assert.equal(ok.statusCode, 200, ok.body);
      assert.ok(Number(ok.headers[HUB_TIME_HEADER]) > 0);
      const after = await alerts('clock_skew');
      assert.deepEqual(
        after.map((a) => a.state),
        ['resolved'],
      );
      assert.ok(Math.abs((await node(n.nodeId)).clock_offset_ms ?? 1e9) < 5_000, 'offset measured again');
    });

    it('a forged request with an old timestamp is refused as invalid and records nothing', async () => {
      const n = await TestNode.enroll(hub, siteId);
      const res = await n.send('/api/v1/ingest/telemetry', batch(), {
        now: Date.now() - 10 * 60_000,
        headers: { 'x-wf-signature': Buffer.alloc(64).toString('base64') },
      });
      assert.equal(res.statusCode, 401);
      assert.equal(res.json().code, 'WF_SIGNATURE_INVALID');
      assert.equal((await node(n.nodeId)).clock_offset_ms, null);
      assert.equal(
        (await alerts('clock_skew')).filter((a) => a.target_id === n.nodeId).length,
        0,
        'no alert for a request nobody can prove came from the node',
      );
    });

    it('drift inside the window is measured on signed HTTP and raises clock_drift', async () => {
      const n = await TestNode.enroll(hub, siteId);
      const res = await n.send('/api/v1/ingest/telemetry', batch(), { now: Date.now() - 2 * 60_000 });
      assert.equal(res.statusCode, 200, res.body);
      const offset = (await node(n.nodeId)).clock_offset_ms ?? 0;
      assert.ok(Math.abs(offset + 120_000) < 5_000, `offset ${offset}`);
      const drift = (await alerts('clock_drift')).filter((a) => a.target_id === n.nodeId);
      assert.deepEqual(
        drift.map((a) => a.state),
        ['open'],
      );
    });
  });
}
