// Scenes: who may see, edit and activate them (read access to the site to see; the right to switch
// there to edit or activate — checked here, row-level security again in the tenant transactions),
// and activation: one operation that sets every target through the automation switch path (so the
// safety limits and the site's pause apply, and each switch names the scene and its version), with
// a result per target kept in scene_activation_targets and settled as the commands confirm, fail
// or expire. Repeating an activation is idempotent: a channel already in its state is 'unchanged',
// one still waiting for the same state keeps its command rather than getting a second one.
import { WattfleetError } from '@wattfleet/protocol';
import { audit, auditInTransaction } from '../../audit/audit.ts';
import { assertSiteAccess } from '../../auth/access.ts';
import type { Actor } from '../../auth/actor.ts';
import type { HubContext } from '../../context.ts';
import { withTenant } from '../../identity/tenant.ts';
import { type ChannelRow, getChannel } from '../automation.repository.ts';
import { type AutomationService, actorLabel } from '../automation.service.ts';
import {
  type ActivationRow,
  channelsOfSite,
  commandState,
  deleteScene,
  getActivation,
  getScene,
  insertActivation,
  insertScene,
  insertTargets,
  listActivations,
  listScenes,
  markSettledIfDone,
  pendingTargets,
  recordTarget,
  type SceneRow,
  sceneNameTaken,
  settleTarget,
  type TargetRow,
  targetsOf,
  updateScene,
} from './scenes.repository.ts';
import type { Activation, ActivationList, Scene, SceneBody, SceneList } from './scenes.schema.ts';
import type { TargetOutcome } from './scenes.tables.ts';

const DEFAULT_TTL_S = 600;

export function sceneView(r: SceneRow): Scene {
  return {
    id: r.id,
    siteId: r.site_id,
    name: r.name,
    description: r.description,
    version: r.version,
    ttlS: r.ttl_s,
    targets: r.targets,
    createdAt: new Date(r.created_at).toISOString(),
    updatedAt: new Date(r.updated_at).toISOString(),
  };
}

function activationView(a: ActivationRow, targets: TargetRow[]): Activation {
  const ok = targets.filter((t) => t.outcome === 'confirmed' || t.outcome === 'unchanged').length;
  const status = targets.some((t) => t.outcome === 'pending')
    ? 'pending'
    : ok === targets.length
      ? 'succeeded'
      : ok === 0
        ? 'failed'
        : 'partial';
  return {
    id: a.id,
    sceneId: a.scene_id,
    siteId: a.site_id,
    sceneName: a.scene_name,
    sceneVersion: a.scene_version,
    activatedBy: a.activated_by,
    status,
    createdAt: new Date(a.created_at).toISOString(),
    settledAt: a.settled_at ? new Date(a.settled_at).toISOString() : null,
    targets: targets.map((t) => ({
      channelId: t.channel_id,
      state: t.state,
      outcome: t.outcome,
      errorCode: t.error_code,
      reason: t.reason,
      commandId: t.command_id,
      updatedAt: new Date(t.updated_at).toISOString(),
    })),
  };
}

/** A target's outcome from its channel, once the channel's switch (this command) has settled. */
function outcomeOf(ch: ChannelRow): { outcome: TargetOutcome; reason: string | null } | undefined {
  if (ch.status === 'confirmed') return { outcome: 'confirmed', reason: null };
  if (ch.status === 'failed') return { outcome: 'failed', reason: ch.failure_reason };
  return undefined;
}

export class SceneService {
  constructor(
    private readonly hub: HubContext,
    private readonly automation: AutomationService,
  ) {}

  async list(actor: Actor, siteId: string): Promise<SceneList> {
    await assertSiteAccess(this.hub, actor, siteId, 'read');
    const rows = await withTenant(this.hub, actor, (trx) => listScenes(trx, siteId));
    return { items: rows.map(sceneView) };
  }

  async get(actor: Actor, id: string): Promise<Scene> {
    return sceneView(await this.visible(actor, id));
  }

