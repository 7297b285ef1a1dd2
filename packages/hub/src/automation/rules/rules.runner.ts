// Live evaluation of rules in one hub. Cheap on the ingest path: a site without active metric
// rules costs one map lookup per batch; otherwise the batch's stored samples of just the rules'
// metrics are read back (the same rows a dry run replays) and stepped through the shared
// evaluator with per-rule state kept in memory. A crossing is then claimed in rule_firings
// (rule, version, series, crossing instant): a second hub, or a resent batch, finds the claim
// and does nothing. The claimant checks the conditions and runs the actions through the
// automation switch path (safety limits, the site's pause), guarded at run time against loops:
// a channel switched by rules more than LOOP_MAX_SWITCHES times in LOOP_WINDOW_MS suspends the
// rule that would switch it again, with an audit entry.
import { WattfleetError } from '@wattfleet/protocol';
import { audit } from '../../audit/audit.ts';
import type { Actor } from '../../auth/actor.ts';
import type { CommandService } from '../../commands/commands.service.ts';
import type { HubContext } from '../../context.ts';
import { tariffForDay } from '../../tariffs/tariffs.repository.ts';
import { localDate } from '../../time/zoned.ts';
import { getChannel } from '../automation.repository.ts';
import { switchClock } from '../automation.safety.ts';
import type { AutomationService } from '../automation.service.ts';
import type { SceneService } from '../scenes/scenes.service.ts';
import {
  type ConditionInputs,
  type Crossing,
  failedCondition,
  freshState,
  occurrenceOn,
  seriesKey,
  stepThreshold,
  type ThresholdState,
  tariffStarts,
  watches,
} from './rules.evaluator.ts';
import {
  activeRules,
  claimFiring,
  enqueueRuleNotification,
  nodeSite,
  type RuleRow,
  recordResults,
  ruleSwitchesSince,
  siteOrgId,
  sitePaused,
  siteTimezone,
  socAt,
  storedSamples,
  suspendRule,
} from './rules.repository.ts';
import type { MetricTrigger } from './rules.schema.ts';
import type { ActionResultValue } from './rules.tables.ts';

/** Run-time loop guard: more rule switches of one channel than this within the window suspend the rule. */
export const LOOP_MAX_SWITCHES = 6;
export const LOOP_WINDOW_MS = 10 * 60_000;

const SYSTEM: Actor = { kind: 'system' };

declare module '../../context.ts' {
  interface HubEvents {
    /** A rule fired (or was suspended by the loop guard). */
    'rule.fired': { ruleId: string; siteId: string; firingId: string; outcome: string };
  }
}

export class RuleRunner {
  /** Active rules per site, loaded on first use and reloaded when a rule of the site changes. */
  private readonly bySite = new Map<string, Promise<RuleRow[]>>();
  /** Threshold state per rule and series, for the rule's current version (an edit starts afresh). */
  private readonly states = new Map<string, { version: number; series: Map<string, ThresholdState> }>();
  /** One evaluation at a time per site, so samples are stepped in order. */
  private readonly queues = new Map<string, Promise<void>>();

  constructor(
    private readonly hub: HubContext,
    private readonly automation: AutomationService,
    private readonly scenes: SceneService,
    private readonly commands: () => CommandService,
  ) {}

  /** A rule of the site was created, edited, deleted or suspended. */
  invalidate(siteId: string, ruleId?: string): void {
    this.bySite.delete(siteId);
    if (ruleId) this.states.delete(ruleId);
  }

  private rules(siteId: string): Promise<RuleRow[]> {
    let p = this.bySite.get(siteId);
    if (!p) {
      p = activeRules(this.hub.db, siteId);
      this.bySite.set(siteId, p);
      p.catch(() => this.bySite.delete(siteId));
    }
    return p;
  }

  private serial(siteId: string, work: () => Promise<void>): Promise<void> {
    const next = (this.queues.get(siteId) ?? Promise.resolve()).then(work, work);
    this.queues.set(siteId, next);
    return next.finally(() => {
      if (this.queues.get(siteId) === next) this.queues.delete(siteId);
    });
  }

  /** A batch was stored: step its samples of the watched metrics through the site's metric rules. */
  onTelemetry(e: { nodeId: string; siteId: string; fromMs: number; toMs: number }): Promise<void> {
    return this.serial(e.siteId, async () => {
      const rules = (await this.rules(e.siteId)).filter((r) => r.definition.trigger.type === 'metric');
      if (rules.length === 0) return;
      const metrics = [...new Set(rules.map((r) => (r.definition.trigger as MetricTrigger).metric))];
      const samples = await storedSamples(this.hub.db, {
        siteId: e.siteId,
        nodeId: e.nodeId,
        metrics,
        fromMs: e.fromMs,
        toMs: e.toMs,
      });
      for (const s of samples)
        for (const rule of rules) {
          const t = rule.definition.trigger as MetricTrigger;
          if (!watches(t, s)) continue;
          const source = seriesKey(s.nodeId, s.equipment, s.metric);
          let perRule = this.states.get(rule.id);
          if (perRule?.version !== rule.version) {
            perRule = { version: rule.version, series: new Map() };
            this.states.set(rule.id, perRule);
          }
          let st = perRule.series.get(source);
          if (!st) {
            st = freshState();
            perRule.series.set(source, st);
          }
          const crossing = stepThreshold(t, st, s.ts, s.value);
          if (crossing) await this.fire(rule, source, crossing);
        }
    });
  }

