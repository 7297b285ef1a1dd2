// The hub's half of edge execution (issue 13.7) on both engines, with a protocol stand-in for the
// node (TestNode: signed HTTP, replies fed to the command service as the MQTT bridge would):
// who executes (an agent that runs bundles vs. an older one), the runner skipping node schedules,
// the bundle compiled, pushed, not repeated when unchanged; how a push ends (applied, rolled back:
// the node keeps what it runs; refused: the hub takes the new schedule back); executions reported
// by the node recorded once (a resent batch adds nothing), and ones a stopped hub stored but never
// read picked up by the sweep. The agent side is edge-automation*.test.ts in packages/edge.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  type AutomationBundle,
  AutomationBundle as BundleSchema,
  checker,
  EVENT_KINDS,
  type InventoryChannel,
} from '@wattfleet/protocol';
import { sql } from 'kysely';
import { applyInventory } from '../../src/automation/automation.repository.ts';
import { EdgeAutomationService } from '../../src/automation/edge/edge.service.ts';
import { runnableSchedules } from '../../src/automation/schedules/schedules.repository.ts';
import { ENGINES } from '../helpers/engines.ts';
import { batchId, createSite, type Fixture, startTestHub, type TestHub, TestNode } from '../helpers/hub.ts';

const checkBundle = checker(BundleSchema);

async function until<T>(
  what: string,
  get: () => Promise<T | undefined | false>,
  timeoutMs = 10_000,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await get();
    if (v) return v;
    if (Date.now() > end) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(50);
  }
}

