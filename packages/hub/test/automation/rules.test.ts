// Rules end to end on both engines, fed through the real ingest HTTP API (signed node requests)
// with channels registered by a real inventory event: a threshold-with-duration rule fires once,
// not per sample, respects hysteresis, and every switch it causes names the rule, its version and
// why; a second hub replaying the same data finds the firing claimed; validation lists every
// problem; a loop between two rules is refused at save naming both; two rules that would flap a
// channel are stopped at run time (rule suspended, audited); the dry run over stored history
// matches what live evaluation then does on the same samples; RBAC and tenants.
// Sample times are relative to a moment a few hours back, never to the hour of the day.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Role } from '@wattfleet/protocol';
import type { Actor } from '../../src/auth/actor.ts';
import { ruleRunnerOf } from '../../src/automation/rules/rules.plugin.ts';
import { RuleRunner } from '../../src/automation/rules/rules.runner.ts';
import { ENGINES } from '../helpers/engines.ts';
import { batchId, createSite, type Fixture, TestNode } from '../helpers/hub.ts';
import { type MqttTestHub, startMqttHub, waitFor } from '../mqtt/mqtt-helpers.ts';

const MIN = 60_000;

interface TestSite extends Fixture {
  node: TestNode;
  heater: string;
  pump: string;
}

interface FiringView {
  crossingAt: string;
  firedAt: string;
  reason: string;
  outcome: string;
  ruleVersion: number;
  results: { action: string; target: string | null; state?: string; ok: boolean; detail: string | null }[];
}