  private async visible(actor: Actor, id: string): Promise<SceneRow> {
    const row = await withTenant(this.hub, actor, (trx) => getScene(trx, id));
    if (!row) throw new WattfleetError('WF_NOT_FOUND', 'Scene not found');
    await assertSiteAccess(this.hub, actor, row.site_id, 'read');
    return row;
  }

  /** 400 naming the field when a target is repeated or is not a channel of the site; 409 on a taken name. */
  private async checkBody(actor: Actor, siteId: string, body: SceneBody, except?: string) {
    const ids = body.targets.map((t) => t.channelId);
    const seen = new Set<string>();
    const problems: { path: string; message: string }[] = [];
    const own = await withTenant(this.hub, actor, (trx) => channelsOfSite(trx, siteId, ids));
    ids.forEach((id, i) => {
      if (seen.has(id))
        problems.push({ path: `/body/targets/${i}/channelId`, message: 'Channel listed twice' });
      else if (!own.has(id))
        problems.push({ path: `/body/targets/${i}/channelId`, message: 'Not a channel of this site' });
      seen.add(id);
    });
    if (problems.length) throw new WattfleetError('WF_VALIDATION', 'Invalid scene targets', problems);
    if (await withTenant(this.hub, actor, (trx) => sceneNameTaken(trx, siteId, body.name, except)))
      throw new WattfleetError('WF_CONFLICT', `A scene named "${body.name}" exists on this site`);
  }

  async create(actor: Actor, siteId: string, body: SceneBody, sourceIp: string): Promise<Scene> {
    await assertSiteAccess(this.hub, actor, siteId, 'read');
    await this.automation.assertMaySwitch(actor, siteId, {
      action: 'scene.create',
      targetType: 'scene',
      targetId: siteId,
      sourceIp,
    });
    await this.checkBody(actor, siteId, body);
    const row = await withTenant(
      this.hub,
      actor,
      async (trx) => {
        const created = await insertScene(trx, {
          siteId,
          name: body.name,
          description: body.description ?? null,
          ttlS: body.ttlS ?? DEFAULT_TTL_S,
          targets: body.targets,
        });
        await auditInTransaction(trx, actor, {
          action: 'scene.create',
          targetType: 'scene',
          targetId: created.id,
          sourceIp,
          details: { siteId, name: body.name, version: created.version, targets: body.targets },
        });
        return created;
      },
      'write',
    );
    return sceneView(row);
  }

  async update(actor: Actor, id: string, body: SceneBody, sourceIp: string): Promise<Scene> {
    const scene = await this.visible(actor, id);
    await this.automation.assertMaySwitch(actor, scene.site_id, {
      action: 'scene.update',
      targetType: 'scene',
      targetId: id,
      sourceIp,
    });
    await this.checkBody(actor, scene.site_id, body, id);
    const row = await withTenant(
      this.hub,
      actor,
      async (trx) => {
        const updated = await updateScene(trx, id, {
          name: body.name,
          description: body.description ?? null,
          ttlS: body.ttlS ?? DEFAULT_TTL_S,
          targets: body.targets,
        });
        if (!updated) throw new WattfleetError('WF_NOT_FOUND', 'Scene not found');
        await auditInTransaction(trx, actor, {
          action: 'scene.update',
          targetType: 'scene',
          targetId: id,
          sourceIp,
          details: {
            siteId: scene.site_id,
            name: body.name,
            version: updated.version,
            targets: body.targets,
          },
        });
        return updated;
      },
      'write',
    );
    return sceneView(row);
  }

  async remove(actor: Actor, id: string, sourceIp: string): Promise<void> {
    const scene = await this.visible(actor, id);
    await this.automation.assertMaySwitch(actor, scene.site_id, {
      action: 'scene.delete',
      targetType: 'scene',
      targetId: id,
      sourceIp,
    });
    await withTenant(
      this.hub,
      actor,
      async (trx) => {
        if (!(await deleteScene(trx, id))) throw new WattfleetError('WF_NOT_FOUND', 'Scene not found');
        await auditInTransaction(trx, actor, {
          action: 'scene.delete',
          targetType: 'scene',
          targetId: id,
          sourceIp,
          details: { siteId: scene.site_id, name: scene.name, version: scene.version },
        });
      },
      'write',
    );
  }

