// Edge execution on the agent (issue 13.7), without a hub: the bundle check lists every problem
// at once, AUTOMATION_PUSH keeps the previous bundle for a bad one and rolls back one that fails
// its health check, and the edge runner switches on its own (pinned) clock in the site's zone,
// catches up after a restart within the grace period, applies the safety limits and the pause,
// and records every occurrence it handled as an `automation.execution` event in the outbox.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  type AutomationBundle,
  type AutomationExecution,
  type BundleSchedule,
  EVENT_KINDS,
} from '@wattfleet/protocol';
import { BundleStore, bundleProblems } from '../src/automation/bundle.ts';
import { EdgeAutomation } from '../src/automation/runner.ts';
import { automationPushHandler } from '../src/control/handlers/automation-push.ts';
import { EventJournal } from '../src/events/journal.ts';
import { AgentState } from '../src/outbox/agent-state.ts';
import { Outbox } from '../src/outbox/outbox.ts';
import { ReportQueue } from '../src/outbox/reports.ts';
import type { EquipmentInfo, Reading, RelayState, Source } from '../src/sources/types.ts';
import { dir, envelope, harness } from './helpers/dispatch-harness.ts';

const NODE = '00000000-0000-4000-8000-0000000000aa';
const CH = '10000000-0000-4000-8000-000000000001';
const S1 = '20000000-0000-4000-8000-000000000001';
const S2 = '20000000-0000-4000-8000-000000000002';
const TZ = 'Europe/Berlin';
// 2026-06-10 (a Wednesday) 07:00 CEST = 05:00 UTC.
const T0700 = Date.UTC(2026, 5, 10, 5, 0);

class FakeRelay implements Source {
  readonly type = 'fake';
  state: RelayState = 'off';
  broken = false;
  stuck = false;
  writes: RelayState[] = [];
  constructor(readonly key: string) {}
  info(): EquipmentInfo {
    return { key: this.key, kind: 'relay' };
  }
  async read(_now: number): Promise<Reading[]> {
    return [];
  }
  async getRelay(): Promise<RelayState> {
    if (this.broken) throw new Error('no answer');
    return this.state;
  }
  async setRelay(s: RelayState): Promise<RelayState> {
    this.writes.push(s);
    if (!this.stuck) this.state = s;
    return this.state;
  }
}

const schedule = (over: Partial<BundleSchedule> = {}): BundleSchedule => ({
  id: S1,
  version: 1,
  name: 'Heater mornings',
  executor: NODE,
  priority: 100,
  createdAt: T0700 - 30 * 86_400_000,
  rule: {
    days: { kind: 'weekly', weekdays: [1, 2, 3, 4, 5] },
    start: { at: '07:00' },
    end: { at: '08:00' },
    action: 'on',
  },
  validFrom: null,
  validUntil: null,
  exceptDates: [],
  graceMin: 10,
  activeFrom: T0700 - 60_000,
  target: {
    channelId: CH,
    equipment: 'heater',
    channel: '',
    limits: { minOnS: 0, minOffS: 0, maxSwitchesPerHour: null },
  },
  ...over,
});
const bundle = (
  version: number,
  schedules: BundleSchedule[] = [schedule()],
  paused = false,
): AutomationBundle => ({
  version,
  generatedAt: T0700 - 86_400_000,
  nodeId: NODE,
  site: { timezone: TZ, latitude: 52.5, longitude: 13.4, paused },
  schedules,
  rules: [],
});

let n = 0;
function rig() {
  const outbox = Outbox.open(join(dir, `edge-auto-${n++}.db`), { maxBytes: 1 << 30 });
  const clock = {
    t: T0700,
    now() {
      return this.t;
    },
  };
  const queue = new ReportQueue(outbox.db, 'events');
  const journal = new EventJournal(queue, clock);
  const state = new AgentState(outbox.db);
  const heater = new FakeRelay('heater');
  const sources = new Map<string, Source>([['heater', heater]]);
  const make = () =>
    new EdgeAutomation({ clock, state: () => state, sources: () => sources, journal: () => journal });
  const executions = (): AutomationExecution[] => {
    const rows = outbox.db
      .prepare("SELECT item FROM reports WHERE channel = 'events' ORDER BY seq")
      .all() as { item: string }[];
    return rows
      .map((r) => JSON.parse(r.item) as { kind: string; data: AutomationExecution })
      .filter((e) => e.kind === EVENT_KINDS.automationExecution)
      .map((e) => e.data);
  };
  return { outbox, clock, heater, sources, make, executions };
}

