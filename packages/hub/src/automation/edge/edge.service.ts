// Edge execution (issue 13.7), the hub's half: which schedules a node executes, the versioned
// automation bundle compiled for that node and pushed with AUTOMATION_PUSH whenever what it
// executes changes, what came of each push, and the node's `automation.execution` events turned
// into the same run log, switch log and audit entries as the hub's own runs, exactly once.
//
// Exactly one executor at every moment:
// - A schedule saved on a channel of an edge agent is assigned to that agent in the save's own
//   transaction; the hub's runner skips it from then on, and the bundle's `activeFrom` (where the
//   hub's watermark stood) tells the node where to start, so nothing is run by both or by neither.
// - A push that does not end applied (refused, rolled back, expired, an agent that does not know
//   AUTOMATION_PUSH) leaves the node on its previous bundle: schedules that bundle runs stay the
//   node's (in the version it holds); the others go back to the hub, which catches them up
//   within their grace period as after its own downtime.
// - An execution the node reports is claimed by (schedule, occurrence) in edge_executions and in
//   the run log's UNIQUE (schedule_id, due_at): a resent batch or a second hub records nothing new.
import { createHash } from 'node:crypto';
import {
  type AutomationBundle,
  AutomationExecution,
  type BundleSchedule,
  AutomationBundle as BundleSchema,
  checker,
  EVENT_KINDS,
  FINAL_COMMAND_STATES,
} from '@wattfleet/protocol';
import type { Kysely } from 'kysely';
import { audit } from '../../audit/audit.ts';
import type { Actor } from '../../auth/actor.ts';
import type { CommandService } from '../../commands/commands.service.ts';
import type { HubContext } from '../../context.ts';
import type { DB } from '../../storage/schema.ts';
import { automationSettings, commandOf, getChannel, logChange } from '../automation.repository.ts';
import { type NodeKind, scheduleExecutor } from '../executor.ts';
import { claimRun, finishRun } from '../schedules/schedules.repository.ts';
import {
  attachBundleCommand,
  batchEvents,
  channelOwner,
  claimEdgeExecution,
  executorOf,
  insertBundle,
  latestBundle,
  nodeSchedules,
  nodeSite,
  recordEdgeSwitch,
  scheduleForExecution,
  setExecutor,
  settleBundle,
  siteExecutorNodes,
  unrecordedExecutionBatches,
} from './edge.repository.ts';
import type { BundleState } from './edge.tables.ts';

const SYSTEM: Actor = { kind: 'system' };
export const EDGE_SOURCE = 'edge-automation';
/** A node offline this long gets the bundle when it returns; after that the hub takes over. */
const PUSH_TTL_S = 7 * 86_400;
const checkBundle = checker(BundleSchema);
const checkExecution = checker(AutomationExecution);
/** How far back the sweep looks for executions stored but not recorded. */
const SWEEP_LOOKBACK_MS = 7 * 86_400_000;

type Log = { error: (obj: object, msg: string) => void; warn: (obj: object, msg: string) => void };

/**
 * Decides and stores a schedule's executor, in the caller's (save) transaction: the node of its
 * channel when that is an edge agent, else the hub. Returns the executors before and after, so
 * the caller refreshes the bundles of both.
 */
export async function assignScheduleExecutor(
  db: Kysely<DB>,
  s: { id: string; site_id: string; channel_id: string },
): Promise<{ before: string | null; after: string | null }> {
  const before = await executorOf(db, 'schedule', s.id);
  const owner = await channelOwner(db, s.channel_id);
  const decision = owner
    ? scheduleExecutor({
        id: owner.id,
        nodeId: owner.node_id,
        nodeKind: owner.kind as NodeKind,
        edgeAutomation: owner.capabilities.edgeAutomation === true,
      })
    : { nodeId: null, reason: 'channel gone' };
  await setExecutor(db, { kind: 'schedule', id: s.id, siteId: s.site_id }, decision.nodeId, decision.reason);
  return { before, after: decision.nodeId };
}

const digestOf = (b: Omit<AutomationBundle, 'version' | 'generatedAt'>) =>
  createHash('sha256').update(JSON.stringify(b)).digest('hex');