  /** Sets every target of the scene; answers with one result per target (some may still be pending). */
  async activate(actor: Actor, id: string, sourceIp: string): Promise<Activation> {
    const scene = await this.visible(actor, id);
    await this.automation.assertMaySwitch(actor, scene.site_id, {
      action: 'scene.activate',
      targetType: 'scene',
      targetId: id,
      sourceIp,
    });
    const by = actorLabel(actor);
    const activation = await withTenant(
      this.hub,
      actor,
      async (trx) => {
        const created = await insertActivation(trx, {
          sceneId: scene.id,
          siteId: scene.site_id,
          sceneName: scene.name,
          sceneVersion: scene.version,
          activatedBy: by,
        });
        await insertTargets(trx, created.id, scene.site_id, scene.targets);
        return created;
      },
      'write',
    );
    const origin = {
      kind: 'scene' as const,
      id: scene.id,
      name: scene.name,
      version: scene.version,
      reason: `scene "${scene.name}" v${scene.version} activated by ${by}`,
    };
    for (const target of scene.targets) {
      const result = await this.setTarget(actor, scene, target.channelId, target.state, origin, sourceIp);
      await withTenant(
        this.hub,
        actor,
        (trx) => recordTarget(trx, { activationId: activation.id, channelId: target.channelId }, result),
        'write',
      );
    }
    // A command may have settled between the switch and the target row: catch up on it.
    for (const t of await targetsOf(this.hub.db, [activation.id]))
      if (t.outcome === 'pending') await this.onChannelSettled(t.channel_id);
    const targets = await targetsOf(this.hub.db, [activation.id]);
    const view = activationView(activation, targets);
    await audit(this.hub.db, actor, {
      action: 'scene.activate',
      targetType: 'scene',
      targetId: scene.id,
      result: view.status === 'partial' || view.status === 'failed' ? 'failed' : 'ok',
      sourceIp,
      details: {
        siteId: scene.site_id,
        activationId: activation.id,
        version: scene.version,
        status: view.status,
        targets: view.targets.map((t) => ({
          channelId: t.channelId,
          state: t.state,
          outcome: t.outcome,
          reason: t.reason,
        })),
      },
    });
    await this.settleIfDone(activation.id);
    return this.activation(actor, activation.id);
  }

  private async setTarget(
    actor: Actor,
    scene: SceneRow,
    channelId: string,
    state: 'on' | 'off',
    origin: { kind: 'scene'; id: string; name: string; version: number; reason: string },
    sourceIp: string,
  ): Promise<{
    outcome: TargetOutcome;
    errorCode: string | null;
    reason: string | null;
    commandId: string | null;
  }> {
    const ch = await withTenant(this.hub, actor, (trx) => getChannel(trx, channelId));
    if (!ch || ch.site_id !== scene.site_id)
      return { outcome: 'refused', errorCode: 'WF_NOT_FOUND', reason: 'Channel not found', commandId: null };
    // Idempotent repeat: nothing is sent for a channel in (or on its way to) the scene's state.
    if (ch.desired_state === state && ch.status === 'pending' && ch.command_id)
      return { outcome: 'pending', errorCode: null, reason: null, commandId: ch.command_id };
    const inState =
      (ch.status === 'confirmed' && ch.desired_state === state) ||
      (ch.status === 'unknown' && ch.reported_state === state);
    if (inState)
      return { outcome: 'unchanged', errorCode: null, reason: `Already ${state}`, commandId: null };
    try {
      const after = await this.automation.switchAutomatic(actor, channelId, state, origin, sourceIp, {
        ttlS: scene.ttl_s,
      });
      const settled = after.status === 'confirmed' || after.status === 'failed';
      return {
        outcome: settled ? (after.status as 'confirmed' | 'failed') : 'pending',
        errorCode: null,
        reason: after.status === 'failed' ? after.failureReason : null,
        commandId: after.commandId,
      };
    } catch (err) {
      if (!(err instanceof WattfleetError)) throw err;
      return { outcome: 'refused', errorCode: err.code, reason: err.message, commandId: null };
    }
  }