for (const engine of ENGINES) {
  describe(`rules on ${engine}`, () => {
    let hub: MqttTestHub;
    const tokens = new Map<string, Actor>();
    const user = (role: Role, orgId: string): string => {
      const token = `test-${role}-${orgId}-${tokens.size}`;
      tokens.set(token, { kind: 'user', role, orgId, userId: crypto.randomUUID() });
      return token;
    };
    const as = (token: string) => (method: string, url: string, body?: unknown) =>
      hub.app.inject({
        method: method as 'GET',
        url,
        headers: { authorization: `Bearer ${token}` },
        ...(body !== undefined ? { payload: body as object } : {}),
      });
    // A few hours back on the minute: the hub accepts it, and no test depends on the hour.
    const base = Math.floor((Date.now() - 3 * 3_600_000) / MIN) * MIN;
    const idle = () => ruleRunnerOf(hub.app.hub)!.idle();

    /** A site with one node whose inventory registers two relay channels. */
    const newSite = async (): Promise<TestSite> => {
      const site = await createSite(hub);
      const node = await TestNode.enroll(hub, site.siteId);
      const inv = await node.send('/api/v1/ingest/events', {
        batchId: batchId('inv'),
        events: [
          {
            ts: Date.now(),
            kind: 'channels.inventory',
            severity: 'info',
            message: '2 switchable channels',
            data: {
              channels: ['heater', 'pump'].map((equipment) => ({
                equipment,
                channel: '',
                kind: 'relay',
                capabilities: { switch: true, readBack: true },
                state: 'off',
              })),
            },
          },
        ],
      });
      assert.equal(inv.statusCode, 200, inv.body);
      const list = await waitFor(
        async () => {
          const r = (await hub.admin('GET', `/api/v1/sites/${site.siteId}/channels`)).json();
          return r.items?.length === 2 && r;
        },
        10_000,
        'inventory applied',
      );
      const id = (eq: string) =>
        list.items.find((c: { equipment: string }) => c.equipment === eq).id as string;
      return { ...site, node, heater: id('heater'), pump: id('pump') };
    };

    /** Sends samples through the real ingest API in batches, then waits for rule evaluation. */
    const feed = async (
      site: TestSite,
      series: { metric: string; values: number[]; stepMs?: number; from?: number }[],
      perBatch = 3,
    ) => {
      const samples = series.flatMap((s) =>
        s.values.map((value, i) => ({
          metric: s.metric,
          ts: (s.from ?? base) + i * (s.stepMs ?? MIN),
          value,
        })),
      );
      samples.sort((a, b) => a.ts - b.ts);
      for (let i = 0; i < samples.length; i += perBatch) {
        const res = await site.node.send('/api/v1/ingest/telemetry', {
          batchId: batchId(),
          samples: samples.slice(i, i + perBatch),
        });
        assert.equal(res.statusCode, 200, res.body);
        await idle();
      }
    };

    const createRule = async (site: TestSite, body: object) => {
      const res = await hub.admin('POST', `/api/v1/sites/${site.siteId}/rules`, body);
      assert.equal(res.statusCode, 201, res.body);
      return res.json() as { id: string; version: number; name: string };
    };
    const firings = async (ruleId: string): Promise<FiringView[]> => {
      const res = await hub.admin('GET', `/api/v1/rules/${ruleId}/firings?limit=100`);
      assert.equal(res.statusCode, 200, res.body);
      return (res.json().items as FiringView[]).reverse();
    };
    const exportTrigger = {
      type: 'metric',
      metric: 'grid_w',
      op: 'below',
      threshold: -2000,
      forS: 300,
      hysteresis: 500,
    };

    before(async () => {
      hub = await startMqttHub(engine);
      hub.app.bearerAuthenticators.push(async (token) => tokens.get(token));
    });
    after(async () => {
      await hub?.close();
    });

    it('fires once per crossing after the duration, respects hysteresis, and explains every switch', async () => {
      const site = await newSite();
      const rule = await createRule(site, {
        name: 'Heater on export',
        trigger: exportTrigger,
        actions: [{ type: 'set_channel', channelId: site.heater, state: 'on' }],
      });
      // Below -2 kW from minute 1, held to minute 9: one firing at minute 6, not one per sample.
      await feed(site, [
        { metric: 'grid_w', values: [-1000, -2300, -2300, -2400, -2300, -2300, -2300, -2500, -2600, -2300] },
      ]);
      let log = await firings(rule.id);
      assert.equal(log.length, 1, JSON.stringify(log));
      assert.equal(log[0]!.crossingAt, new Date(base + MIN).toISOString());
      assert.equal(log[0]!.firedAt, new Date(base + 6 * MIN).toISOString());
      assert.equal(log[0]!.reason, 'grid_w -2.3 kW for 5 min ≤ -2 kW');
      assert.equal(log[0]!.outcome, 'fired');
      assert.deepEqual(
        log[0]!.results.map((r) => [r.action, r.target, r.state, r.ok]),
        [['set_channel', site.heater, 'on', true]],
      );
      const channel = (await hub.admin('GET', `/api/v1/channels/${site.heater}`)).json();
      assert.equal(channel.desiredState, 'on');
      assert.equal(channel.desiredBy, 'rule:Heater on export');
      const entry = await hub.app.hub.db
        .selectFrom('audit_log')
        .select(['details'])
        .where('action', '=', 'equipment.switch')
        .where('target_id', '=', site.heater)
        .executeTakeFirstOrThrow();
      const details = (typeof entry.details === 'string' ? JSON.parse(entry.details) : entry.details) as {
        origin: string;
        automation: { kind: string; id: string; version: number; reason: string };
      };
      assert.equal(details.origin, 'rule');
      assert.deepEqual(details.automation, {
        kind: 'rule',
        id: rule.id,
        name: 'Heater on export',
        version: 1,
        reason: 'grid_w -2.3 kW for 5 min ≤ -2 kW',
      });

      // -1800 is above the threshold but inside the hysteresis band: no re-arm, nothing fires
      // however long it dips again; -1400 re-arms, and the next 5-minute hold fires again.
      const later = base + 10 * MIN;
      await feed(site, [
        { metric: 'grid_w', from: later, values: [-1800, -2300, -2300, -2300, -2300, -2300, -2300, -2300] },
      ]);
      assert.equal((await firings(rule.id)).length, 1, 'no re-arm inside the band');
      await feed(site, [
        {
          metric: 'grid_w',
          from: later + 8 * MIN,
          values: [-1400, -2100, -2100, -2100, -2100, -2100, -2100],
        },
      ]);
      log = await firings(rule.id);
      assert.equal(log.length, 2);
      assert.equal(log[1]!.crossingAt, new Date(later + 9 * MIN).toISOString());
      assert.equal(log[1]!.results[0]!.detail, 'already on', 'nothing sent for a channel already on');

      // A second hub seeing the same stored data (its own memory, the same database) finds every
      // crossing claimed and does nothing: its actions would throw here.
      const stub = new Proxy({}, { get: () => () => Promise.reject(new Error('must not act')) });
      const other = new RuleRunner(hub.app.hub, stub as never, stub as never, () => stub as never);
      await other.onTelemetry({
        nodeId: site.node.nodeId,
        siteId: site.siteId,
        fromMs: base,
        toMs: later + 15 * MIN,
      });
      assert.equal((await firings(rule.id)).length, 2);
      const fired = await hub.app.hub.db
        .selectFrom('audit_log')
        .select('result')
        .where('action', '=', 'rule.fired')
        .where('target_id', '=', rule.id)
        .execute();
      assert.deepEqual(fired, [{ result: 'ok' }, { result: 'ok' }]);
    });

    it('lists every problem of a rule at once, with field paths', async () => {
      const site = await newSite();
      const other = await newSite();
      const res = await hub.admin('POST', `/api/v1/sites/${site.siteId}/rules`, {
        name: 'Broken',
        trigger: {
          type: 'metric',
          metric: 'battery_soc',
          op: 'above',
          threshold: 120,
          forS: 0,
          hysteresis: 100,
        },
        conditions: [{ type: 'battery_soc', min: 80, max: 20 }],
        actions: [
          { type: 'set_channel', channelId: other.heater, state: 'on' },
          { type: 'command', nodeId: other.node.nodeId, command: 'RESTART' },
        ],
      });
      assert.equal(res.statusCode, 400, res.body);
      assert.equal(res.json().code, 'WF_VALIDATION');
      assert.deepEqual(
        res.json().problems.map((p: { path: string }) => p.path),
        [
          '/body/trigger/threshold',
          '/body/trigger/hysteresis',
          '/body/conditions/0/min',
          '/body/actions/0/channelId',
          '/body/actions/1/nodeId',
        ],
      );
      const unknown = await hub.admin('POST', `/api/v1/sites/${site.siteId}/rules`, {
        name: 'Unknown',
        trigger: { ...exportTrigger, metric: 'grid_power' },
        actions: [{ type: 'set_channel', channelId: site.heater, state: 'on' }],
      });
      assert.equal(unknown.statusCode, 400);
      assert.equal(unknown.json().problems[0].path, '/body/trigger/metric');
      assert.equal(
        (await hub.admin('GET', `/api/v1/sites/${site.siteId}/rules`)).json().items.length,
        0,
        'nothing saved',
      );
    });

    it('refuses a rule that would loop with another, naming both', async () => {
      const site = await newSite();
      await createRule(site, {
        name: 'Heater on export',
        trigger: exportTrigger,
        actions: [{ type: 'set_channel', channelId: site.heater, state: 'on' }],
      });
      const res = await hub.admin('POST', `/api/v1/sites/${site.siteId}/rules`, {
        name: 'Heater off when on',
        trigger: { type: 'metric', metric: 'load_w', op: 'above', threshold: 3000, forS: 0, hysteresis: 200 },
        conditions: [{ type: 'channel_state', channelId: site.heater, state: 'on' }],
        actions: [{ type: 'set_channel', channelId: site.heater, state: 'off' }],
      });
      assert.equal(res.statusCode, 400, res.body);
      const problem = res.json().problems[0];
      assert.equal(problem.path, '/body/actions/0');
      assert.match(problem.message, /Loop: rule "Heater on export" .* rule "Heater off when on"/);
      // Disabled, it is no loop (it never runs); enabling it later is refused the same way.
      const disabled = await hub.admin('POST', `/api/v1/sites/${site.siteId}/rules`, {
        name: 'Heater off when on',
        enabled: false,
        trigger: { type: 'metric', metric: 'load_w', op: 'above', threshold: 3000, forS: 0, hysteresis: 200 },
        conditions: [{ type: 'channel_state', channelId: site.heater, state: 'on' }],
        actions: [{ type: 'set_channel', channelId: site.heater, state: 'off' }],
      });
      assert.equal(disabled.statusCode, 201, disabled.body);
      const enable = await hub.admin('PUT', `/api/v1/rules/${disabled.json().id}`, {
        name: 'Heater off when on',
        enabled: true,
        trigger: { type: 'metric', metric: 'load_w', op: 'above', threshold: 3000, forS: 0, hysteresis: 200 },
        conditions: [{ type: 'channel_state', channelId: site.heater, state: 'on' }],
        actions: [{ type: 'set_channel', channelId: site.heater, state: 'off' }],
      });
      assert.equal(enable.statusCode, 400, enable.body);
      assert.match(enable.json().problems[0].message, /Heater on export/);
    });

    it('suspends a rule at run time when rules flap a channel, with an audit entry', async () => {
      const site = await newSite();
      const on = await createRule(site, {
        name: 'On above 1 kW',
        trigger: { type: 'metric', metric: 'grid_w', op: 'above', threshold: 1000, forS: 0, hysteresis: 100 },
        actions: [{ type: 'set_channel', channelId: site.pump, state: 'on' }],
      });
      const off = await createRule(site, {
        name: 'Off below 0',
        trigger: { type: 'metric', metric: 'grid_w', op: 'below', threshold: 0, forS: 0, hysteresis: 100 },
        actions: [{ type: 'set_channel', channelId: site.pump, state: 'off' }],
      });
      const values = Array.from({ length: 16 }, (_, i) => (i % 2 === 0 ? 1500 : -500));
      await feed(site, [{ metric: 'grid_w', from: base + 60 * MIN, stepMs: 10_000, values }], 2);
      const rules = (await hub.admin('GET', `/api/v1/sites/${site.siteId}/rules`)).json().items as {
        id: string;
        suspendedAt: string | null;
        suspendedReason: string | null;
      }[];
      const suspended = rules.filter((r) => r.suspendedAt);
      assert.equal(suspended.length, 1, JSON.stringify(rules));
      assert.match(suspended[0]!.suspendedReason ?? '', /Loop guard: channel .* switched by rules 6 times/);
      const switches = await hub.app.hub.db
        .selectFrom('equipment_switch_log')
        .select('origin')
        .where('channel_id', '=', site.pump)
        .execute();
      assert.equal(switches.length, 6, 'the seventh switch was not made');
      const audited = await hub.app.hub.db
        .selectFrom('audit_log')
        .select(['target_id', 'details'])
        .where('action', '=', 'rule.suspended')
        .execute();
      assert.ok(audited.some((a) => a.target_id === suspended[0]!.id));
      // The suspended rule no longer fires; the other one, with nothing left to change, stays.
      const before = (await firings(suspended[0]!.id)).length;
      await feed(site, [{ metric: 'grid_w', from: base + 70 * MIN, stepMs: 10_000, values }], 4);
      assert.equal((await firings(suspended[0]!.id)).length, before);
      assert.ok([on.id, off.id].includes(suspended[0]!.id));
    });

    it('the dry run over stored history matches what live evaluation then does on the same samples', async () => {
      // Two crossings; at the second the battery is below the condition's 50 %.
      const grid = [
        -1000, -2300, -2300, -2300, -2300, -2300, -2300, -1000, -2200, -2200, -2200, -2200, -2200, -2200,
        -2200,
      ].concat([-1000, -2500, -2500, -2500, -2500, -2500, -2500, -2500]);
      const soc = grid.map((_, i) => (i < 16 ? 70 : 40));
      const from = base + 90 * MIN;
      const series = [
        { metric: 'grid_w', values: grid, from },
        { metric: 'battery_soc', values: soc, from },
      ];
      const definition = (s: TestSite) => ({
        trigger: exportTrigger,
        conditions: [{ type: 'battery_soc', min: 50 }],
        actions: [{ type: 'set_channel', channelId: s.heater, state: 'on' }],
      });

      // History first (no rule yet), then the dry run of the unsaved rule.
      const history = await newSite();
      await feed(history, series, 4);
      const dry = await hub.admin(
        'POST',
        `/api/v1/sites/${history.siteId}/rules/dry-run`,
        definition(history),
      );
      assert.equal(dry.statusCode, 200, dry.body);
      const replay = dry.json() as {
        samples: number;
        firings: {
          crossingAt: string;
          firedAt: string;
          reason: string;
          outcome: string;
          switches: unknown[];
        }[];
      };
      assert.equal(replay.samples, grid.length);
      assert.deepEqual(
        replay.firings.map((f) => f.outcome),
        ['fired', 'fired', 'skipped'],
      );
      assert.deepEqual(replay.firings[0]!.switches, [{ channelId: history.heater, state: 'on' }]);
      assert.match(replay.firings[2]!.reason, /not acted: battery_soc 40 % < 50 %/);

      // The same samples through the ingest API on a site where the rule is live.
      const live = await newSite();
      const rule = await createRule(live, { name: 'Heater on export', ...definition(live) });
      await feed(live, series, 4);
      const log = await firings(rule.id);
      const view = (f: { crossingAt: string; firedAt: string; reason: string; outcome: string }) => [
        f.crossingAt,
        f.firedAt,
        f.reason,
        f.outcome,
      ];
      assert.deepEqual(log.map(view), replay.firings.map(view));
      // What live evaluation switched is what the dry run said it would.
      assert.deepEqual(
        log.filter((f) => f.outcome === 'fired').map((f) => f.results.map((r) => r.state)),
        replay.firings.filter((f) => f.outcome === 'fired').map((f) => f.switches.map(() => 'on')),
      );
      // And the saved rule's own dry run over what is now stored says the same.
      const again = await hub.admin('POST', `/api/v1/rules/${rule.id}/dry-run`);
      assert.equal(again.statusCode, 200, again.body);
      assert.deepEqual(again.json().firings.map(view), replay.firings.map(view));
    });

    it('time-of-day, tariff-period and node triggers; scene, notify and command actions; each firing claimed once', async () => {
      const site = await newSite();
      const scene = await hub.admin('POST', `/api/v1/sites/${site.siteId}/scenes`, {
        name: 'Pump on',
        targets: [{ channelId: site.pump, state: 'on' }],
      });
      assert.equal(scene.statusCode, 201, scene.body);
      // A pinned "now" a day ahead, and the trigger at that instant's own site-local minute.
      const now = Date.now() + 86_400_000;
      const hhmm = new Intl.DateTimeFormat('en-GB', {
        timeZone: site.timezone,
        hour: '2-digit',
        minute: '2-digit',
        hourCycle: 'h23',
      }).format(new Date(now));
      const timed = await createRule(site, {
        name: 'Morning',
        trigger: { type: 'time', at: hhmm },
        actions: [
          { type: 'scene', sceneId: scene.json().id },
          { type: 'notify', message: 'Good morning' },
          { type: 'command', nodeId: site.node.nodeId, command: 'DIAGNOSTICS' },
        ],
      });
      const runner = ruleRunnerOf(hub.app.hub)!;
      await runner.tick(now);
      await runner.tick(now + 20_000);
      const log = await firings(timed.id);
      assert.equal(log.length, 1, 'fired once for the day');
      assert.equal(log[0]!.reason, `it is ${hhmm} at the site`);
      assert.deepEqual(
        log[0]!.results.map((r) => [r.action, r.ok]),
        [
          ['scene', true],
          ['notify', true],
          ['command', true],
        ],
      );
      const pump = (await hub.admin('GET', `/api/v1/channels/${site.pump}`)).json();
      assert.equal(pump.desiredState, 'on');
      const cmds = await hub.app.hub.db
        .selectFrom('commands')
        .select('type')
        .where('node_id', '=', site.node.nodeId)
        .where('type', '=', 'DIAGNOSTICS')
        .execute();
      assert.equal(cmds.length, 1);
      // Its dry run replays the time of day over the last 7 days.
      const dry = await hub.admin('POST', `/api/v1/rules/${timed.id}/dry-run`);
      assert.equal(dry.statusCode, 200, dry.body);
      assert.ok(dry.json().firings.length >= 7, dry.body);

      // A tariff period starting: the period "Peak" of the site's tariff starts at that minute.
      const validFrom = new Date(now - 10 * 86_400_000).toISOString().slice(0, 10);
      const tariff = await hub.admin('POST', `/api/v1/sites/${site.siteId}/tariffs`, {
        validFrom,
        definition: {
          currency: 'EUR',
          importRate: 0.3,
          exportRate: 0.08,
          dailyCharge: 0,
          periods: [{ name: 'Peak', from: hhmm, to: hhmm === '00:00' ? '01:00' : '00:00', rate: 0.45 }],
        },
      });
      assert.equal(tariff.statusCode, 201, tariff.body);
      const peak = await createRule(site, {
        name: 'Peak starts',
        trigger: { type: 'tariff_period', period: 'Peak' },
        actions: [{ type: 'notify' }],
      });
      await runner.tick(now);
      await runner.tick(now + 20_000);
      const peakLog = await firings(peak.id);
      assert.equal(peakLog.length, 1);
      assert.equal(peakLog[0]!.reason, `tariff period "Peak" starts at ${hhmm} (0.45/kWh)`);
      assert.equal((await firings(timed.id)).length, 1, 'the time rule still fired once');
      const peakDry = await hub.admin('POST', `/api/v1/rules/${peak.id}/dry-run`);
      assert.equal(peakDry.statusCode, 200, peakDry.body);
      assert.ok(peakDry.json().firings.length >= 7, peakDry.body);

      const offline = await createRule(site, {
        name: 'Node lost',
        trigger: { type: 'node', event: 'offline', nodeId: site.node.nodeId },
        actions: [{ type: 'set_channel', channelId: site.heater, state: 'off' }],
      });
      hub.app.hub.bus.emitEvent('node.status', {
        nodeId: site.node.nodeId,
        siteId: site.siteId,
        status: 'offline',
        reason: 'test',
      });
      await idle();
      const lost = await firings(offline.id);
      assert.equal(lost.length, 1);
      assert.equal(lost[0]!.reason, `node ${site.node.nodeId} went offline`);
      const nodeDry = await hub.admin('POST', `/api/v1/rules/${offline.id}/dry-run`);
      assert.match(nodeDry.json().notReplayed, /not replayed/);
    });

    it('an alert opening fires its rule once, however often the change is announced', async () => {
      const site = await newSite();
      const rule = await createRule(site, {
        name: 'On alert',
        trigger: { type: 'alert', event: 'opened' },
        conditions: [{ type: 'automation_active' }],
        actions: [{ type: 'set_channel', channelId: site.pump, state: 'on' }],
      });
      const alertId = crypto.randomUUID();
      for (let i = 0; i < 2; i++) {
        hub.app.hub.bus.emitEvent('alert.updated', { alertId, siteId: site.siteId, state: 'open' });
        await waitFor(async () => (await firings(rule.id)).length === 1, 5_000, 'alert rule fired');
        await idle();
      }
      // An acknowledgement is no trigger; a paused site skips the firing with the reason.
      hub.app.hub.bus.emitEvent('alert.updated', { alertId, siteId: site.siteId, state: 'acknowledged' });
      const paused = await hub.admin('PUT', `/api/v1/sites/${site.siteId}/automation`, { paused: true });
      assert.equal(paused.statusCode, 200, paused.body);
      hub.app.hub.bus.emitEvent('alert.updated', {
        alertId: crypto.randomUUID(),
        siteId: site.siteId,
        state: 'open',
      });
      const log = await waitFor(
        async () => {
          const l = await firings(rule.id);
          return l.length === 2 ? l : undefined;
        },
        5_000,
        'second alert seen',
      );
      assert.deepEqual(
        log.map((f) => f.outcome),
        ['fired', 'skipped'],
      );
      assert.match(log[1]!.reason, /not acted: automation is paused/);
    });

    it('viewers read only; owners while their org allows control; installers on granted sites only; other tenants get 404', async () => {
      const site = await newSite();
      const body = {
        name: 'Heater on export',
        trigger: exportTrigger,
        actions: [{ type: 'set_channel', channelId: site.heater, state: 'on' }],
      };
      const rule = await createRule(site, body);
      const viewer = as(user('viewer', site.orgId));
      assert.equal((await viewer('GET', `/api/v1/sites/${site.siteId}/rules`)).statusCode, 200);
      assert.equal((await viewer('GET', `/api/v1/rules/${rule.id}`)).statusCode, 200);
      assert.equal((await viewer('GET', `/api/v1/rules/${rule.id}/firings`)).statusCode, 200);
      assert.equal(
        (await viewer('POST', `/api/v1/sites/${site.siteId}/rules`, { ...body, name: 'V' })).statusCode,
        403,
      );
      assert.equal((await viewer('PUT', `/api/v1/rules/${rule.id}`, body)).statusCode, 403);
      assert.equal((await viewer('DELETE', `/api/v1/rules/${rule.id}`)).statusCode, 403);
      assert.equal((await viewer('POST', `/api/v1/rules/${rule.id}/dry-run`)).statusCode, 403);
      const denied = await hub.app.hub.db
        .selectFrom('audit_log')
        .select('action')
        .where('result', '=', 'denied')
        .where('action', 'like', 'rule.%')
        .execute();
      assert.ok(denied.length >= 3);

      // The household's owner edits rules while the org allows owner control, not after.
      const owner = as(user('owner', site.orgId));
      const mine = await owner('POST', `/api/v1/sites/${site.siteId}/rules`, { ...body, name: 'O' });
      assert.equal(mine.statusCode, 201, mine.body);
      const off = await hub.admin('PUT', `/api/v1/orgs/${site.orgId}/control-settings`, {
        ownerControl: false,
      });
      assert.equal(off.statusCode, 200, off.body);
      assert.equal(
        (await owner('POST', `/api/v1/sites/${site.siteId}/rules`, { ...body, name: 'O2' })).statusCode,
        403,
      );
      assert.equal((await owner('GET', `/api/v1/rules/${rule.id}`)).statusCode, 200);

      const org = await hub.admin('POST', '/api/v1/orgs', { name: `Sparks ${engine}`, kind: 'installer' });
      const installer = as(user('installer', org.json().id));
      assert.equal((await installer('GET', `/api/v1/rules/${rule.id}`)).statusCode, 404);
      assert.equal(
        (await installer('POST', `/api/v1/sites/${site.siteId}/rules`, { ...body, name: 'I' })).statusCode,
        404,
      );
      await hub.admin('POST', `/api/v1/sites/${site.siteId}/grants`, { orgId: org.json().id });
      const created = await installer('POST', `/api/v1/sites/${site.siteId}/rules`, { ...body, name: 'I' });
      assert.equal(created.statusCode, 201, created.body);

      // Another household: nothing of this site exists for it, and its own site's rules cannot
      // point at this site's channels.
      const stranger = await newSite();
      const strangerOwner = as(user('owner', stranger.orgId));
      assert.equal((await strangerOwner('GET', `/api/v1/rules/${rule.id}`)).statusCode, 404);
      assert.equal((await strangerOwner('PUT', `/api/v1/rules/${rule.id}`, body)).statusCode, 404);
      assert.equal((await strangerOwner('GET', `/api/v1/sites/${site.siteId}/rules`)).statusCode, 404);
      const cross = await hub.admin('POST', `/api/v1/sites/${stranger.siteId}/rules`, body);
      assert.equal(cross.statusCode, 400);
      assert.equal(cross.json().problems[0].path, '/body/actions/0/channelId');
    });
  });
}
