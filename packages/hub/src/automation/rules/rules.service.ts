// Rules: who may see and edit them (read access to the site to see; the right to switch there to
// create, edit, delete or dry-run — the same check as a manual switch, row-level security again in
// the tenant transactions), validation listing every problem with its field path, loop detection
// against the site's other rules, and the dry run: the rule replayed over the site's last 7 days
// of stored telemetry through the same evaluator the live runner uses.
import { WattfleetError } from '@wattfleet/protocol';
import { auditInTransaction } from '../../audit/audit.ts';
import { assertSiteAccess } from '../../auth/access.ts';
import type { Actor } from '../../auth/actor.ts';
import type { HubContext } from '../../context.ts';
import { withTenant } from '../../identity/tenant.ts';
import { tariffForDay } from '../../tariffs/tariffs.repository.ts';
import { addDays, localDate } from '../../time/zoned.ts';
import { listChannels } from '../automation.repository.ts';
import { type AutomationService, actorLabel } from '../automation.service.ts';
import {
  type ConditionInputs,
  failedCondition,
  freshState,
  occurrenceOn,
  seriesKey,
  stepThreshold,
  switchesOf,
  type ThresholdState,
  tariffStarts,
  watches,
} from './rules.evaluator.ts';
import {
  deleteRule,
  getRule,
  insertRule,
  listFirings,
  listRules,
  type RuleRow,
  ruleNameTaken,
  siteNodes,
  sitePaused,
  siteScenes,
  siteTimezone,
  storedSamples,
  updateRule,
} from './rules.repository.ts';
import type { RuleRunner } from './rules.runner.ts';
import type {
  DryRunBody,
  DryRunResult,
  FiringList,
  Rule,
  RuleBody,
  RuleDefinition,
  RuleList,
} from './rules.schema.ts';
import { findLoops, type SiteChannel, type SiteFacts, validateDefinition } from './rules.validation.ts';

export const DRY_RUN_DAYS = 7;

export function ruleView(r: RuleRow): Rule {
  return {
    id: r.id,
    siteId: r.site_id,
    name: r.name,
    description: r.description,
    enabled: r.enabled,
    version: r.version,
    trigger: r.definition.trigger,
    conditions: r.definition.conditions ?? [],
    actions: r.definition.actions,
    suspendedAt: r.suspended_at ? new Date(r.suspended_at).toISOString() : null,
    suspendedReason: r.suspended_reason,
    createdAt: new Date(r.created_at).toISOString(),
    updatedAt: new Date(r.updated_at).toISOString(),
  };
}

const definitionOf = (b: RuleBody | DryRunBody): RuleDefinition => ({
  trigger: b.trigger,
  conditions: b.conditions ?? [],
  actions: b.actions,
});

export class RuleService {
  constructor(
    private readonly hub: HubContext,
    private readonly automation: AutomationService,
    private readonly runner: RuleRunner,
  ) {}

  async list(actor: Actor, siteId: string): Promise<RuleList> {
    await assertSiteAccess(this.hub, actor, siteId, 'read');
    const rows = await withTenant(this.hub, actor, (trx) => listRules(trx, siteId));
    return { items: rows.map(ruleView) };
  }

  async get(actor: Actor, id: string): Promise<Rule> {
    return ruleView(await this.visible(actor, id));
  }

  private async visible(actor: Actor, id: string): Promise<RuleRow> {
    const row = await withTenant(this.hub, actor, (trx) => getRule(trx, id));
    if (!row) throw new WattfleetError('WF_NOT_FOUND', 'Rule not found');
    await assertSiteAccess(this.hub, actor, row.site_id, 'read');
    return row;
  }

  private async facts(
    actor: Actor,
    siteId: string,
  ): Promise<SiteFacts & { states: Map<string, 'on' | 'off' | undefined> }> {
    const p = await this.automation.permission(actor, siteId);
    return withTenant(this.hub, actor, async (trx) => {
      const rows = await listChannels(trx, siteId);
      const channels = new Map<string, SiteChannel>(
        rows.map((r) => [
          r.id,
          {
            id: r.id,
            nodeId: r.node_id,
            equipment: r.equipment,
            switchable: r.present && r.capabilities.switch,
          },
        ]),
      );
      const states = new Map(rows.map((r) => [r.id, r.desired_state ?? r.reported_state ?? undefined]));
      return {
        channels,
        states,
        nodes: await siteNodes(trx, siteId),
        scenes: await siteScenes(trx, siteId),
        mayControl: p.canSwitch,
        ...(p.reason ? { mayControlReason: p.reason } : {}),
      };
    });
  }

