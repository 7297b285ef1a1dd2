// Staged rollouts on both engines: plan validation (rings, nodes), ring progression through the
// health gate and the ring wait, the automatic halt with the failed nodes and their reasons,
// pause/resume/abort, admin-only access with audit entries, and a restart mid-rollout (a new
// service on the same database carries on). No broker runs here: the agents' answers are fed to
// the real CommandService (applyNodeResponse, as the control plane does with a node's response),
// and a node's heartbeat (status, agent version) is set by hand with an UPDATE of its row; the
// job's clock is a test clock passed to the service, so the waits are stepped, never slept.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Actor } from '../../src/auth/actor.ts';
import { planRings } from '../../src/rollouts/rollouts.plan.ts';
import { RolloutService } from '../../src/rollouts/rollouts.service.ts';
import { ENGINES } from '../helpers/engines.ts';
import { createSite, startTestHub, type TestHub, TestNode } from '../helpers/hub.ts';

describe('planRings', () => {
  it('puts 1 canary, then 10 %, then everyone; drops rings that add nobody', () => {
    assert.deepEqual(planRings(20).ringOf, [0, 1, ...Array(18).fill(2)]);
    const three = planRings(3);
    assert.deepEqual(three.rings, [{ count: 1 }, { percent: 100 }]);
    assert.deepEqual(three.ringOf, [0, 1, 1]);
    assert.deepEqual(planRings(1).ringOf, [0]);
  });
  it('refuses shrinking rings and rings that never reach every node', () => {
    assert.throws(() => planRings(10, [{ percent: 50 }, { count: 2 }, { percent: 100 }]), /may not shrink/);
    assert.throws(() => planRings(10, [{ count: 1 }, { percent: 50 }]), /reach every selected node/);
  });
});