  /** A node went offline or online (handled by the hub that saw it: the event is not remote). */
  onNodeStatus(e: { nodeId: string; siteId: string; status: string }): Promise<void> {
    return this.serial(e.siteId, async () => {
      const now = Date.now();
      for (const rule of await this.rules(e.siteId)) {
        const t = rule.definition.trigger;
        if (t.type !== 'node' || t.event !== e.status || (t.nodeId && t.nodeId !== e.nodeId)) continue;
        await this.fire(rule, `node:${e.nodeId}:${e.status}`, {
          crossingAt: now,
          firedAt: now,
          value: 0,
          reason: `node ${e.nodeId} went ${e.status}`,
        });
      }
    });
  }

  /** An alert opened or resolved on the site. */
  onAlert(e: { alertId: string; siteId: string | null; state: string }, alertRule: string | undefined) {
    const siteId = e.siteId;
    if (!siteId) return Promise.resolve();
    const event = e.state === 'open' ? 'opened' : e.state === 'resolved' ? 'resolved' : undefined;
    if (!event) return Promise.resolve();
    return this.serial(siteId, async () => {
      const now = Date.now();
      for (const rule of await this.rules(siteId)) {
        const t = rule.definition.trigger;
        if (t.type !== 'alert' || t.event !== event || (t.rule && t.rule !== alertRule)) continue;
        // The alert id and event make the key: the same transition never fires twice.
        await this.fire(rule, `alert:${e.alertId}:${event}`, {
          crossingAt: 0,
          firedAt: now,
          value: 0,
          reason: `alert ${alertRule ?? e.alertId} ${event}`,
        });
      }
    });
  }

  /**
   * Time-of-day and tariff-period triggers due within the grace period (each hub ticks; the claim
   * keeps one firing). Not before the rule's last edit, so saving a rule does not fire the past.
   */
  async tick(now = Date.now(), graceMs = 5 * 60_000): Promise<void> {
    const rules = (await activeRules(this.hub.db)).filter(
      (r) => r.definition.trigger.type === 'time' || r.definition.trigger.type === 'tariff_period',
    );
    for (const rule of rules) {
      const t = rule.definition.trigger;
      const tz = await siteTimezone(this.hub.db, rule.site_id);
      const date = localDate(now, tz);
      const due: { at: number; key: string; reason: string }[] = [];
      if (t.type === 'time')
        due.push({
          at: occurrenceOn(date, t.at, tz),
          key: `time:${t.at}`,
          reason: `it is ${t.at} at the site`,
        });
      if (t.type === 'tariff_period') {
        const tariff = await tariffForDay(this.hub.db, rule.site_id, date);
        if (tariff) due.push(...tariffStarts(tariff.definition, date, tz, t.period));
      }
      for (const d of due) {
        if (d.at > now || now - d.at > graceMs || d.at < new Date(rule.updated_at).getTime()) continue;
        await this.serial(rule.site_id, () =>
          this.fire(rule, d.key, { crossingAt: d.at, firedAt: d.at, value: 0, reason: d.reason }),
        );
      }
    }
  }

  /** What the conditions read, live: the site's zone and pause, the latest SoC, channel states. */
  private async liveInputs(rule: RuleRow, at: number): Promise<ConditionInputs> {
    const db = this.hub.db;
    const conditions = rule.definition.conditions ?? [];
    const [timezone, paused] = await Promise.all([
      siteTimezone(db, rule.site_id),
      sitePaused(db, rule.site_id),
    ]);
    const soc = conditions.some((c) => c.type === 'battery_soc')
      ? await socAt(db, rule.site_id, at)
      : undefined;
    const states = new Map<string, 'on' | 'off' | undefined>();
    for (const c of conditions)
      if (c.type === 'channel_state') {
        const ch = await getChannel(db, c.channelId);
        states.set(c.channelId, ch ? (ch.desired_state ?? ch.reported_state ?? undefined) : undefined);
      }
    return {
      timezone,
      paused,
      socAt: () => soc,
      channelState: (id) => states.get(id),
    };
  }

