// Staged rollouts: creating a plan (validated, audited), pausing, resuming and aborting it, and
// the job step (tick) that executes every active plan from the database. tick() keeps no state
// between runs: a hub that restarts mid-rollout, or another hub that takes the job lock, carries
// on from the rows (which SELF_UPDATE went out, what each command and node answered since).
import {
  type CreateRolloutBody,
  type Rollout,
  type RolloutAction,
  type RolloutDetail,
  type RolloutState,
  WattfleetError,
} from '@wattfleet/protocol';
import type { Kysely } from 'kysely';
import { audit } from '../audit/audit.ts';
import { type Actor, actorId, isFleetAdmin } from '../auth/actor.ts';
import type { CommandService } from '../commands/commands.service.ts';
import type { HubContext } from '../context.ts';
import type { DB } from '../storage/schema.ts';
import { DEFAULT_RINGS, planRings, sameVersion } from './rollouts.plan.ts';
import type { RolloutNodeRow, RolloutRow } from './rollouts.repository.ts';
import * as repo from './rollouts.repository.ts';

export interface RolloutServiceOptions {
  now?: () => number;
  /**
   * After the agent reported success, how long past the gate a node may take to come back online
   * on the new version (its next heartbeat, every 60 s) before it counts as failed.
   */
  onlineGraceMs?: number;
}

const DEFAULTS = { ringWaitS: 600, gateS: 600, maxFailureRate: 0 };
const FINAL_NODE_STATES = ['succeeded', 'failed', 'skipped'];
const ACTIONS: Record<RolloutAction, { from: RolloutState[]; to: RolloutState }> = {
  pause: { from: ['running'], to: 'paused' },
  resume: { from: ['paused'], to: 'running' },
  abort: { from: ['running', 'paused', 'halted'], to: 'aborted' },
};