  /** 400 listing every problem (and every loop with the site's other rules); 409 on a taken name. */
  private async check(
    actor: Actor,
    siteId: string,
    def: RuleDefinition,
    named?: { id?: string; name: string; enabled: boolean },
  ): Promise<SiteFacts & { states: Map<string, 'on' | 'off' | undefined> }> {
    const facts = await this.facts(actor, siteId);
    const problems = validateDefinition(def, facts);
    if (named?.enabled) {
      const others = (await withTenant(this.hub, actor, (trx) => listRules(trx, siteId)))
        .filter((r) => r.enabled && r.id !== named.id)
        .map((r) => ({ id: r.id, name: r.name, definition: r.definition }));
      problems.push(...findLoops({ id: named.id, name: named.name, definition: def }, others, facts));
    }
    if (problems.length) throw new WattfleetError('WF_VALIDATION', 'Invalid rule', problems);
    if (
      named &&
      (await withTenant(this.hub, actor, (trx) => ruleNameTaken(trx, siteId, named.name, named.id)))
    )
      throw new WattfleetError('WF_CONFLICT', `A rule named "${named.name}" exists on this site`);
    return facts;
  }

  async create(actor: Actor, siteId: string, body: RuleBody, sourceIp: string): Promise<Rule> {
    await assertSiteAccess(this.hub, actor, siteId, 'read');
    await this.automation.assertMaySwitch(actor, siteId, {
      action: 'rule.create',
      targetType: 'rule',
      targetId: siteId,
      sourceIp,
    });
    const def = definitionOf(body);
    const enabled = body.enabled ?? true;
    await this.check(actor, siteId, def, { name: body.name, enabled });
    const row = await withTenant(
      this.hub,
      actor,
      async (trx) => {
        const created = await insertRule(trx, {
          siteId,
          name: body.name,
          description: body.description ?? null,
          enabled,
          definition: def,
          by: actorLabel(actor),
        });
        await auditInTransaction(trx, actor, {
          action: 'rule.create',
          targetType: 'rule',
          targetId: created.id,
          sourceIp,
          details: { siteId, name: body.name, version: created.version, enabled, definition: def },
        });
        return created;
      },
      'write',
    );
    this.runner.invalidate(siteId);
    return ruleView(row);
  }

  async update(actor: Actor, id: string, body: RuleBody, sourceIp: string): Promise<Rule> {
    const rule = await this.visible(actor, id);
    await this.automation.assertMaySwitch(actor, rule.site_id, {
      action: 'rule.update',
      targetType: 'rule',
      targetId: id,
      sourceIp,
    });
    const def = definitionOf(body);
    const enabled = body.enabled ?? true;
    await this.check(actor, rule.site_id, def, { id, name: body.name, enabled });
    const row = await withTenant(
      this.hub,
      actor,
      async (trx) => {
        const updated = await updateRule(trx, id, {
          name: body.name,
          description: body.description ?? null,
          enabled,
          definition: def,
        });
        if (!updated) throw new WattfleetError('WF_NOT_FOUND', 'Rule not found');
        await auditInTransaction(trx, actor, {
          action: 'rule.update',
          targetType: 'rule',
          targetId: id,
          sourceIp,
          details: {
            siteId: rule.site_id,
            name: body.name,
            version: updated.version,
            enabled,
            definition: def,
          },
        });
        return updated;
      },
      'write',
    );
    this.runner.invalidate(rule.site_id);
    return ruleView(row);
  }

  async remove(actor: Actor, id: string, sourceIp: string): Promise<void> {
    const rule = await this.visible(actor, id);
    await this.automation.assertMaySwitch(actor, rule.site_id, {
      action: 'rule.delete',
      targetType: 'rule',
      targetId: id,
      sourceIp,
    });
    await withTenant(
      this.hub,
      actor,
      async (trx) => {
        if (!(await deleteRule(trx, id))) throw new WattfleetError('WF_NOT_FOUND', 'Rule not found');
        await auditInTransaction(trx, actor, {
          action: 'rule.delete',
          targetType: 'rule',
          targetId: id,
          sourceIp,
          details: { siteId: rule.site_id, name: rule.name, version: rule.version },
        });
      },
      'write',
    );
    this.runner.invalidate(rule.site_id, id);
  }

  async firings(actor: Actor, id: string, limit = 50): Promise<FiringList> {
    await this.visible(actor, id);
    const rows = await withTenant(this.hub, actor, (trx) => listFirings(trx, id, limit));
    return {
      items: rows.map((f) => ({
        id: f.id,
        ruleId: f.rule_id,
        ruleVersion: f.rule_version,
        sourceKey: f.source_key,
        crossingAt: f.crossing_at.toISOString(),
        firedAt: f.fired_at.toISOString(),
        reason: f.reason,
        outcome: f.outcome,
        results: f.results,
      })),
    };
  }

  /** Dry run of a saved rule. */
  async dryRunSaved(actor: Actor, id: string, sourceIp: string, now = Date.now()): Promise<DryRunResult> {
    const rule = await this.visible(actor, id);
    return this.dryRun(actor, rule.site_id, rule.definition, sourceIp, now);
  }