  private async fire(rule: RuleRow, source: string, c: Crossing): Promise<void> {
    const def = rule.definition;
    const inputs = await this.liveInputs(rule, c.firedAt);
    const skipped = failedCondition(def.conditions ?? [], c.firedAt, inputs);
    const reason = skipped ? `${c.reason} (not acted: ${skipped})` : c.reason;
    const firingId = await claimFiring(this.hub.db, {
      ruleId: rule.id,
      siteId: rule.site_id,
      version: rule.version,
      sourceKey: source,
      crossingAt: c.crossingAt,
      firedAt: c.firedAt,
      reason,
      outcome: skipped ? 'skipped' : 'fired',
    });
    if (!firingId || skipped) return;
    const origin = {
      kind: 'rule' as const,
      id: rule.id,
      name: rule.name,
      version: rule.version,
      reason: c.reason,
    };
    const results: ActionResultValue[] = [];
    let suspended = false;
    for (const a of def.actions) {
      if (suspended) break;
      try {
        if (a.type === 'set_channel') {
          const ch = await getChannel(this.hub.db, a.channelId);
          if (!ch || ch.site_id !== rule.site_id) {
            results.push({
              action: a.type,
              target: a.channelId,
              state: a.state,
              ok: false,
              detail: 'Channel not found',
            });
            continue;
          }
          if ((ch.desired_state ?? ch.reported_state) === a.state) {
            results.push({
              action: a.type,
              target: a.channelId,
              state: a.state,
              ok: true,
              detail: `already ${a.state}`,
            });
            continue;
          }
          const now = switchClock.now();
          const n = await ruleSwitchesSince(this.hub.db, a.channelId, new Date(now - LOOP_WINDOW_MS));
          if (n >= LOOP_MAX_SWITCHES) {
            suspended = true;
            const why = `Loop guard: channel ${a.channelId} was switched by rules ${n} times in ${LOOP_WINDOW_MS / 60_000} min`;
            await this.suspend(rule, why, now);
            results.push({ action: a.type, target: a.channelId, state: a.state, ok: false, detail: why });
            continue;
          }
          const after = await this.automation.switchAutomatic(
            SYSTEM,
            a.channelId,
            a.state,
            origin,
            `rule:${rule.id}`,
          );
          results.push({
            action: a.type,
            target: a.channelId,
            state: a.state,
            ok: true,
            detail: `sent (${after.status})`,
          });
        } else if (a.type === 'scene') {
          const act = await this.scenes.activate(SYSTEM, a.sceneId, `rule:${rule.id}`);
          results.push({
            action: a.type,
            target: a.sceneId,
            ok: act.status !== 'failed',
            detail: `activation ${act.id}: ${act.status}`,
          });
        } else if (a.type === 'notify') {
          const orgId = await siteOrgId(this.hub.db, rule.site_id);
          const n = orgId
            ? await enqueueRuleNotification(
                this.hub.db,
                orgId,
                `rule:${rule.id}`,
                {
                  event: 'rule_fired',
                  rule: { id: rule.id, name: rule.name, version: rule.version },
                  siteId: rule.site_id,
                  message: a.message ?? `Rule "${rule.name}" fired: ${c.reason}`,
                  reason: c.reason,
                  at: new Date(c.firedAt).toISOString(),
                },
                new Date(),
              )
            : 0;
          results.push({
            action: a.type,
            target: orgId ?? null,
            ok: true,
            detail: `queued to ${n} channel(s)`,
          });
        } else {
          const node = await nodeSite(this.hub.db, a.nodeId);
          if (!node || node.site_id !== rule.site_id) {
            results.push({ action: a.type, target: a.nodeId, ok: false, detail: 'Node not found' });
            continue;
          }
          const cmd = await this.commands().create(
            SYSTEM,
            node,
            { type: a.command, args: {} },
            `rule:${rule.id}`,
          );
          results.push({
            action: a.type,
            target: a.nodeId,
            ok: true,
            detail: `${a.command} command ${cmd.id}`,
          });
        }
      } catch (err) {
        const detail = err instanceof WattfleetError ? `${err.code}: ${err.message}` : (err as Error).message;
        results.push({
          action: a.type,
          target:
            'channelId' in a ? a.channelId : 'sceneId' in a ? a.sceneId : 'nodeId' in a ? a.nodeId : null,
          ...(a.type === 'set_channel' ? { state: a.state } : {}),
          ok: false,
          detail,
        });
      }
    }
    await recordResults(this.hub.db, firingId, suspended ? 'suspended' : 'fired', results);
    await audit(this.hub.db, SYSTEM, {
      action: 'rule.fired',
      targetType: 'rule',
      targetId: rule.id,
      result: results.every((r) => r.ok) ? 'ok' : 'failed',
      sourceIp: 'automation',
      details: { siteId: rule.site_id, version: rule.version, firingId, source, reason: c.reason, results },
    });
    this.hub.bus.emitEvent('rule.fired', {
      ruleId: rule.id,
      siteId: rule.site_id,
      firingId,
      outcome: suspended ? 'suspended' : 'fired',
    });
  }

  private async suspend(rule: RuleRow, reason: string, now: number): Promise<void> {
    if (!(await suspendRule(this.hub.db, rule.id, new Date(now), reason))) return;
    this.invalidate(rule.site_id);
    await audit(this.hub.db, SYSTEM, {
      action: 'rule.suspended',
      targetType: 'rule',
      targetId: rule.id,
      result: 'failed',
      sourceIp: 'automation',
      details: { siteId: rule.site_id, version: rule.version, name: rule.name, reason },
    });
  }

  /** Waits for every evaluation under way (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.queues.size) await Promise.allSettled([...this.queues.values()]);
  }
}
