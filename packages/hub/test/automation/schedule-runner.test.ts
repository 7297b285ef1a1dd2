// The schedule runner on a real database (both engines) with a pinned clock: nothing here depends
// on the machine's time of day or zone. A Berlin site with four channels of one node (the node is
// not connected: each switch becomes a pending RELAY_SET, which is what the runner decides; the
// delivery path is covered by control.test.ts and scenes.test.ts). Covered: both DST days (02:30
// runs at 03:00 on the spring-forward day; once on the fall-back day), two runner instances
// ticking at once switch once, catch-up within the grace period, missed beyond it (run log, API
// and audit), priority on overlapping schedules (and the equal-priority tie rule), and a switch
// the switch path refuses (automation paused) recorded with its reason.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { InventoryChannel } from '@wattfleet/protocol';
import { applyInventory } from '../../src/automation/automation.repository.ts';
import { switchClock } from '../../src/automation/automation.safety.ts';
import { AutomationService } from '../../src/automation/automation.service.ts';
import { compareRank, ScheduleRunner, type TickSummary } from '../../src/automation/schedules/runner.ts';
import { scheduleClock } from '../../src/automation/schedules/schedules.plugin.ts';
import { ENGINES } from '../helpers/engines.ts';
import { createSite, type Fixture, startTestHub, type TestHub, TestNode } from '../helpers/hub.ts';

const MIN = 60_000;
const at = (iso: string) => Date.parse(iso);
const DAILY = { kind: 'weekly', weekdays: [1, 2, 3, 4, 5, 6, 7] } as const;

interface RunView {
  dueAt: string;
  outcome: string;
  state: string;
  edge: string;
  reason: string;
  errorCode: string | null;
  commandId: string | null;
  scheduleVersion: number;
}