describe('automation bundle check', () => {
  it('lists every schema problem of a bad bundle at once', () => {
    const bad = {
      ...bundle(1),
      version: 0,
      schedules: [{ ...schedule(), rule: { ...schedule().rule, start: { at: '25:00' } }, graceMin: -1 }],
      extra: true,
    };
    const problems = bundleProblems(bad, NODE, new Map());
    const paths = problems.map((p) => p.path);
    for (const p of ['/version', '/schedules/0/graceMin', '/schedules/0/rule/start'])
      assert.ok(
        paths.some((x) => x.startsWith(p)),
        `${p} in ${paths.join(', ')}`,
      );
    assert.ok(
      problems.some((p) => /additional|extra/i.test(`${p.path} ${p.message}`)),
      JSON.stringify(problems),
    );
  });

  it("lists every problem only the node can see at once: another node's bundle, unknown zone, equipment, executor, rules", () => {
    const r = rig();
    const b = {
      ...bundle(1, [
        schedule(),
        schedule({
          id: S2,
          executor: '00000000-0000-4000-8000-0000000000bb',
          target: { ...schedule().target, equipment: 'pump' },
        }),
        schedule(),
      ]),
      nodeId: '00000000-0000-4000-8000-0000000000bb',
      site: { timezone: 'Mars/Olympus', latitude: null, longitude: null, paused: false },
      rules: [
        {
          id: S2,
          version: 1,
          name: 'r',
          executor: NODE,
          trigger: { metric: 'grid_w', op: 'below' as const, threshold: -2000, forS: 60, hysteresis: 100 },
          actions: [{ target: schedule().target, state: 'on' as const }],
        },
      ],
    };
    const problems = bundleProblems(b, NODE, r.sources, '/args/bundle');
    const byPath = problems.map((p) => `${p.path}: ${p.message}`);
    assert.deepEqual(byPath, [
      '/args/bundle/nodeId: The bundle is for node 00000000-0000-4000-8000-0000000000bb, not this one',
      '/args/bundle/site/timezone: Unknown time zone "Mars/Olympus"',
      '/args/bundle/schedules/1/executor: Executed by another node: not in this bundle',
      '/args/bundle/schedules/1/target/equipment: No equipment "pump" on this node',
      '/args/bundle/schedules/2/id: The same schedule appears twice',
      '/args/bundle/rules/0: This agent does not execute rules yet',
    ]);
    r.outbox.close();
  });
});