for (const engine of ENGINES) {
  describe(`edge execution on the hub (${engine})`, () => {
    let hub: TestHub;
    let site: Fixture;
    let node: TestNode;
    const ch = new Map<string, string>();
    const db = () => hub.app.hub.db;
    const executor = async (id: string) =>
      (
        await db()
          .selectFrom('automation_executors')
          .select('node_id')
          .where('item_kind', '=', 'schedule')
          .where('item_id', '=', id)
          .executeTakeFirst()
      )?.node_id ?? null;
    const bundles = async () =>
      (
        await db()
          .selectFrom('automation_bundles')
          .select(['version', 'state', 'bundle', 'command_id', 'detail'])
          .where('node_id', '=', node.nodeId)
          .orderBy('version')
          .execute()
      ).map((b) => ({
        ...b,
        bundle: (typeof b.bundle === 'string' ? JSON.parse(b.bundle) : b.bundle) as AutomationBundle,
      }));
    const latest = (version: number) =>
      until(`bundle v${version}`, async () =>
        (await bundles()).find((b) => b.version === version && b.command_id),
      );
    const reply = async (
      commandId: string,
      state: 'succeeded' | 'failed',
      error?: { code: string; message: string },
    ) => {
      await hub.app.controlPlane.commands.applyNodeResponse(node.nodeId, site.siteId, {
        id: commandId,
        state,
        ts: Date.now(),
        ...(error ? { error } : {}),
      });
    };
    const create = async (channel: string, name: string, at: string) => {
      const res = await hub.admin('POST', `/api/v1/sites/${site.siteId}/schedules`, {
        channelId: ch.get(channel),
        name,
        priority: 10,
        rule: { days: { kind: 'weekly', weekdays: [1, 2, 3, 4, 5, 6, 7] }, start: { at }, action: 'on' },
      });
      assert.equal(res.statusCode, 201, res.body);
      return res.json().id as string;
    };

    before(async () => {
      hub = await startTestHub(engine);
      site = await createSite(hub, { timezone: 'Europe/Berlin' });
      node = await TestNode.enroll(hub, site.siteId);
      const channels: InventoryChannel[] = [
        {
          equipment: 'heater',
          channel: '',
          kind: 'relay',
          capabilities: { switch: true, readBack: true, edgeAutomation: true },
          state: 'off',
        },
        {
          equipment: 'pump',
          channel: '',
          kind: 'relay',
          capabilities: { switch: true, readBack: true },
          state: 'off',
        },
      ];
      await applyInventory(db(), { nodeId: node.nodeId, siteId: site.siteId }, channels);
      const list = (await hub.admin('GET', `/api/v1/sites/${site.siteId}/channels`)).json();
      for (const c of list.items as { equipment: string; id: string }[]) ch.set(c.equipment, c.id);
    });
    after(async () => hub?.close());

    let heaterId: string;
    it("gives a schedule to an agent that runs bundles, keeps an older agent's on the hub, and pushes the bundle once", async () => {
      heaterId = await create('heater', 'Heater', '07:00');
      const pumpId = await create('pump', 'Pump', '08:00');
      assert.equal(await executor(heaterId), node.nodeId);
      assert.equal(await executor(pumpId), null);
      const views = (await hub.admin('GET', `/api/v1/sites/${site.siteId}/schedules`)).json().items as {
        id: string;
        executorNodeId: string | null;
      }[];
      assert.deepEqual(
        views.map((v) => [v.id, v.executorNodeId]).sort(),
        [
          [heaterId, node.nodeId],
          [pumpId, null],
        ].sort(),
      );
      const runnable = (await runnableSchedules(db())).map((s) => s.id);
      assert.ok(!runnable.includes(heaterId), "the hub's runner skips the node's schedule");
      assert.ok(runnable.includes(pumpId));

      const v1 = await latest(1);
      assert.equal(v1.state, 'pending');
      assert.ok(checkBundle.check(v1.bundle), JSON.stringify(checkBundle.problems(v1.bundle)));
      assert.deepEqual(
        v1.bundle.schedules.map((s) => [s.id, s.executor, s.target.equipment, s.target.channel]),
        [[heaterId, node.nodeId, 'heater', '']],
      );
      assert.equal(v1.bundle.site.timezone, 'Europe/Berlin');
      const cmd = await db()
        .selectFrom('commands')
        .select(['type', 'args'])
        .where('id', '=', v1.command_id!)
        .executeTakeFirstOrThrow();
      assert.equal(cmd.type, 'AUTOMATION_PUSH');
      // Unchanged: the same bundle is not sent again.
      const edge = new EdgeAutomationService(hub.app.hub, () => hub.app.controlPlane.commands);
      assert.equal(await edge.refreshNode(node.nodeId), 1);
      assert.equal((await bundles()).length, 1);

      await reply(v1.command_id!, 'succeeded');
      await until('applied', async () => (await bundles())[0]!.state === 'applied');
      // The audit entry follows the state change (its own statement): wait for it, then count.
      const audited = async () =>
        (
          await sql<{ n: number }>`
        SELECT count(*)::int AS n FROM audit_log WHERE action = 'automation.bundle' AND result = 'ok' AND target_id = ${node.nodeId}`.execute(
            db(),
          )
        ).rows[0]!.n;
      await until('audited', async () => (await audited()) > 0);
      assert.equal(await audited(), 1);
    });

    it('a rolled-back push leaves the node its schedule (it runs the previous version); a refused one gives a new schedule back to the hub', async () => {
      const edit = await hub.admin('PATCH', `/api/v1/schedules/${heaterId}`, {
        rule: { days: { kind: 'weekly', weekdays: [1] }, start: { at: '07:30' }, action: 'on' },
      });
      assert.equal(edit.statusCode, 200, edit.body);
      const v2 = await latest(2);
      assert.equal(v2.bundle.schedules[0]?.version, 2);
      await reply(v2.command_id!, 'failed', {
        code: 'ROLLED_BACK',
        message: 'health check failed: heater: no answer; restored automation.json.bak (v1)',
      });
      await until('rolled back', async () => (await bundles())[1]!.state === 'rolled_back');
      assert.equal(await executor(heaterId), node.nodeId, 'the node still runs it (v1 of it)');

      const extraId = await create('heater', 'Heater evening', '19:00');
      assert.equal(await executor(extraId), node.nodeId);
      const v3 = await latest(3);
      await reply(v3.command_id!, 'failed', { code: 'WF_VALIDATION', message: 'bundle v3 refused' });
      await until('refused', async () => (await bundles())[2]!.state === 'refused');
      assert.equal(await executor(extraId), null, 'the node never took it: the hub runs it');
      assert.equal(await executor(heaterId), node.nodeId);
      assert.ok((await runnableSchedules(db())).some((s) => s.id === extraId));
      const moved = await sql<{ n: number }>`
        SELECT count(*)::int AS n FROM audit_log WHERE action = 'schedule.executor' AND target_id = ${extraId}`.execute(
        db(),
      );
      assert.equal(moved.rows[0]!.n, 1);
    });

    it("records the node's executions once, and picks up ones a stopped hub stored but never read", async () => {
      const dueAt = Date.now() - 60_000;
      const execution = (due: number) => ({
        ts: Date.now(),
        kind: EVENT_KINDS.automationExecution,
        severity: 'info',
        equipment: 'heater',
        message: 'schedule "Heater" v2: done',
        data: {
          source: 'schedule',
          id: heaterId,
          version: 2,
          bundleVersion: 1,
          dueAt: due,
          ranAt: due + 2000,
          edge: 'once',
          channelId: ch.get('heater'),
          equipment: 'heater',
          channel: '',
          state: 'on',
          outcome: 'done',
          reason: 'scheduled 07:30 (Mon 07:30 on); run by the node',
          confirmed: 'on',
        },
      });
      const send = async (due: number) => {
        const res = await node.send('/api/v1/ingest/events', {
          batchId: batchId('ev'),
          events: [execution(due)],
        });
        assert.equal(res.statusCode, 200, res.body);
      };
      const runs = async () =>
        (await hub.admin('GET', `/api/v1/schedules/${heaterId}/runs`)).json().items as {
          dueAt: string;
          outcome: string;
          reason: string;
          executedBy: string | null;
        }[];
      await send(dueAt);
      const first = await until('run recorded', async () => {
        const r = await runs();
        return r.length > 0 && r;
      });
      assert.equal(first[0]!.outcome, 'done');
      assert.equal(first[0]!.executedBy, node.nodeId);
      assert.equal(first[0]!.dueAt, new Date(dueAt).toISOString());
      assert.match(first[0]!.reason, new RegExp(`run by the node \\(node ${node.nodeId}, bundle v1\\)`));
      const channel = (await hub.admin('GET', `/api/v1/channels/${ch.get('heater')}`)).json();
      assert.equal(channel.desiredBy, 'schedule:Heater');
      assert.equal(channel.reportedState, 'on');
      const switches = await sql<{ n: number }>`
        SELECT count(*)::int AS n FROM equipment_switch_log WHERE channel_id = ${ch.get('heater')!} AND origin = 'schedule'`.execute(
        db(),
      );
      assert.equal(switches.rows[0]!.n, 1, 'the hub limits count the node switch');

      await send(dueAt); // the same execution again, in a new batch
      await sleep(500);
      assert.equal((await runs()).length, 1, 'once');

      // Stored without the live path reading it (the hub stopped in between): the sweep records it.
      const later = dueAt - 86_400_000;
      const e = execution(later);
      await db()
        .insertInto('node_events')
        .values({
          node_id: node.nodeId,
          site_id: site.siteId,
          ts: new Date(e.ts),
          kind: e.kind,
          severity: 'info',
          equipment: 'heater',
          message: e.message,
          data: JSON.stringify(e.data),
          batch_id: batchId('stored'),
        })
        .execute();
      const sweeper = new EdgeAutomationService(
        hub.app.hub,
        () => hub.app.controlPlane.commands,
        console,
        () => Date.now() + 60_000,
      );
      assert.equal(await sweeper.sweep(), 1);
      assert.equal(await sweeper.sweep(), 0, 'nothing twice');
      assert.equal((await runs()).length, 2);
    });
  });
}