  async activation(actor: Actor, id: string): Promise<Activation> {
    const a = await withTenant(this.hub, actor, (trx) => getActivation(trx, id));
    if (!a) throw new WattfleetError('WF_NOT_FOUND', 'Activation not found');
    await assertSiteAccess(this.hub, actor, a.site_id, 'read');
    return activationView(a, await withTenant(this.hub, actor, (trx) => targetsOf(trx, [id])));
  }

  async activations(actor: Actor, sceneId: string, limit = 20): Promise<ActivationList> {
    await this.visible(actor, sceneId);
    return withTenant(this.hub, actor, async (trx) => {
      const rows = await listActivations(trx, sceneId, limit);
      const targets = await targetsOf(
        trx,
        rows.map((r) => r.id),
      );
      return {
        items: rows.map((r) =>
          activationView(
            r,
            targets.filter((t) => t.activation_id === r.id),
          ),
        ),
      };
    });
  }

  // ---- outcomes, as the hub learns them (system context) ----

  /** A channel's switch settled ('equipment.updated'): the pending targets waiting on its command follow. */
  async onChannelSettled(channelId: string): Promise<void> {
    const ch = await getChannel(this.hub.db, channelId);
    const outcome = ch && outcomeOf(ch);
    if (!ch || !outcome) return;
    for (const t of await pendingTargets(this.hub.db, { channelId })) {
      if (t.command_id !== ch.command_id) continue;
      if (await settleTarget(this.hub.db, { activationId: t.activation_id, channelId }, outcome))
        await this.settleIfDone(t.activation_id);
    }
  }

  /**
   * A command finished ('command.updated'). Targets whose channel has moved on to a newer switch
   * are settled from the command itself (the channel no longer reports on it).
   */
  async onCommandFinished(commandId: string): Promise<void> {
    const targets = await pendingTargets(this.hub.db, { commandId });
    if (targets.length === 0) return;
    const cmd = await commandState(this.hub.db, commandId);
    if (!cmd) return;
    for (const t of targets) {
      const ch = await getChannel(this.hub.db, t.channel_id);
      if (ch?.command_id === commandId) continue; // the channel's own outcome decides (onChannelSettled)
      const outcome: { outcome: TargetOutcome; reason: string | null } =
        cmd.state === 'succeeded'
          ? { outcome: 'confirmed', reason: 'Confirmed; a later switch has changed the channel since' }
          : { outcome: 'failed', reason: `The command was ${cmd.state} (a later switch superseded it)` };
      if (
        await settleTarget(this.hub.db, { activationId: t.activation_id, channelId: t.channel_id }, outcome)
      )
        await this.settleIfDone(t.activation_id);
    }
  }

  /**
   * The last pending target settled: the activation is marked settled and its final result goes to
   * the audit log, in one transaction (whoever sees settledAt finds the entry).
   */
  private async settleIfDone(activationId: string): Promise<void> {
    await this.hub.db.transaction().execute(async (trx) => {
      if (!(await markSettledIfDone(trx, activationId))) return;
      const a = await getActivation(trx, activationId);
      if (!a) return;
      const view = activationView(a, await targetsOf(trx, [activationId]));
      await audit(
        trx,
        { kind: 'system' },
        {
          action: 'scene.activation_settled',
          targetType: 'scene',
          targetId: a.scene_id,
          result: view.status === 'succeeded' ? 'ok' : 'failed',
          details: {
            siteId: a.site_id,
            activationId,
            version: a.scene_version,
            status: view.status,
            targets: view.targets.map((t) => ({
              channelId: t.channelId,
              outcome: t.outcome,
              reason: t.reason,
            })),
          },
        },
      );
    });
  }
}