describe('AUTOMATION_PUSH', () => {
  it('applies a good bundle, keeps it for a bad one, rolls back one that fails its health check, refuses an older one', async () => {
    const r = rig();
    const store = new BundleStore(join(dir, `automation-${n}.json`));
    const runner = r.make();
    runner.load(store.load());
    const events: string[] = [];
    const handler = automationPushHandler({
      store: () => store,
      nodeId: () => NODE,
      current: () => runner.bundle,
      problems: (b) => bundleProblems(b, NODE, r.sources, '/args/bundle'),
      load: (b) => runner.load(b),
      healthCheck: async () =>
        r.heater.broken ? { ok: false, detail: 'heater: no answer' } : { ok: true, detail: 'heater answers' },
      applied: (b) => events.push(`applied v${b.version}`),
      rolledBack: (b, d) => events.push(`rolled back v${b.version}: ${d}`),
    });
    const h = harness({ AUTOMATION_PUSH: handler });
    const push = async (args: unknown) => {
      const env = envelope('AUTOMATION_PUSH', args as Record<string, unknown>);
      await h.dispatcher.handle(env);
      await h.dispatcher.idle();
      return h.replies.filter((x) => x.id === env.id).at(-1)!;
    };

    const ok = await push({ bundle: bundle(1) });
    assert.equal(ok.state, 'succeeded', JSON.stringify(ok));
    assert.deepEqual(ok.data, { version: 1, schedules: 1, rules: 0, health: 'heater answers' });
    assert.equal(runner.bundle?.version, 1);

    // Invalid: refused with every problem (the schema's, in the dispatcher; the node's, in the
    // handler), nothing written, v1 still running.
    const bad = await push({
      bundle: { ...bundle(2), nodeId: 'not-a-uuid', schedules: [schedule({ graceMin: 5000 })] },
    });
    assert.equal(bad.state, 'failed');
    assert.equal(bad.error?.code, 'WF_VALIDATION');
    assert.match(
      bad.error?.message ?? '',
      /\/args\/bundle\/nodeId: .*\/args\/bundle\/schedules\/0\/graceMin: /,
    );
    const alien = await push({
      bundle: bundle(2, [
        schedule({ target: { ...schedule().target, equipment: 'pump' } }),
        schedule({ id: S2, executor: CH }),
      ]),
    });
    assert.equal(alien.error?.code, 'WF_VALIDATION');
    assert.deepEqual(
      (alien.data as { problems: { path: string }[] }).problems.map((p) => p.path),
      ['/args/bundle/schedules/0/target/equipment', '/args/bundle/schedules/1/executor'],
    );
    assert.equal(runner.bundle?.version, 1);
    assert.equal(store.load()?.version, 1);

    // Valid but unhealthy: written, loaded, checked, rolled back to v1 (file and runner).
    r.heater.broken = true;
    const sick = await push({ bundle: bundle(3, [schedule({ version: 2 })]) });
    assert.equal(sick.state, 'failed');
    assert.equal(sick.error?.code, 'ROLLED_BACK');
    assert.match(
      sick.error?.message ?? '',
      /health check failed: heater: no answer; restored automation.json.bak \(v1\)/,
    );
    assert.equal(runner.bundle?.version, 1);
    assert.equal(store.load()?.version, 1);
    r.heater.broken = false;

    const newer = await push({ bundle: bundle(4, [schedule({ version: 3 })]) });
    assert.equal(newer.state, 'succeeded');
    assert.equal(
      JSON.parse(readFileSync(`${store.path}.bak`, 'utf8')).version,
      1,
      'the previous bundle is the backup',
    );
    const stale = await push({ bundle: bundle(2) });
    assert.equal(stale.error?.code, 'STALE_BUNDLE');
    assert.equal(runner.bundle?.version, 4);
    assert.deepEqual(events, [
      'applied v1',
      'rolled back v3: health check failed: heater: no answer; restored automation.json.bak (v1)',
      'applied v4',
    ]);
    assert.ok(existsSync(store.path));
    h.outbox.close();
    r.outbox.close();
  });
});