  /**
   * Replays a definition over the site's stored telemetry of the last 7 days through the live
   * evaluator's code: when it would have fired, what it would have switched, why — and which
   * crossings a condition would have held back.
   */
  async dryRun(
    actor: Actor,
    siteId: string,
    body: DryRunBody | RuleDefinition,
    sourceIp: string,
    now = Date.now(),
  ): Promise<DryRunResult> {
    await assertSiteAccess(this.hub, actor, siteId, 'read');
    await this.automation.assertMaySwitch(actor, siteId, {
      action: 'rule.dry_run',
      targetType: 'rule',
      targetId: siteId,
      sourceIp,
    });
    const def = definitionOf(body);
    const facts = await this.check(actor, siteId, def);
    const from = now - DRY_RUN_DAYS * 86_400_000;
    const db = this.hub.db;
    const timezone = await siteTimezone(db, siteId);
    const conditions = def.conditions ?? [];
    const socs = conditions.some((c) => c.type === 'battery_soc')
      ? await storedSamples(db, { siteId, metrics: ['battery_soc'], fromMs: from - 86_400_000, toMs: now })
      : [];
    const paused = await sitePaused(db, siteId);
    // Channel states start as they are now and follow what the rule itself would switch.
    const states = new Map(facts.states);
    const inputs: ConditionInputs = {
      timezone,
      paused,
      socAt: (at) => latestAtOrBefore(socs, at, 86_400_000),
      channelState: (id) => states.get(id),
    };
    const scene = (id: string) => facts.scenes.get(id)?.targets ?? [];
    const firings: DryRunResult['firings'] = [];
    const record = (sourceKey: string, crossingAt: number, firedAt: number, reason: string) => {
      const skipped = failedCondition(conditions, firedAt, inputs);
      const switches = skipped ? [] : switchesOf(def.actions, scene);
      for (const s of switches) states.set(s.channelId, s.state);
      firings.push({
        sourceKey,
        crossingAt: new Date(crossingAt).toISOString(),
        firedAt: new Date(firedAt).toISOString(),
        reason: skipped ? `${reason} (not acted: ${skipped})` : reason,
        outcome: skipped ? 'skipped' : 'fired',
        skippedBecause: skipped ?? null,
        switches,
        actions: skipped ? [] : def.actions.map((a) => describe(a, facts)),
      });
    };
    const t = def.trigger;
    let samples = 0;
    let notReplayed: string | null = null;
    if (t.type === 'metric') {
      const rows = await storedSamples(db, { siteId, metrics: [t.metric], fromMs: from, toMs: now });
      const perSeries = new Map<string, ThresholdState>();
      for (const s of rows) {
        if (!watches(t, s)) continue;
        samples++;
        const key = seriesKey(s.nodeId, s.equipment, s.metric);
        let st = perSeries.get(key);
        if (!st) {
          st = freshState();
          perSeries.set(key, st);
        }
        const c = stepThreshold(t, st, s.ts, s.value);
        if (c) record(key, c.crossingAt, c.firedAt, c.reason);
      }
    } else if (t.type === 'time') {
      for (let d = localDate(from, timezone); d <= localDate(now, timezone); d = addDays(d, 1)) {
        const at = occurrenceOn(d, t.at, timezone);
        if (at >= from && at <= now) record(`time:${t.at}`, at, at, `it is ${t.at} at the site`);
      }
    } else if (t.type === 'tariff_period') {
      for (let d = localDate(from, timezone); d <= localDate(now, timezone); d = addDays(d, 1)) {
        const tariff = await tariffForDay(db, siteId, d);
        if (!tariff) continue;
        for (const s of tariffStarts(tariff.definition, d, timezone, t.period))
          if (s.at >= from && s.at <= now) record(s.key, s.at, s.at, s.reason);
      }
    } else {
      notReplayed = `${t.type} triggers are not replayed: node and alert history is not telemetry`;
    }
    return {
      from: new Date(from).toISOString(),
      to: new Date(now).toISOString(),
      samples,
      firings,
      notReplayed,
    };
  }
}

function latestAtOrBefore(rows: readonly { ts: number; value: number }[], at: number, maxAgeMs: number) {
  let lo = 0;
  let hi = rows.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (rows[mid]!.ts <= at) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  const r = found >= 0 ? rows[found] : undefined;
  return r && at - r.ts < maxAgeMs ? r.value : undefined;
}

function describe(a: RuleDefinition['actions'][number], facts: SiteFacts): string {
  switch (a.type) {
    case 'set_channel': {
      const ch = facts.channels.get(a.channelId);
      return `switch ${ch ? `${ch.equipment} ` : ''}channel ${a.channelId} ${a.state}`;
    }
    case 'scene':
      return `activate scene "${facts.scenes.get(a.sceneId)?.name ?? a.sceneId}"`;
    case 'notify':
      return "notify the site organisation's channels";
    case 'command':
      return `send ${a.command} to node ${a.nodeId}`;
  }
}