export class EdgeAutomationService {
  /** Per node, so two saves in a row compile one after the other (versions in order). */
  private readonly chains = new Map<string, Promise<unknown>>();

  constructor(
    private readonly hub: HubContext,
    private readonly commands: () => CommandService,
    private readonly log: Log = console,
    private readonly now: () => number = Date.now,
  ) {}

  /** What a node's bundle holds now (without version and time). */
  async compile(nodeId: string): Promise<Omit<AutomationBundle, 'version' | 'generatedAt'> | undefined> {
    const db = this.hub.db;
    const node = await nodeSite(db, nodeId);
    if (!node) return undefined;
    const paused = (await automationSettings(db, node.site_id))?.paused ?? false;
    const schedules: BundleSchedule[] = (await nodeSchedules(db, nodeId)).map((s) => ({
      id: s.id,
      version: s.version,
      name: s.name,
      executor: nodeId,
      priority: s.priority,
      createdAt: new Date(s.created_at).getTime(),
      rule: s.rule,
      validFrom: s.valid_from,
      validUntil: s.valid_until,
      exceptDates: s.except_dates,
      graceMin: s.grace_min,
      // Where the version starts, or where the hub stopped if it ran this version before.
      activeFrom: Math.max(new Date(s.updated_at).getTime(), new Date(s.checked_until).getTime()),
      target: {
        channelId: s.channel_id,
        equipment: s.equipment,
        channel: s.channel,
        limits: { minOnS: s.min_on_s, minOffS: s.min_off_s, maxSwitchesPerHour: s.max_switches_per_hour },
      },
    }));
    return {
      nodeId,
      site: {
        timezone: node.timezone,
        latitude: node.latitude ?? null,
        longitude: node.longitude ?? null,
        paused,
      },
      schedules,
      rules: [],
    };
  }

  /** Every node of the site that executes (or executed) something gets a current bundle. */
  async refreshSite(siteId: string): Promise<void> {
    for (const nodeId of await siteExecutorNodes(this.hub.db, siteId)) await this.refreshNode(nodeId);
  }

  refreshNode(nodeId: string): Promise<number | undefined> {
    const prev = this.chains.get(nodeId) ?? Promise.resolve();
    const next = prev.catch(() => {}).then(() => this.push(nodeId));
    this.chains.set(nodeId, next);
    void next.finally(() => {
      if (this.chains.get(nodeId) === next) this.chains.delete(nodeId);
    });
    return next;
  }

  /** Compiles and sends the node's bundle unless it holds (or is being sent) the same; its version. */
  private async push(nodeId: string): Promise<number | undefined> {
    const db = this.hub.db;
    const content = await this.compile(nodeId);
    if (!content) return undefined;
    const digest = digestOf(content);
    for (let attempt = 0; attempt < 3; attempt++) {
      const latest = await latestBundle(db, nodeId);
      if (!latest && content.schedules.length === 0 && content.rules.length === 0) return undefined;
      if (latest && latest.digest === digest && ['pending', 'applied'].includes(latest.state))
        return latest.version;
      const version = (latest?.version ?? 0) + 1;
      const bundle: AutomationBundle = { version, generatedAt: this.now(), ...content };
      if (!checkBundle.check(bundle)) {
        this.log.error(
          { nodeId, problems: checkBundle.problems(bundle) },
          'compiled automation bundle is invalid',
        );
        return undefined;
      }
      const node = await nodeSite(db, nodeId);
      if (!node) return undefined;
      if (!(await insertBundle(db, { nodeId, siteId: node.site_id, version, digest, bundle }))) continue;
      const cmd = await this.commands().create(
        SYSTEM,
        { id: nodeId, site_id: node.site_id },
        { type: 'AUTOMATION_PUSH', args: { bundle }, ttlS: PUSH_TTL_S },
        EDGE_SOURCE,
      );
      await attachBundleCommand(db, nodeId, version, cmd.id);
      // A node that answered at once (a local broker) settled before the command id was attached.
      await this.onCommandUpdated(cmd.id);
      return version;
    }
    return undefined;
  }