describe('edge schedule runner', () => {
  it("switches at the site's wall time on its own clock, records it, and never repeats it after a restart", async () => {
    const r = rig();
    const a = r.make();
    a.load(bundle(1));
    r.clock.t = T0700 - 5000;
    assert.deepEqual(await a.tick(), [], 'not before it is due');
    r.clock.t = T0700 + 3000;
    const [run] = await a.tick();
    assert.equal(run?.outcome, 'done');
    assert.equal(run?.dueAt, T0700);
    assert.equal(run?.edge, 'start');
    assert.equal(run?.confirmed, 'on');
    assert.match(run!.reason, /^window start 07:00 \(Mon–Fri 07:00–08:00 on\); run by the node$/);
    assert.equal(r.heater.state, 'on');
    // A restart (a new runner on the same state file) does not run it again.
    const b = r.make();
    b.load(bundle(1));
    r.clock.t = T0700 + 30_000;
    assert.deepEqual(await b.tick(), []);
    assert.deepEqual(r.heater.writes, ['on']);
    assert.equal(r.executions().length, 1);
    assert.deepEqual(r.executions()[0], run);
    r.outbox.close();
  });

  it('catches up within the grace period after downtime, and records what is beyond it as missed', async () => {
    const r = rig();
    const a = r.make();
    // Window 07:00–07:05, grace 10 min: down from 06:59 to 07:12 → start missed (12 min late), end run.
    a.load(bundle(1, [schedule({ rule: { ...schedule().rule, end: { at: '07:05' } } })]));
    r.clock.t = T0700 - 60_000;
    await a.tick();
    // The agent was stopped: a new runner on the same state file.
    r.clock.t = T0700 + 12 * 60_000;
    const b = r.make();
    b.load(a.bundle);
    const runs = await b.tick();
    assert.deepEqual(
      runs.map((x) => [x.edge, x.outcome]),
      [
        ['start', 'missed'],
        ['end', 'done'],
      ],
    );
    assert.match(runs[0]!.reason, /12 min late is beyond the grace period of 10 min/);
    assert.match(runs[1]!.reason, /caught up 7 min late \(within the grace period of 10 min\)/);
    assert.deepEqual(r.heater.writes, ['off']);
    r.outbox.close();
  });

  it('applies the safety limits and the pause, and fails a switch the device did not follow', async () => {
    const r = rig();
    const a = r.make();
    const limited = schedule({
      rule: { ...schedule().rule, end: { at: '07:01' } },
      target: { ...schedule().target, limits: { minOnS: 300, minOffS: 0, maxSwitchesPerHour: null } },
    });
    a.load(bundle(1, [limited]));
    r.clock.t = T0700 + 1000;
    assert.equal((await a.tick())[0]?.outcome, 'done');
    r.clock.t = T0700 + 61_000;
    const [refused] = await a.tick();
    assert.equal(refused?.outcome, 'refused');
    assert.equal(refused?.errorCode, 'WF_CONFLICT');
    assert.match(refused!.reason, /must stay on for at least 5 min/);
    assert.equal(r.heater.state, 'on', 'not switched off before min on time');

    // Paused site: nothing switches (next day's start).
    a.load(bundle(2, [limited], true));
    r.clock.t = T0700 + 86_400_000 + 1000;
    const [paused] = await a.tick();
    assert.equal(paused?.outcome, 'refused');
    assert.match(paused!.reason, /automation is paused/);

    // A device that acknowledges but does not follow: failed with the read-back.
    a.load(bundle(3, [schedule({ id: S2, activeFrom: T0700 + 2 * 86_400_000 - 60_000 })]));
    r.heater.state = 'off';
    r.heater.stuck = true;
    r.clock.t = T0700 + 2 * 86_400_000 + 1000;
    const [stuck] = await a.tick();
    assert.equal(stuck?.outcome, 'failed');
    assert.equal(stuck?.errorCode, 'NOT_CONFIRMED');
    assert.equal(stuck?.confirmed, 'off');
    r.outbox.close();
  });

  it('on one channel the higher priority wins the overlap, as on the hub', async () => {
    const r = rig();
    const a = r.make();
    // "Boost" (priority 200) holds 06:30–09:00 on; "Mornings" (100) would switch off at 08:00.
    const boost = schedule({
      id: S2,
      name: 'Boost',
      priority: 200,
      rule: {
        days: { kind: 'weekly', weekdays: [3] },
        start: { at: '06:30' },
        end: { at: '09:00' },
        action: 'on',
      },
      activeFrom: T0700 + 3_600_000 - 10_000,
    });
    a.load(bundle(1, [schedule({ activeFrom: T0700 + 3_600_000 - 10_000 }), boost]));
    r.clock.t = T0700 + 3_600_000 + 1000;
    const runs = await a.tick();
    assert.deepEqual(
      runs.map((x) => [x.id, x.edge, x.outcome]),
      [[S1, 'end', 'skipped-overlap']],
    );
    assert.match(
      runs[0]!.reason,
      /"Boost" \(priority 200, v1\) holds the channel, its window 06:30–09:00 is open/,
    );
    r.outbox.close();
  });
});