for (const engine of ENGINES) {
  describe(`rollouts on ${engine}`, () => {
    let hub: TestHub;
    let nodes: TestNode[];
    let clock = 1_800_000_000_000;
    const tokens = new Map<string, Actor>();
    const service = () =>
      new RolloutService(hub.app.hub, () => hub.app.controlPlane.commands, {
        now: () => clock,
        onlineGraceMs: 60_000,
      });
    let job: RolloutService;
    const commands = () => hub.app.controlPlane.commands;

    /** The agent's answers to its SELF_UPDATE (stand-in for the MQTT response path). */
    const answer = async (
      nodeId: string,
      commandId: string,
      ok: boolean | { code: string; message: string },
    ) => {
      const node = nodes.find((n) => n.nodeId === nodeId)!;
      await commands().applyNodeResponse(nodeId, node.siteId, {
        id: commandId,
        state: 'running',
        ts: clock,
      } as never);
      await commands().applyNodeResponse(nodeId, node.siteId, {
        id: commandId,
        state: ok === true ? 'succeeded' : 'failed',
        ts: clock,
        ...(ok === true
          ? { data: {} }
          : { error: ok === false ? { code: 'ROLLED_BACK', message: 'unhealthy' } : ok }),
      } as never);
    };
    /** Stand-in for the heartbeat the restarted agent sends: set by hand. */
    const heartbeat = (nodeId: string, version: string) =>
      hub.app.hub.db
        .updateTable('nodes')
        .set({ status: 'online', agent_version: version })
        .where('id', '=', nodeId)
        .execute();
    const detail = async (id: string) => (await hub.admin('GET', `/api/v1/rollouts/${id}`)).json();
    const create = async (body: Record<string, unknown>) => {
      const res = await hub.admin('POST', '/api/v1/rollouts', body);
      assert.equal(res.statusCode, 201, res.body);
      return res.json().rollout.id as string;
    };
    const nodeState = async (id: string) =>
      Object.fromEntries(
        (await detail(id)).nodes.map((n: { nodeId: string; state: string }) => [n.nodeId, n]),
      );

    before(async () => {
      hub = await startTestHub(engine);
      hub.app.bearerAuthenticators.push(async (token) => tokens.get(token));
      const site = await createSite(hub);
      nodes = [];
      for (let i = 0; i < 5; i++) nodes.push(await TestNode.enroll(hub, site.siteId));
      for (const n of nodes) await heartbeat(n.nodeId, '1.0.0');
      job = service();
    });
    after(() => hub.close());

    it('validates the plan: unknown nodes, rings, and an installer is refused (audited)', async () => {
      const bad = await hub.admin('POST', '/api/v1/rollouts', {
        tag: 'v2.0.0',
        nodeIds: [crypto.randomUUID()],
      });
      assert.equal(bad.statusCode, 400);
      assert.match(bad.body, /no such node/);
      const ring = await hub.admin('POST', '/api/v1/rollouts', {
        tag: 'v2.0.0',
        nodeIds: nodes.map((n) => n.nodeId),
        rings: [{ count: 1 }, { percent: 50 }],
      });
      assert.equal(ring.statusCode, 400);
      assert.match(ring.body, /reach every selected node/);
      const dashTag = await hub.admin('POST', '/api/v1/rollouts', {
        tag: '--upload-pack=x',
        nodeIds: [nodes[0]!.nodeId],
      });
      assert.equal(dashTag.statusCode, 400);
      tokens.set('installer', {
        kind: 'user',
        role: 'installer',
        orgId: crypto.randomUUID(),
        userId: crypto.randomUUID(),
      });
      const denied = await hub.app.inject({
        method: 'POST',
        url: '/api/v1/rollouts',
        headers: { authorization: 'Bearer installer' },
        payload: { tag: 'v2.0.0', nodeIds: [nodes[0]!.nodeId] },
      });
      assert.equal(denied.statusCode, 403);
      const audits = await hub.app.hub.db
        .selectFrom('audit_log')
        .select(['action', 'result'])
        .where('action', '=', 'rollout.create')
        .execute();
      assert.deepEqual(audits, [{ action: 'rollout.create', result: 'denied' }]);
    });

    it('progresses ring by ring through the health gate and the ring wait, across a restart', async () => {
      const ids = nodes.map((n) => n.nodeId);
      const id = await create({
        tag: 'v2.0.0',
        nodeIds: ids,
        rings: [{ count: 1 }, { percent: 60 }, { percent: 100 }],
        ringWaitS: 30,
        gateS: 60,
        maxFailureRate: 0.5,
      });
      const again = await hub.admin('POST', '/api/v1/rollouts', { tag: 'v2.0.0', nodeIds: [ids[4]] });
      assert.equal(again.statusCode, 409, 'a node is in one active rollout at a time');

      await job.tick();
      let s = await nodeState(id);
      assert.equal(s[ids[0]!].state, 'updating');
      assert.ok(
        ids.slice(1).every((n) => s[n].state === 'waiting'),
        'only the canary starts',
      );
      const cmd = await commands().find(s[ids[0]!].commandId);
      assert.deepEqual([cmd?.type, cmd?.args], ['SELF_UPDATE', { tag: 'v2.0.0' }]);

      await answer(ids[0]!, s[ids[0]!].commandId, true);
      await job.tick();
      assert.equal((await nodeState(id))[ids[0]!].state, 'verifying');
      await heartbeat(ids[0]!, '2.0.0');
      clock += 59_000;
      await job.tick();
      assert.equal((await nodeState(id))[ids[0]!].state, 'verifying', 'the gate lasts gateS');
      clock += 1_000;
      await job.tick(); // gate passed → succeeded; ring settled → its wait begins
      s = await nodeState(id);
      assert.equal(s[ids[0]!].state, 'succeeded');
      assert.equal(s[ids[1]!].state, 'waiting', 'the next ring waits ringWaitS');

      // The hub restarts: a new service on the same database carries on.
      job = service();
      clock += 30_000;
      await job.tick();
      s = await nodeState(id);
      assert.deepEqual(
        [s[ids[1]!].state, s[ids[2]!].state, s[ids[3]!].state],
        ['updating', 'updating', 'waiting'],
      );
      assert.equal((await detail(id)).rollout.currentRing, 1);

      // One of the two fails (50 %, not above the threshold): the ring goes on.
      await answer(ids[1]!, s[ids[1]!].commandId, true);
      await answer(ids[2]!, s[ids[2]!].commandId, {
        code: 'SELF_TEST_FAILED',
        message: 'config loader broken',
      });
      await heartbeat(ids[1]!, 'v2.0.0');
      await job.tick();
      clock += 60_000;
      await job.tick();
      clock += 30_000;
      await job.tick();
      s = await nodeState(id);
      assert.equal(s[ids[2]!].state, 'failed');
      assert.equal(s[ids[2]!].reason, 'SELF_TEST_FAILED: config loader broken');
      assert.deepEqual([s[ids[3]!].state, s[ids[4]!].state], ['updating', 'updating']);
      for (const n of ids.slice(3)) {
        await answer(n, s[n].commandId, true);
        await heartbeat(n, '2.0.0');
      }
      await job.tick();
      clock += 60_000;
      await job.tick();
      const d = await detail(id);
      assert.equal(d.rollout.state, 'completed');
      assert.deepEqual(
        d.ringSummary.map((r: { size: number; succeeded: number; failed: number }) => [
          r.size,
          r.succeeded,
          r.failed,
        ]),
        [
          [1, 1, 0],
          [2, 1, 1],
          [2, 2, 0],
        ],
      );
    });

    it('halts after a failed canary, skips the rest and says which node failed and why', async () => {
      const ids = nodes.map((n) => n.nodeId);
      const id = await create({ tag: 'v3.0.0', nodeIds: ids, ringWaitS: 0, gateS: 0 });
      await job.tick();
      const canary = (await nodeState(id))[ids[0]!];
      await answer(ids[0]!, canary.commandId, {
        code: 'ROLLED_BACK',
        message: 'outbox cannot open: schema too new',
      });
      await job.tick();
      const d = await detail(id);
      assert.equal(d.rollout.state, 'halted');
      assert.match(d.rollout.haltReason, /ring 1: 1 of 1 node\(s\) failed/);
      assert.match(d.rollout.haltReason, /ROLLED_BACK: outbox cannot open: schema too new/);
      assert.deepEqual(
        d.nodes.map((n: { state: string }) => n.state),
        ['failed', 'skipped', 'skipped', 'skipped', 'skipped'],
      );
      const sent = await hub.app.hub.db
        .selectFrom('commands')
        .select('node_id')
        .where('type', '=', 'SELF_UPDATE')
        .where('args', '@>', JSON.stringify({ tag: 'v3.0.0' }) as never)
        .execute();
      assert.deepEqual(
        sent.map((r) => r.node_id),
        [ids[0]],
        'no other node got the broken tag',
      );
      const halt = await hub.app.hub.db
        .selectFrom('audit_log')
        .select('result')
        .where('action', '=', 'rollout.halt')
        .execute();
      assert.deepEqual(halt, [{ result: 'failed' }]);
    });

    it('fails the gate on a new error event or a node that does not come back on the new version', async () => {
      const [a, b] = [nodes[0]!.nodeId, nodes[1]!.nodeId];
      const id = await create({
        tag: 'v4.0.0',
        nodeIds: [a, b],
        rings: [{ percent: 100 }],
        gateS: 10,
        maxFailureRate: 1,
      });
      await job.tick();
      const s = await nodeState(id);
      await answer(a, s[a].commandId, true);
      await answer(b, s[b].commandId, true);
      await job.tick();
      // Set by hand: an error event received after the update began (as ingest would store it).
      await hub.app.hub.db
        .insertInto('node_events')
        .values({
          node_id: a,
          site_id: nodes[0]!.siteId,
          ts: new Date(clock),
          kind: 'source.error',
          severity: 'error',
          message: 'modbus timeout',
          batch_id: 'b-1',
          received_at: new Date(clock),
        })
        .execute();
      await job.tick();
      assert.match(
        (await nodeState(id))[a].reason,
        /error event after update \(source\.error\): modbus timeout/,
      );
      clock += 10_000 + 60_000; // gate + grace, b never reported 4.0.0
      await job.tick();
      const d = await detail(id);
      assert.match(
        d.nodes.find((n: { nodeId: string }) => n.nodeId === b).reason,
        /not back online on v4\.0\.0/,
      );
      assert.equal(d.rollout.state, 'completed', 'maxFailureRate 1 never halts');
    });

    it('pauses (no new node starts), resumes and aborts, each audited', async () => {
      const ids = nodes.map((n) => n.nodeId);
      const id = await create({ tag: 'v5.0.0', nodeIds: ids, gateS: 0, ringWaitS: 0 });
      assert.equal((await hub.admin('POST', `/api/v1/rollouts/${id}/pause`)).statusCode, 200);
      await job.tick();
      assert.equal((await nodeState(id))[ids[0]!].state, 'waiting', 'paused: nothing starts');
      assert.equal((await hub.admin('POST', `/api/v1/rollouts/${id}/pause`)).statusCode, 409);
      assert.equal((await hub.admin('POST', `/api/v1/rollouts/${id}/resume`)).statusCode, 200);
      await job.tick();
      assert.equal((await nodeState(id))[ids[0]!].state, 'updating');
      const aborted = await hub.admin('POST', `/api/v1/rollouts/${id}/abort`);
      assert.equal(aborted.statusCode, 200);
      assert.deepEqual(
        aborted.json().nodes.map((n: { state: string }) => n.state),
        ['updating', 'skipped', 'skipped', 'skipped', 'skipped'],
      );
      // The canary in flight is still followed to its end.
      await answer(ids[0]!, (await nodeState(id))[ids[0]!].commandId, true);
      await heartbeat(ids[0]!, '5.0.0');
      await job.tick();
      await job.tick();
      assert.equal((await nodeState(id))[ids[0]!].state, 'succeeded');
      assert.equal((await detail(id)).rollout.state, 'aborted');
      const acts = await hub.app.hub.db
        .selectFrom('audit_log')
        .select('action')
        .where('target_id', '=', id)
        .orderBy('id')
        .execute();
      assert.deepEqual(
        acts.map((a) => a.action),
        ['rollout.create', 'rollout.pause', 'rollout.resume', 'rollout.abort'],
      );
      const list = await hub.admin('GET', '/api/v1/rollouts');
      assert.equal(list.json().items.length, 4);
    });
  });
}