  /** An AUTOMATION_PUSH reached a final state: the bundle is applied, or the fallback applies. */
  async onCommandUpdated(commandId: string, state?: string): Promise<void> {
    if (state && !(FINAL_COMMAND_STATES as readonly string[]).includes(state)) return;
    const db = this.hub.db;
    const cmd = await commandOf(db, commandId);
    if (cmd?.type !== 'AUTOMATION_PUSH' || !(FINAL_COMMAND_STATES as readonly string[]).includes(cmd.state))
      return;
    const error = (typeof cmd.error === 'string' ? JSON.parse(cmd.error) : cmd.error) as {
      code?: string;
      message?: string;
    } | null;
    const outcome: BundleState =
      cmd.state === 'succeeded'
        ? 'applied'
        : error?.code === 'ROLLED_BACK'
          ? 'rolled_back'
          : error?.code === 'WF_VALIDATION' || error?.code === 'STALE_BUNDLE'
            ? 'refused'
            : 'failed';
    const detail = cmd.state === 'succeeded' ? null : (error?.message ?? `the command was ${cmd.state}`);
    const settled = await settleBundle(db, commandId, outcome, detail);
    if (!settled) return;
    const bundle = settled.bundle as AutomationBundle;
    const node = await nodeSite(db, settled.node_id);
    await audit(db, SYSTEM, {
      action: 'automation.bundle',
      targetType: 'node',
      targetId: settled.node_id,
      result: outcome === 'applied' ? 'ok' : 'failed',
      sourceIp: EDGE_SOURCE,
      orgId: node?.org_id ?? null,
      details: {
        siteId: settled.site_id,
        version: settled.version,
        state: outcome,
        schedules: bundle.schedules.map((s) => ({ id: s.id, version: s.version })),
        ...(detail ? { reason: detail } : {}),
      },
    });
    if (outcome === 'applied' || error?.code === 'STALE_BUNDLE') return;
    // The node runs its last applied bundle: what that holds stays the node's, the rest the hub's.
    const running = (await latestBundle(db, settled.node_id, 'applied'))?.bundle as
      | AutomationBundle
      | undefined;
    const kept = new Set(running?.schedules.map((s) => s.id) ?? []);
    for (const s of bundle.schedules) {
      if (kept.has(s.id) || (await executorOf(db, 'schedule', s.id)) !== settled.node_id) continue;
      await setExecutor(db, { kind: 'schedule', id: s.id, siteId: settled.site_id }, null, '');
      await audit(db, SYSTEM, {
        action: 'schedule.executor',
        targetType: 'schedule',
        targetId: s.id,
        result: 'ok',
        sourceIp: EDGE_SOURCE,
        orgId: node?.org_id ?? null,
        details: {
          siteId: settled.site_id,
          executor: 'hub',
          reason: `node ${settled.node_id} did not take bundle v${settled.version} (${outcome}: ${detail}); the hub runs it`,
        },
      });
    }
  }

  /**
   * Executions stored but not recorded (a hub stopped between the two): read again. Events that
   * can never be recorded (a schedule not on that node) are looked at again each time, quietly.
   */
  async sweep(): Promise<number> {
    const now = this.now();
    const batches = await unrecordedExecutionBatches(
      this.hub.db,
      EVENT_KINDS.automationExecution,
      new Date(now - SWEEP_LOOKBACK_MS),
      new Date(now - 30_000),
    );
    let recorded = 0;
    for (const b of batches) recorded += await this.onNodeEvents(b.node_id, b.site_id, b.batch_id, true);
    return recorded;
  }

  /** A node's event batch was stored: its executions go to the run log (once). */
  async onNodeEvents(nodeId: string, siteId: string, batchId: string, quiet = false): Promise<number> {
    const rows = await batchEvents(this.hub.db, nodeId, batchId, EVENT_KINDS.automationExecution);
    let recorded = 0;
    for (const row of rows) {
      const data = typeof row.data === 'string' ? JSON.parse(row.data) : row.data;
      if (!checkExecution.check(data)) {
        if (!quiet)
          this.log.warn(
            { nodeId, problems: checkExecution.problems(data) },
            'automation.execution event ignored',
          );
        continue;
      }
      if (data.source !== 'schedule') continue;
      if (await this.recordExecution(nodeId, siteId, data, quiet)) recorded++;
    }
    return recorded;
  }