export function rolloutView(row: RolloutRow): Rollout {
  return {
    id: row.id,
    tag: row.tag,
    state: row.state,
    rings: row.rings,
    ringWaitS: row.ring_wait_s,
    gateS: row.gate_s,
    maxFailureRate: row.max_failure_rate,
    currentRing: row.current_ring,
    haltReason: row.halt_reason,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

export class RolloutService {
  private readonly now: () => number;
  private readonly onlineGraceMs: number;

  constructor(
    private readonly hub: HubContext,
    private readonly commands: () => CommandService,
    opts: RolloutServiceOptions = {},
  ) {
    this.now = opts.now ?? Date.now;
    this.onlineGraceMs = opts.onlineGraceMs ?? 180_000;
  }

  private get db(): Kysely<DB> {
    return this.hub.db;
  }

  private async requireAdmin(
    actor: Actor,
    action: string,
    targetId?: string,
    sourceIp?: string,
  ): Promise<void> {
    if (isFleetAdmin(actor)) return;
    await audit(this.db, actor, {
      action,
      targetType: 'rollout',
      ...(targetId ? { targetId } : {}),
      result: 'denied',
      sourceIp,
    });
    throw new WattfleetError('WF_FORBIDDEN', 'Rollouts are for fleet admins');
  }

  // ---- what admins ask for ----

  async create(actor: Actor, body: CreateRolloutBody, sourceIp?: string): Promise<RolloutDetail> {
    await this.requireAdmin(actor, 'rollout.create', undefined, sourceIp);
    const plan = planRings(body.nodeIds.length, body.rings ?? DEFAULT_RINGS);
    const found = new Map((await repo.nodesForPlan(this.db, body.nodeIds)).map((n) => [n.id, n]));
    const problems = body.nodeIds.flatMap((id, i) => {
      const n = found.get(id);
      const why = !n
        ? 'no such node'
        : !n.active
          ? 'node is deactivated'
          : n.kind !== 'agent'
            ? `a ${n.kind} node has no agent to update`
            : null;
      return why ? [{ path: `/body/nodeIds/${i}`, message: why }] : [];
    });
    if (problems.length) throw new WattfleetError('WF_VALIDATION', 'Some nodes cannot be updated', problems);
    const busy = await repo.nodesInActiveRollouts(this.db, body.nodeIds);
    if (busy.length)
      throw new WattfleetError('WF_CONFLICT', 'Some nodes are already in an active rollout', undefined, {
        nodeIds: busy,
      });
    const now = new Date(this.now());
    const row = await this.db.transaction().execute(async (trx) => {
      const created = await repo.insertRollout(
        trx,
        {
          org_id: actor.kind === 'user' ? actor.orgId : null,
          tag: body.tag,
          rings: JSON.stringify(plan.rings),
          ring_wait_s: body.ringWaitS ?? DEFAULTS.ringWaitS,
          gate_s: body.gateS ?? DEFAULTS.gateS,
          max_failure_rate: body.maxFailureRate ?? DEFAULTS.maxFailureRate,
          created_by_type: actor.kind,
          created_by_id: actorId(actor),
          created_at: now,
          updated_at: now,
        },
        body.nodeIds.map((id, i) => ({
          node_id: id,
          site_id: found.get(id)!.site_id,
          ring: plan.ringOf[i]!,
          position: i,
          from_version: found.get(id)!.agent_version,
        })),
      );
      await audit(trx, actor, {
        action: 'rollout.create',
        targetType: 'rollout',
        targetId: created.id,
        sourceIp,
        details: {
          tag: body.tag,
          nodes: body.nodeIds.length,
          rings: plan.rings,
          gateS: created.gate_s,
          ringWaitS: created.ring_wait_s,
          maxFailureRate: created.max_failure_rate,
        },
      });
      return created;
    });
    return this.detailOf(row);
  }

  async list(actor: Actor): Promise<Rollout[]> {
    await this.requireAdmin(actor, 'rollout.read');
    return (await repo.listRollouts(this.db)).map(rolloutView);
  }

  async get(actor: Actor, id: string): Promise<RolloutDetail> {
    await this.requireAdmin(actor, 'rollout.read', id);
    const row = await repo.findRollout(this.db, id);
    if (!row) throw new WattfleetError('WF_NOT_FOUND', 'Rollout not found');
    return this.detailOf(row);
  }

  async act(actor: Actor, id: string, action: RolloutAction, sourceIp?: string): Promise<RolloutDetail> {
    await this.requireAdmin(actor, `rollout.${action}`, id, sourceIp);
    const existing = await repo.findRollout(this.db, id);
    if (!existing) throw new WattfleetError('WF_NOT_FOUND', 'Rollout not found');
    const { from, to } = ACTIONS[action];
    const now = new Date(this.now());
    const row = await this.db.transaction().execute(async (trx) => {
      const moved = await repo.setRolloutState(trx, id, from, { state: to }, now);
      if (!moved) return undefined;
      // Nodes already updating finish (an agent is never stopped mid-update); the rest never start.
      if (to === 'aborted') await repo.skipWaiting(trx, id, 'rollout aborted', now);
      await audit(trx, actor, {
        action: `rollout.${action}`,
        targetType: 'rollout',
        targetId: id,
        sourceIp,
        details: { from: existing.state },
      });
      return moved;
    });
    if (!row) throw new WattfleetError('WF_CONFLICT', `A ${existing.state} rollout cannot ${action}`);
    return this.detailOf(row);
  }

  private async detailOf(row: RolloutRow): Promise<RolloutDetail> {
    const nodes = await repo.rolloutNodes(this.db, row.id);
    return {
      rollout: rolloutView(row),
      ringSummary: row.rings.map((_, index) => {
        const ring = nodes.filter((n) => n.ring === index);
        const failed = ring.filter((n) => n.state === 'failed').length;
        const succeeded = ring.filter((n) => n.state === 'succeeded').length;
        return { index, size: ring.length, succeeded, failed, pending: ring.length - failed - succeeded };
      }),
      nodes: nodes.map((n) => ({
        nodeId: n.node_id,
        nodeName: n.node_name,
        siteId: n.site_id,
        ring: n.ring,
        state: n.state,
        commandId: n.command_id,
        fromVersion: n.from_version,
        reason: n.reason,
        startedAt: n.started_at?.toISOString() ?? null,
        settledAt: n.settled_at?.toISOString() ?? null,
      })),
    };
  }

  // ---- the job ----

  /** One pass over every active rollout; the scheduler runs it under an advisory lock. */
  async tick(): Promise<void> {
    for (const rollout of await repo.rolloutsToTrack(this.db)) await this.step(rollout);
  }

  private async step(rollout: RolloutRow): Promise<void> {
    // A loop: a ring that settles and has no wait starts the next ring in the same pass.
    for (let guard = 0; guard <= rollout.rings.length; guard++) {
      const nodes = await repo.rolloutNodes(this.db, rollout.id);
      for (const n of nodes) await this.follow(rollout, n);
      if (rollout.state !== 'running') return;
      const ring = (await repo.rolloutNodes(this.db, rollout.id)).filter(
        (n) => n.ring === rollout.current_ring,
      );
      if (await this.haltIfFailing(rollout, ring)) return;
      const waiting = ring.filter((n) => n.state === 'waiting');
      if (waiting.length) {
        for (const n of waiting) await this.start(rollout, n);
        return;
      }
      if (!ring.every((n) => FINAL_NODE_STATES.includes(n.state))) return;
      const next = await this.advance(rollout);
      if (!next) return;
      rollout = next;
    }
  }

  /** Sends SELF_UPDATE to one node of the current ring. */
  private async start(rollout: RolloutRow, n: RolloutNodeRow): Promise<void> {
    const now = new Date(this.now());
    const health = await repo.nodeHealth(this.db, n.node_id);
    if (!health?.active) {
      await repo.updateRolloutNode(this.db, rollout.id, n.node_id, 'waiting', {
        state: 'failed',
        reason: 'node deactivated',
        settled_at: now,
      });
      return;
    }
    // Claim the node before sending, so two passes never send two commands.
    const claimed = await repo.updateRolloutNode(this.db, rollout.id, n.node_id, 'waiting', {
      state: 'updating',
      started_at: now,
      from_version: health.agent_version,
    });
    if (!claimed) return;
    try {
      const cmd = await this.commands().create(
        { kind: 'system' },
        { id: n.node_id, site_id: n.site_id },
        { type: 'SELF_UPDATE', args: { tag: rollout.tag }, ttlS: Math.max(3600, rollout.gate_s * 2) },
      );
      await this.db
        .updateTable('rollout_nodes')
        .set({ command_id: cmd.id })
        .where('rollout_id', '=', rollout.id)
        .where('node_id', '=', n.node_id)
        .execute();
    } catch (err) {
      await repo.updateRolloutNode(this.db, rollout.id, n.node_id, 'updating', {
        state: 'failed',
        reason: `SELF_UPDATE not sent: ${(err as Error).message}`,
        settled_at: now,
      });
    }
  }

  /** Moves a node in flight along: its command's verdict, then the health gate. */
  private async follow(rollout: RolloutRow, n: RolloutNodeRow): Promise<void> {
    const now = this.now();
    const fail = (from: 'updating' | 'verifying', reason: string) =>
      repo.updateRolloutNode(this.db, rollout.id, n.node_id, from, {
        state: 'failed',
        reason,
        settled_at: new Date(now),
      });
    if (n.state === 'updating' && n.command_id) {
      const cmd = await repo.commandOutcome(this.db, n.command_id);
      if (!cmd) return;
      if (cmd.state === 'succeeded') {
        await repo.updateRolloutNode(this.db, rollout.id, n.node_id, 'updating', {
          state: 'verifying',
          verify_since: new Date(now),
        });
        n = { ...n, state: 'verifying', verify_since: new Date(now) };
      } else if (cmd.state === 'failed') {
        await fail('updating', cmd.error ? `${cmd.error.code}: ${cmd.error.message}` : 'SELF_UPDATE failed');
        return;
      } else if (cmd.state === 'expired' || cmd.state === 'cancelled') {
        await fail('updating', `SELF_UPDATE ${cmd.state}`);
        return;
      } else return;
    }
    if (n.state !== 'verifying' || !n.verify_since || !n.started_at) return;
    // Anything wrong since the update began fails the gate at once.
    const event = await repo.errorEventSince(this.db, n.node_id, n.started_at);
    if (event) {
      await fail('verifying', `error event after update (${event.kind}): ${event.message}`);
      return;
    }
    const alert = await repo.alertSince(this.db, n.node_id, n.started_at);
    if (alert) {
      await fail('verifying', `alert after update (${alert.rule}): ${alert.message}`);
      return;
    }
    const elapsed = now - n.verify_since.getTime();
    if (elapsed < rollout.gate_s * 1000) return;
    const health = await repo.nodeHealth(this.db, n.node_id);
    if (health?.status === 'online' && sameVersion(health.agent_version, rollout.tag)) {
      await repo.updateRolloutNode(this.db, rollout.id, n.node_id, 'verifying', {
        state: 'succeeded',
        settled_at: new Date(now),
      });
    } else if (elapsed >= rollout.gate_s * 1000 + this.onlineGraceMs) {
      await fail(
        'verifying',
        `not back online on ${rollout.tag} (status ${health?.status ?? 'unknown'}, version ${health?.agent_version ?? 'unknown'})`,
      );
    }
  }

  /** Halts the rollout as soon as the ring's failures exceed the threshold (not waiting for the rest). */
  private async haltIfFailing(rollout: RolloutRow, ring: RolloutNodeRow[]): Promise<boolean> {
    const failed = ring.filter((n) => n.state === 'failed');
    if (!failed.length || failed.length / ring.length <= rollout.max_failure_rate) return false;
    const now = new Date(this.now());
    const reason =
      `ring ${rollout.current_ring + 1}: ${failed.length} of ${ring.length} node(s) failed ` +
      `(more than ${Math.round(rollout.max_failure_rate * 100)} %): ` +
      failed.map((n) => `${n.node_name}: ${n.reason}`).join('; ');
    await this.db.transaction().execute(async (trx) => {
      const halted = await repo.setRolloutState(
        trx,
        rollout.id,
        ['running'],
        { state: 'halted', halt_reason: reason },
        now,
      );
      if (!halted) return;
      await repo.skipWaiting(trx, rollout.id, 'rollout halted', now);
      await audit(
        trx,
        { kind: 'system' },
        {
          action: 'rollout.halt',
          targetType: 'rollout',
          targetId: rollout.id,
          result: 'failed',
          details: {
            ring: rollout.current_ring,
            failed: failed.map((n) => ({ nodeId: n.node_id, reason: n.reason })),
          },
        },
      );
    });
    return true;
  }

  /** The ring settled healthy: wait ringWaitS, then start the next ring (or complete). */
  private async advance(rollout: RolloutRow): Promise<RolloutRow | undefined> {
    const now = this.now();
    const last = rollout.current_ring + 1 >= rollout.rings.length;
    // The wait is between rings: the last ring settling completes the rollout.
    if (!last && !rollout.ring_settled_at) {
      const settled = await repo.setRolloutState(
        this.db,
        rollout.id,
        ['running'],
        { ring_settled_at: new Date(now) },
        new Date(now),
      );
      if (!settled) return undefined;
      rollout = settled;
    }
    if (!last && now - rollout.ring_settled_at!.getTime() < rollout.ring_wait_s * 1000) return undefined;
    const moved = await repo.setRolloutState(
      this.db,
      rollout.id,
      ['running'],
      last
        ? { state: 'completed', ring_settled_at: null }
        : { current_ring: rollout.current_ring + 1, ring_settled_at: null },
      new Date(now),
    );
    if (moved && last)
      await audit(
        this.db,
        { kind: 'system' },
        { action: 'rollout.complete', targetType: 'rollout', targetId: rollout.id },
      );
    return moved && !last ? moved : undefined;
  }
}