for (const engine of ENGINES) {
  describe(`schedule runner on ${engine}`, () => {
    let hub: TestHub;
    let site: Fixture;
    let automation: AutomationService;
    const ch = new Map<string, string>(); // "ch1" → channel id
    /** The pinned "now" of the runners, the service (watermarks) and the safety limits. */
    let now = 0;
    const runner = () => new ScheduleRunner(hub.app.hub, automation, { now: () => now }, { error: () => {} });

    /** Creates a schedule as of instant `createdAt` (its watermark: nothing before it runs). */
    const schedule = async (createdAt: string, body: Record<string, unknown>) => {
      now = at(createdAt);
      const res = await hub.admin('POST', `/api/v1/sites/${site.siteId}/schedules`, body);
      assert.equal(res.statusCode, 201, res.body);
      return res.json() as { id: string; version: number; name: string };
    };
    const runs = async (id: string): Promise<RunView[]> => {
      const res = await hub.admin('GET', `/api/v1/schedules/${id}/runs`);
      assert.equal(res.statusCode, 200, res.body);
      return (res.json().items as RunView[]).reverse(); // oldest first
    };
    const channel = async (key: string) => (await hub.admin('GET', `/api/v1/channels/${ch.get(key)}`)).json();
    const disable = async (id: string) =>
      assert.equal((await hub.admin('PATCH', `/api/v1/schedules/${id}`, { enabled: false })).statusCode, 200);
    /** Ticks one runner every `stepMin` minutes from `from` through `to` (as the 15 s job would, coarser). */
    const tickThrough = async (from: string, to: string, stepMin = 15) => {
      const r = runner();
      const total: Partial<TickSummary> = {};
      for (let t = at(from); t <= at(to); t += stepMin * MIN) {
        now = t;
        const s = await r.tick();
        for (const [k, v] of Object.entries(s))
          total[k as keyof TickSummary] = (total[k as keyof TickSummary] ?? 0) + v;
      }
      return total;
    };
    const relaySets = async (key: string) => {
      const rows = await hub.app.hub.db
        .selectFrom('commands')
        .select(['id', 'args'])
        .where('type', '=', 'RELAY_SET')
        .execute();
      return rows.filter((r) => {
        const args = (typeof r.args === 'string' ? JSON.parse(r.args) : r.args) as { channel?: string };
        return args.channel === key;
      }).length;
    };

    before(async () => {
      hub = await startTestHub(engine);
      site = await createSite(hub, { timezone: 'Europe/Berlin', latitude: 52.52, longitude: 13.405 });
      const node = await TestNode.enroll(hub, site.siteId);
      const channels: InventoryChannel[] = ['ch1', 'ch2', 'ch3', 'ch4', 'ch5', 'ch6'].map((channel) => ({
        equipment: 'board',
        channel,
        kind: 'relay',
        capabilities: { switch: true, readBack: true },
        state: 'off',
      }));
      await applyInventory(hub.app.hub.db, { nodeId: node.nodeId, siteId: site.siteId }, channels);
      const list = (await hub.admin('GET', `/api/v1/sites/${site.siteId}/channels`)).json();
      for (const c of list.items as { channel: string; id: string }[]) ch.set(c.channel, c.id);
      assert.equal(ch.size, 6);
      automation = new AutomationService(hub.app.hub, () => hub.app.controlPlane.commands);
      scheduleClock.now = () => now;
      switchClock.now = () => now;
    });
    after(async () => {
      scheduleClock.now = () => Date.now();
      switchClock.now = () => Date.now();
      await hub?.close();
    });

    it('spring-forward day in Europe/Berlin: a 02:30 start runs at 03:00 CEST, once, with two runners ticking at once', async () => {
      // 2026-03-29: 02:00 CET → 03:00 CEST at 01:00 UTC.
      const s = await schedule('2026-03-28T23:00:00Z', {
        channelId: ch.get('ch1'),
        name: 'Night charge',
        priority: 1,
        rule: { days: DAILY, start: { at: '02:30' }, end: { at: '04:00' }, action: 'on' },
      });
      const occ = await hub.admin(
        'GET',
        `/api/v1/schedules/${s.id}/occurrences?count=3&from=2026-03-28T23:00:00Z`,
      );
      assert.equal(occ.statusCode, 200, occ.body);
      assert.deepEqual(
        (occ.json().items as { dueAt: string; local: string; state: string }[]).map((o) => [
          o.dueAt,
          o.local,
          o.state,
        ]),
        [
          ['2026-03-29T01:00:00.000Z', '2026-03-29 03:00', 'on'],
          ['2026-03-29T02:00:00.000Z', '2026-03-29 04:00', 'off'],
          ['2026-03-30T00:30:00.000Z', '2026-03-30 02:30', 'on'],
        ],
      );

      now = at('2026-03-29T00:59:59Z');
      assert.equal((await runner().tick()).done, 0, 'nothing before 03:00 CEST');
      now = at('2026-03-29T01:00:10Z');
      const [a, b] = await Promise.all([runner().tick(), runner().tick()]);
      assert.equal(a.done + b.done, 1, 'two runners, one switch');
      assert.equal(await relaySets('ch1'), 1);
      // Deterministically: a hub that read the schedule before the other advanced its watermark
      // (here: the watermark put back) finds the occurrence claimed and switches nothing.
      await hub.app.hub.db
        .updateTable('schedules')
        .set({ checked_until: new Date('2026-03-29T00:30:00Z') })
        .where('id', '=', s.id)
        .execute();
      assert.equal((await runner().tick()).done, 0);
      assert.equal(await relaySets('ch1'), 1);
      const [run] = await runs(s.id);
      assert.equal(run?.dueAt, '2026-03-29T01:00:00.000Z');
      assert.equal(run?.outcome, 'done');
      assert.equal(run?.state, 'on');
      assert.ok(run?.commandId);
      assert.match(run!.reason, /^window start 03:00 \(daily 02:30–04:00 on\)$/);
      const c = await channel('ch1');
      assert.equal(c.desiredState, 'on');
      assert.equal(c.desiredBy, 'schedule:Night charge');
      // The switch's audit entry names the schedule and version.
      const audit = await hub.admin('GET', `/api/v1/audit?action=equipment.switch&target=${ch.get('ch1')}`);
      const entry = (audit.json().items as { details: { automation?: Record<string, unknown> } }[])[0];
      assert.deepEqual(
        {
          kind: entry?.details.automation?.kind,
          id: entry?.details.automation?.id,
          version: entry?.details.automation?.version,
        },
        { kind: 'schedule', id: s.id, version: 1 },
      );
      // Ticking on through the window: the end at 04:00 CEST, and again nothing twice.
      await tickThrough('2026-03-29T01:15:00Z', '2026-03-29T03:00:00Z');
      assert.deepEqual(
        (await runs(s.id)).map((r) => [r.dueAt, r.state, r.outcome]),
        [
          ['2026-03-29T01:00:00.000Z', 'on', 'done'],
          ['2026-03-29T02:00:00.000Z', 'off', 'done'],
        ],
      );
      assert.equal(await relaySets('ch1'), 2);
      await disable(s.id);
    });

    it('fall-back day in Europe/Berlin: a 02:30 start runs once (at the first 02:30, CEST)', async () => {
      // 2026-10-25: 03:00 CEST → 02:00 CET at 01:00 UTC; 02:30 is 00:30 UTC and again 01:30 UTC.
      const s = await schedule('2026-10-24T21:00:00Z', {
        channelId: ch.get('ch2'),
        name: 'Pump',
        priority: 1,
        rule: { days: DAILY, start: { at: '02:30' }, action: 'on' },
      });
      // Every 5 minutes through the whole 25-hour local day.
      const total = await tickThrough('2026-10-24T22:00:00Z', '2026-10-25T23:00:00Z', 5);
      assert.equal(total.done, 1);
      assert.deepEqual(
        (await runs(s.id)).map((r) => [r.dueAt, r.outcome]),
        [['2026-10-25T00:30:00.000Z', 'done']],
      );
      assert.equal(await relaySets('ch2'), 1);
      await disable(s.id);
    });

    it('a hub that was down: caught up within the grace period, recorded as missed beyond it', async () => {
      // Monday 2026-05-04, CEST: 07:00 = 05:00 UTC.
      const caught = await schedule('2026-05-04T04:00:00Z', {
        channelId: ch.get('ch3'),
        name: 'Morning',
        priority: 1,
        graceMin: 10,
        rule: { days: { kind: 'weekly', weekdays: [1] }, start: { at: '07:00' }, action: 'on' },
      });
      const missed = await schedule('2026-05-04T04:00:00Z', {
        channelId: ch.get('ch4'),
        name: 'Morning too',
        priority: 1,
        graceMin: 10,
        rule: { days: { kind: 'weekly', weekdays: [1] }, start: { at: '06:50' }, action: 'on' },
      });
      // The hub was down from 04:00; it comes back at 05:08 UTC: 07:00 is 8 min late, 06:50 18 min.
      now = at('2026-05-04T05:08:00Z');
      const summary = await runner().tick();
      assert.equal(summary.done, 1);
      assert.equal(summary.missed, 1);
      const [c] = await runs(caught.id);
      assert.equal(c?.outcome, 'done');
      assert.match(c!.reason, /caught up 8 min late \(within the grace period of 10 min\)/);
      assert.equal((await channel('ch3')).desiredState, 'on');
      const [m] = await runs(missed.id);
      assert.equal(m?.outcome, 'missed');
      assert.equal(m?.commandId, null);
      assert.match(m!.reason, /18 min late is beyond the grace period of 10 min/);
      assert.equal(await relaySets('ch4'), 0, 'a missed action sends nothing');
      const audit = await hub.admin('GET', `/api/v1/audit?action=schedule.missed&target=${missed.id}`);
      const items = audit.json().items as { result: string; actorType: string; details: { dueAt: string } }[];
      assert.equal(items.length, 1);
      assert.equal(items[0]?.result, 'failed');
      assert.equal(items[0]?.actorType, 'system');
      assert.equal(items[0]?.details.dueAt, '2026-05-04T04:50:00.000Z');
      // Catch-up of several actions of one schedule: only the latest runs.
      const twice = await schedule('2026-05-05T03:00:00Z', {
        channelId: ch.get('ch5'),
        name: 'Short window',
        priority: 1,
        graceMin: 60,
        rule: { days: DAILY, start: { at: '06:00' }, end: { at: '06:20' }, action: 'on' },
      });
      now = at('2026-05-05T04:30:00Z'); // 06:30 CEST: start 30 min late, end 10 min late
      await runner().tick();
      assert.deepEqual(
        (await runs(twice.id)).map((r) => [r.edge, r.outcome]),
        [
          ['start', 'superseded'],
          ['end', 'done'],
        ],
      );
      for (const s of [caught, missed, twice]) await disable(s.id);
    });

    it('overlapping schedules on one channel: the higher priority wins; equal priority → the older one', async () => {
      // Thursday 2026-06-04, CEST (UTC+2). All on ch6.
      const low = await schedule('2026-06-04T04:00:00Z', {
        channelId: ch.get('ch6'),
        name: 'Low all morning',
        priority: 1,
        rule: { days: DAILY, start: { at: '08:00' }, end: { at: '11:00' }, action: 'on' },
      });
      const high = await schedule('2026-06-04T04:00:00Z', {
        channelId: ch.get('ch6'),
        name: 'High hold off',
        priority: 10,
        rule: { days: DAILY, start: { at: '09:00' }, end: { at: '10:00' }, action: 'off' },
      });
      const poke = await schedule('2026-06-04T04:00:00Z', {
        channelId: ch.get('ch6'),
        name: 'Poke',
        priority: 5,
        rule: { days: DAILY, start: { at: '09:30' }, action: 'on' },
      });
      // Equal priority 10 to "High hold off" but created later: "High hold off" outranks it.
      const tie = await schedule('2026-06-04T04:00:01Z', {
        channelId: ch.get('ch6'),
        name: 'Tie',
        priority: 10,
        rule: { days: DAILY, start: { at: '09:45' }, action: 'on' },
      });
      await tickThrough('2026-06-04T05:00:00Z', '2026-06-04T10:00:00Z', 5);
      const view = async (id: string) =>
        (await runs(id)).map((r) => [r.dueAt.slice(11, 16), r.edge, r.state, r.outcome]);
      assert.deepEqual(await view(low.id), [
        ['06:00', 'start', 'on', 'done'],
        ['09:00', 'end', 'off', 'done'],
      ]);
      assert.deepEqual(await view(high.id), [
        ['07:00', 'start', 'off', 'done'],
        // The window ends while "Low all morning" is still open: the channel goes back to its state.
        ['08:00', 'end', 'on', 'done'],
      ]);
      assert.deepEqual(await view(poke.id), [['07:30', 'once', 'on', 'skipped-overlap']]);
      assert.deepEqual(await view(tie.id), [['07:45', 'once', 'on', 'skipped-overlap']]);
      const [skipped] = await runs(tie.id);
      assert.match(
        skipped!.reason,
        /"High hold off" \(priority 10, v1\) holds the channel, its window 09:00–10:00 is open/,
      );
      const [end] = (await runs(high.id)).slice(-1);
      assert.match(end!.reason, /"Low all morning" \(priority 1, v1\) still has its window open → on/);
      assert.equal(await relaySets('ch6'), 4, 'skipped actions send nothing');
      for (const s of [low, high, poke, tie]) await disable(s.id);
    });

    it('the tie rule orders by priority, then creation, then id', () => {
      const t = new Date('2026-01-01T00:00:00Z');
      const later = new Date('2026-01-02T00:00:00Z');
      assert.ok(
        compareRank({ priority: 2, created_at: later, id: 'b' }, { priority: 1, created_at: t, id: 'a' }) < 0,
      );
      assert.ok(
        compareRank({ priority: 1, created_at: t, id: 'b' }, { priority: 1, created_at: later, id: 'a' }) < 0,
      );
      assert.ok(
        compareRank({ priority: 1, created_at: t, id: 'a' }, { priority: 1, created_at: t, id: 'b' }) < 0,
      );
    });

    it('a switch the switch path refuses (automation paused) is recorded with its reason and audited', async () => {
      const s = await schedule('2026-07-01T04:00:00Z', {
        channelId: ch.get('ch1'),
        name: 'While away',
        priority: 1,
        rule: { days: DAILY, start: { at: '07:00' }, action: 'on' },
      });
      const paused = await hub.admin('PUT', `/api/v1/sites/${site.siteId}/automation`, {
        paused: true,
        reason: 'holiday',
      });
      assert.equal(paused.statusCode, 200, paused.body);
      now = at('2026-07-01T05:00:05Z');
      const summary = await runner().tick();
      assert.equal(summary.refused, 1);
      const [run] = await runs(s.id);
      assert.equal(run?.outcome, 'refused');
      assert.equal(run?.errorCode, 'WF_CONFLICT');
      assert.match(run!.reason, /refused: Automation is paused on this site/);
      const audit = await hub.admin('GET', `/api/v1/audit?action=schedule.run&target=${s.id}`);
      const items = audit.json().items as { result: string; details: { limit?: string } }[];
      assert.equal(items[0]?.result, 'denied');
      assert.equal(items[0]?.details.limit, 'automation_paused');
      assert.equal(
        (await hub.admin('PUT', `/api/v1/sites/${site.siteId}/automation`, { paused: false })).statusCode,
        200,
      );
      // A refused run is not retried: the next tick has nothing to do.
      now = at('2026-07-01T05:01:05Z');
      assert.equal((await runner().tick()).done, 0);
      assert.equal((await runs(s.id)).length, 1);
      await disable(s.id);
      // A safety limit refuses too: ch5 must stay on for an hour, the window lasts 20 minutes.
      const limits = await hub.admin('PUT', `/api/v1/channels/${ch.get('ch5')}/limits`, {
        minOnS: 3600,
        minOffS: 0,
        maxSwitchesPerHour: null,
      });
      assert.equal(limits.statusCode, 200, limits.body);
      const short = await schedule('2026-07-01T07:00:00Z', {
        channelId: ch.get('ch5'),
        name: 'Too short',
        priority: 1,
        rule: { days: DAILY, start: { at: '10:00' }, end: { at: '10:20' }, action: 'on' },
      });
      await tickThrough('2026-07-01T07:55:00Z', '2026-07-01T08:30:00Z', 5);
      const [on, off] = await runs(short.id);
      assert.equal(on?.outcome, 'done');
      assert.equal(off?.outcome, 'refused');
      assert.match(off!.reason, /must stay on for at least 60 min/);
      const limitAudit = await hub.admin('GET', `/api/v1/audit?action=schedule.run&target=${short.id}`);
      const entry = (limitAudit.json().items as { details: { limit?: string; allowedAt?: string } }[])[0];
      assert.equal(entry?.details.limit, 'min_on');
      assert.equal(entry?.details.allowedAt, '2026-07-01T09:00:00.000Z');
      assert.equal((await channel('ch5')).desiredState, 'on', 'the refused end left it on');
      await disable(short.id);
    });
  });
}