  private async recordExecution(
    nodeId: string,
    siteId: string,
    e: AutomationExecution,
    quiet = false,
  ): Promise<boolean> {
    const s = await scheduleForExecution(this.hub.db, e.id);
    if (!s || s.site_id !== siteId || s.channel_id !== e.channelId) {
      if (!quiet)
        this.log.warn({ nodeId, scheduleId: e.id }, 'execution of a schedule not on this node: ignored');
      return false;
    }
    const node: Actor = { kind: 'node', nodeId, siteId };
    const dueAt = new Date(e.dueAt);
    const ranAt = new Date(e.ranAt);
    const recorded = await this.hub.db.transaction().execute(async (trx) => {
      const claimed = await claimEdgeExecution(trx, {
        kind: 'schedule',
        id: e.id,
        dueAt,
        siteId,
        nodeId,
        version: e.version,
        bundleVersion: e.bundleVersion,
        outcome: e.outcome,
        ranAt,
      });
      if (!claimed) return false;
      const reason = `${e.reason} (node ${nodeId}, bundle v${e.bundleVersion})`.slice(0, 2000);
      const runId = await claimRun(trx, {
        schedule_id: e.id,
        schedule_version: e.version,
        site_id: siteId,
        channel_id: e.channelId,
        due_at: dueAt,
        edge: e.edge === 'fire' ? 'once' : e.edge,
        state: e.state,
        outcome: e.outcome,
        reason,
      });
      if (!runId) {
        // The hub has a run for this occurrence too: it must not, so say so loudly (once: the
        // execution stays claimed).
        this.log.error(
          { scheduleId: e.id, dueAt: dueAt.toISOString() },
          'occurrence run by the hub and a node',
        );
        return false;
      }
      await finishRun(trx, runId, {
        outcome: e.outcome,
        reason,
        commandId: null,
        errorCode: e.errorCode ?? null,
        ranAt,
        state: e.state,
      });
      const base = {
        siteId,
        channelId: e.channelId,
        version: e.version,
        name: s.name,
        dueAt: dueAt.toISOString(),
        runId,
        executor: nodeId,
        bundleVersion: e.bundleVersion,
      };
      const switched = e.outcome === 'done' || e.errorCode === 'NOT_CONFIRMED';
      if (switched) {
        const before = await getChannel(trx, e.channelId);
        const failure = e.outcome === 'done' ? null : `State mismatch: ${e.reason}`;
        await recordEdgeSwitch(trx, e.channelId, {
          state: e.state,
          by: `schedule:${s.name}`,
          at: ranAt,
          confirmed: e.confirmed,
          failure,
        });
        const change = e.state !== (before?.desired_state ?? before?.reported_state);
        if (change)
          await logChange(trx, {
            channelId: e.channelId,
            siteId,
            at: ranAt,
            state: e.state,
            origin: 'schedule',
            originId: e.id,
          });
        await audit(trx, node, {
          action: 'equipment.switch',
          targetType: 'equipment_channel',
          targetId: e.channelId,
          result: failure ? 'failed' : 'ok',
          sourceIp: EDGE_SOURCE,
          orgId: s.org_id,
          details: {
            siteId,
            nodeId,
            equipment: e.equipment,
            channel: e.channel,
            state: e.state,
            from: before?.reported_state ?? null,
            origin: 'schedule',
            automation: { kind: 'schedule', id: e.id, name: s.name, version: e.version, reason },
            executor: nodeId,
            bundleVersion: e.bundleVersion,
            change,
          },
        });
      } else if (e.outcome === 'missed' || e.outcome === 'refused' || e.outcome === 'failed') {
        await audit(trx, node, {
          action: e.outcome === 'missed' ? 'schedule.missed' : 'schedule.run',
          targetType: 'schedule',
          targetId: e.id,
          result: e.outcome === 'refused' ? 'denied' : 'failed',
          sourceIp: EDGE_SOURCE,
          orgId: s.org_id,
          details: { ...base, reason, state: e.state, ...(e.errorCode ? { errorCode: e.errorCode } : {}) },
        });
      }
      return true;
    });
    if (recorded) this.hub.bus.emitEvent('equipment.updated', { siteId, nodeId, channelId: e.channelId });
    return recorded;
  }
}
