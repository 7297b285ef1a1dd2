// Switchable equipment and manual control: who may switch (checked here, row-level security
// again in the tenant transactions), the switch itself (desired state → RELAY_SET → the state the
// agent read back → confirmed, or failed with the reason), the node's channel inventory, and the
// org setting that lets owners switch. Every change is announced as 'equipment.updated', which
// the realtime channel fans out to the site's subscribers.
import {
  ChannelInventory,
  COMMAND_ROLES,
  type CommandState,
  checker,
  EVENT_KINDS,
  FINAL_COMMAND_STATES,
  RelaySetResult,
  WattfleetError,
} from '@wattfleet/protocol';
import { audit, auditInTransaction } from '../audit/audit.ts';
import { appSiteScope, assertSiteAccess } from '../auth/access.ts';
import { type Actor, actorId, isFleetAdmin, isOrgAdminOf } from '../auth/actor.ts';
import type { CommandService } from '../commands/commands.service.ts';
import type { HubContext } from '../context.ts';
import { withTenant } from '../identity/tenant.ts';
import {
  applyInventory,
  attachCommand,
  automationSettings,
  type ChannelRow,
  commandOf,
  failPending,
  findChannel,
  getChannel,
  getChannels,
  latestInventory,
  listChannels,
  lockChannel,
  logChange,
  markPending,
  orgExists,
  ownerControl,
  recentChanges,
  recordOutcome,
  setAutomationPaused,
  setLimits,
  setOwnerControl,
  siteOrg,
} from './automation.repository.ts';
import { type LimitRefusal, limitRefusal, switchClock } from './automation.safety.ts';
import type {
  AutomationSettings,
  AutomationSettingsBody,
  BulkResult,
  BulkSwitchBody,
  Channel,
  ChannelLimits,
  ChannelList,
  ControlPermission,
  ControlSettings,
} from './automation.schema.ts';
import type { OnOff } from './automation.tables.ts';

declare module '../context.ts' {
  interface HubEvents {
    /** A channel's desired or reported state or its switch status changed (or the node's inventory did). */
    'equipment.updated': {
      siteId: string;
      nodeId: string;
      channelId?: string;
      status?: string;
      desiredState?: string | null;
      reportedState?: string | null;
      failureReason?: string | null;
    };
  }
}

/** A manual switch is meant now: one that could not reach its node within this long has failed. */
export const SWITCH_TTL_S = 600;

/**
 * Who or what asked for a switch. Manual switches come from a person; automatic ones name the
 * schedule, scene or rule (and its version) and why it acted, so the audit entry and the
 * channel's history can explain every automatic action (issue 13.8).
 */
export type SwitchOrigin =
  | { kind: 'manual' }
  | {
      kind: 'schedule' | 'scene' | 'rule';
      id: string;
      name?: string;
      version?: number;
      /** Human-readable why, e.g. "export 2.3 kW for 5 min ≥ 2 kW" or "weekly window Mon 07:00". */
      reason?: string;
    };
const MANUAL: SwitchOrigin = { kind: 'manual' };

/** Why the switch path refused a switch before anything was sent. */
type Refusal = LimitRefusal | { paused: true; message: string };

const checkInventory = checker(ChannelInventory);
const checkResult = checker(RelaySetResult);
const iso = (d: Date | string | null) => (d ? new Date(d).toISOString() : null);

export function channelView(r: ChannelRow): Channel {
  return {
    id: r.id,
    siteId: r.site_id,
    nodeId: r.node_id,
    nodeName: r.node_name,
    equipment: r.equipment,
    channel: r.channel,
    label: r.label,
    kind: r.kind,
    vendor: r.vendor,
    model: r.model,
    capabilities: r.capabilities,
    present: r.present,
    desiredState: r.desired_state,
    desiredAt: iso(r.desired_at),
    desiredBy: r.desired_by,
    reportedState: r.reported_state,
    reportedAt: iso(r.reported_at),
    status: r.status,
    failureReason: r.failure_reason,
    commandId: r.command_id,
    limits: { minOnS: r.min_on_s, minOffS: r.min_off_s, maxSwitchesPerHour: r.max_switches_per_hour },
    updatedAt: iso(r.updated_at) ?? new Date(0).toISOString(),
  };
}

export class AutomationService {
  /** A channel's limits or the site's pause changed: edge bundles carry both (13.7). */
  onAutomationChanged: ((siteId: string) => void) | undefined;

  constructor(
    private readonly hub: HubContext,
    /** The control plane's command service (delivery, lifecycle, audit of the command itself). */
    private readonly commands: () => CommandService,
  ) {}

  /** Whether the actor may switch on this site, and why not. Assumes read access was checked. */
  /**
   * Editing or running a scene or rule needs the right to switch on its site: without it, 403
   * with the reason, audited as denied under `action` on the target.
   */
  async assertMaySwitch(
    actor: Actor,
    siteId: string,
    denied: { action: string; targetType: string; targetId: string; sourceIp: string },
  ): Promise<void> {
    const p = await this.permission(actor, siteId);
    if (p.canSwitch) return;
    await audit(this.hub.db, actor, {
      action: denied.action,
      targetType: denied.targetType,
      targetId: denied.targetId,
      result: 'denied',
      sourceIp: denied.sourceIp,
      details: { siteId, reason: p.reason },
    });
    throw new WattfleetError('WF_FORBIDDEN', p.reason);
  }

  async permission(actor: Actor, siteId: string): Promise<ControlPermission> {
    if (actor.kind === 'node') return { canSwitch: false, reason: 'Nodes do not switch equipment' };
    if (actor.kind === 'user') {
      if (actor.role === 'viewer') return { canSwitch: false, reason: 'Viewers see the state only' };
      if (!COMMAND_ROLES.RELAY_SET.includes(actor.role))
        return { canSwitch: false, reason: 'Your role may not switch equipment' };
      if (actor.role === 'owner') {
        const orgId = await siteOrg(this.hub.db, siteId);
        if (orgId && !(await ownerControl(this.hub.db, orgId)))
          return { canSwitch: false, reason: 'Your organisation does not allow owners to switch equipment' };
      }
    }
    const scope = await appSiteScope(this.hub, actor, 'write');
    if (scope !== 'all' && !scope.includes(siteId))
      return { canSwitch: false, reason: 'You may not change this site' };
    return { canSwitch: true };
  }

  private async assertMayControl(actor: Actor, siteId: string, sourceIp: string, target: string) {
    await assertSiteAccess(this.hub, actor, siteId, 'read');
    const p = await this.permission(actor, siteId);
    if (!p.canSwitch) {
      await audit(this.hub.db, actor, {
        action: 'equipment.switch',
        targetType: 'equipment_channel',
        targetId: target,
        result: 'denied',
        sourceIp,
        details: { siteId, reason: p.reason },
      });
      throw new WattfleetError('WF_FORBIDDEN', p.reason);
    }
  }

  async list(actor: Actor, siteId: string): Promise<ChannelList> {
    await assertSiteAccess(this.hub, actor, siteId, 'read');
    const rows = await withTenant(this.hub, actor, (trx) => listChannels(trx, siteId));
    return { items: rows.map(channelView), control: await this.permission(actor, siteId) };
  }

  async get(actor: Actor, id: string): Promise<Channel> {
    return channelView(await this.visible(actor, id));
  }

  private async visible(actor: Actor, id: string): Promise<ChannelRow> {
    const row = await withTenant(this.hub, actor, (trx) => getChannel(trx, id));
    if (!row) throw new WattfleetError('WF_NOT_FOUND', 'Channel not found');
    await assertSiteAccess(this.hub, actor, row.site_id, 'read');
    return row;
  }

  async switchOne(actor: Actor, id: string, state: OnOff, sourceIp: string): Promise<Channel> {
    const row = await this.visible(actor, id);
    await this.assertMayControl(actor, row.site_id, sourceIp, row.id);
    return this.switchRow(actor, row, state, sourceIp);
  }

  /** A confirmed bulk action: each channel switched (and audited) on its own, results per channel. */
  async switchMany(
    actor: Actor,
    siteId: string,
    body: BulkSwitchBody,
    sourceIp: string,
  ): Promise<BulkResult> {
    await this.assertMayControl(actor, siteId, sourceIp, siteId);
    const rows = await withTenant(this.hub, actor, (trx) => getChannels(trx, body.channelIds));
    const byId = new Map(rows.filter((r) => r.site_id === siteId).map((r) => [r.id, r]));
    await audit(this.hub.db, actor, {
      action: 'equipment.bulk_switch',
      targetType: 'site',
      targetId: siteId,
      sourceIp,
      details: { state: body.state, channelIds: body.channelIds, confirmed: body.confirm },
    });
    const results: BulkResult['results'] = [];
    for (const channelId of body.channelIds) {
      const row = byId.get(channelId);
      if (!row) {
        results.push({ channelId, ok: false, error: { code: 'WF_NOT_FOUND', message: 'Channel not found' } });
        continue;
      }
      try {
        results.push({
          channelId,
          ok: true,
          channel: await this.switchRow(actor, row, body.state, sourceIp),
        });
      } catch (err) {
        if (!(err instanceof WattfleetError)) throw err;
        results.push({ channelId, ok: false, error: { code: err.code, message: err.message } });
      }
    }
    return { results };
  }

  /**
   * The switch path automation runners use (schedules, scenes, rules): the caller has decided the
   * actor may act (a system actor for hub-run automation); the channel must exist and be switchable.
   */
  async switchAutomatic(
    actor: Actor,
    channelId: string,
    state: OnOff,
    origin: SwitchOrigin,
    sourceIp = 'automation',
    /** How long the RELAY_SET may wait for an offline node (a scene's TTL); default SWITCH_TTL_S. */
    opts: { ttlS?: number } = {},
  ): Promise<Channel> {
    const row = await withTenant(this.hub, actor, (trx) => getChannel(trx, channelId));
    if (!row) throw new WattfleetError('WF_NOT_FOUND', 'Channel not found');
    return this.switchRow(actor, row, state, sourceIp, origin, opts.ttlS);
  }

  private async switchRow(
    actor: Actor,
    row: ChannelRow,
    state: OnOff,
    sourceIp: string,
    origin: SwitchOrigin = MANUAL,
    ttlS = SWITCH_TTL_S,
  ): Promise<Channel> {
    if (!row.present) throw new WattfleetError('WF_CONFLICT', 'The node no longer reports this channel');
    if (!row.capabilities.switch) throw new WattfleetError('WF_CONFLICT', 'This channel cannot be switched');
    const at = new Date();
    // The safety limits' own clock (pinnable in tests); the channel's timestamps stay real.
    const now = switchClock.now();
    const by =
      origin.kind !== 'manual'
        ? `${origin.kind}:${origin.name ?? origin.id}`
        : actor.kind === 'user'
          ? (actor.email ?? actor.userId)
          : (actorId(actor) ?? actor.kind);
    // Under the channel's row lock: the site's pause switch (automatic origins only), then the
    // safety limits against the channel's recent changes; an accepted change is logged with them.
    const refusal = await withTenant(
      this.hub,
      actor,
      async (trx): Promise<Refusal | undefined> => {
        if (!(await lockChannel(trx, row.id))) throw new WattfleetError('WF_NOT_FOUND', 'Channel not found');
        if (origin.kind !== 'manual' && (await automationSettings(trx, row.site_id))?.paused)
          return {
            paused: true,
            message: 'Automation is paused on this site: only manual switches are accepted',
          };
        const current = (await getChannel(trx, row.id)) ?? row;
        const changes = await recentChanges(trx, row.id, new Date(now - 3_600_000));
        const isChange = state !== (changes.at(-1)?.state ?? current.desired_state ?? current.reported_state);
        if (isChange) {
          const limits = {
            minOnS: current.min_on_s,
            minOffS: current.min_off_s,
            maxSwitchesPerHour: current.max_switches_per_hour,
          };
          const refused = limitRefusal(limits, changes, state, now);
          if (refused) return refused;
          await logChange(trx, {
            channelId: row.id,
            siteId: row.site_id,
            at: new Date(now),
            state,
            origin: origin.kind,
            originId: origin.kind === 'manual' ? actorId(actor) : origin.id,
          });
        }
        if (!(await markPending(trx, row.id, { state, by, at })))
          throw new WattfleetError('WF_NOT_FOUND', 'Channel not found');
        await auditInTransaction(trx, actor, {
          action: 'equipment.switch',
          targetType: 'equipment_channel',
          targetId: row.id,
          sourceIp,
          details: {
            siteId: row.site_id,
            nodeId: row.node_id,
            equipment: row.equipment,
            channel: row.channel,
            state,
            from: row.reported_state,
            origin: origin.kind,
            ...(origin.kind === 'manual' ? {} : { automation: origin }),
            change: isChange,
          },
        });
        return undefined;
      },
      'write',
    );
    if (refusal) await this.refuse(actor, row, state, sourceIp, origin, refusal);
    await this.emit(row.site_id, row.node_id, row.id);
    let commandId: string;
    try {
      const cmd = await this.commands().create(
        actor,
        { id: row.node_id, site_id: row.site_id },
        {
          type: 'RELAY_SET',
          args: { equipment: row.equipment, ...(row.channel ? { channel: row.channel } : {}), state },
          ttlS,
        },
        sourceIp,
      );
      commandId = cmd.id;
    } catch (err) {
      await failPending(this.hub.db, row.id, `The command could not be created: ${(err as Error).message}`);
      await this.emit(row.site_id, row.node_id, row.id);
      throw err;
    }
    await attachCommand(this.hub.db, row.id, commandId, at);
    // The node may have answered already (a fast device on a local broker).
    await this.onCommandUpdated(commandId);
    const fresh = await getChannel(this.hub.db, row.id);
    return channelView(fresh ?? row);
  }

  /** A switch the pause or a safety limit refused: audited as denied, answered WF_CONFLICT saying until when. */
  private async refuse(
    actor: Actor,
    row: ChannelRow,
    state: OnOff,
    sourceIp: string,
    origin: SwitchOrigin,
    refusal: Refusal,
  ): Promise<never> {
    const extra =
      'paused' in refusal
        ? { limit: 'automation_paused' }
        : {
            limit: refusal.limit,
            allowedAt: new Date(refusal.allowedAt).toISOString(),
            retryAfterS: Math.max(1, Math.ceil((refusal.allowedAt - switchClock.now()) / 1000)),
          };
    await audit(this.hub.db, actor, {
      action: 'equipment.switch',
      targetType: 'equipment_channel',
      targetId: row.id,
      result: 'denied',
      sourceIp,
      details: {
        siteId: row.site_id,
        state,
        origin: origin.kind,
        ...(origin.kind === 'manual' ? {} : { automation: origin }),
        reason: refusal.message,
        ...extra,
      },
    });
    throw new WattfleetError('WF_CONFLICT', refusal.message, undefined, extra);
  }

  /** Sets a channel's safety limits: those who may switch on the site, owners excepted (they do not loosen them). */
  async setLimits(actor: Actor, id: string, limits: ChannelLimits, sourceIp: string): Promise<Channel> {
    const row = await this.visible(actor, id);
    await this.assertMayControl(actor, row.site_id, sourceIp, row.id);
    if (actor.kind === 'user' && actor.role === 'owner')
      throw new WattfleetError(
        'WF_FORBIDDEN',
        "Safety limits are set by the site's installer or an administrator",
      );
    await withTenant(
      this.hub,
      actor,
      async (trx) => {
        if (!(await setLimits(trx, row.id, limits)))
          throw new WattfleetError('WF_NOT_FOUND', 'Channel not found');
        await auditInTransaction(trx, actor, {
          action: 'equipment.limits',
          targetType: 'equipment_channel',
          targetId: row.id,
          sourceIp,
          details: { siteId: row.site_id, limits },
        });
      },
      'write',
    );
    this.onAutomationChanged?.(row.site_id);
    return this.get(actor, id);
  }

  async automation(actor: Actor, siteId: string): Promise<AutomationSettings> {
    await assertSiteAccess(this.hub, actor, siteId, 'read');
    const r = await withTenant(this.hub, actor, (trx) => automationSettings(trx, siteId));
    return {
      siteId,
      paused: r?.paused ?? false,
      changedBy: r?.changed_by ?? null,
      reason: r?.reason ?? null,
      updatedAt: iso(r?.updated_at ?? null),
    };
  }

  /** Pauses or resumes the site's automation: anyone who may switch there (an owner at home too). */
  async setAutomation(
    actor: Actor,
    siteId: string,
    body: AutomationSettingsBody,
    sourceIp: string,
  ): Promise<AutomationSettings> {
    await this.assertMayControl(actor, siteId, sourceIp, siteId);
    const by = actor.kind === 'user' ? (actor.email ?? actor.userId) : (actorId(actor) ?? actor.kind);
    await withTenant(
      this.hub,
      actor,
      async (trx) => {
        await setAutomationPaused(trx, siteId, { paused: body.paused, by, reason: body.reason ?? null });
        await auditInTransaction(trx, actor, {
          action: body.paused ? 'site.automation_paused' : 'site.automation_resumed',
          targetType: 'site',
          targetId: siteId,
          sourceIp,
          details: { reason: body.reason ?? null },
        });
      },
      'write',
    );
    this.onAutomationChanged?.(siteId);
    return this.automation(actor, siteId);
  }

  /** A RELAY_SET command reached a final state: the channel is confirmed, or failed with the reason. */
  async onCommandUpdated(commandId: string, state?: string): Promise<void> {
    if (state && !(FINAL_COMMAND_STATES as readonly string[]).includes(state)) return;
    const db = this.hub.db;
    const cmd = await commandOf(db, commandId);
    if (cmd?.type !== 'RELAY_SET') return;
    if (!(FINAL_COMMAND_STATES as readonly string[]).includes(cmd.state)) return;
    const args = (typeof cmd.args === 'string' ? JSON.parse(cmd.args) : cmd.args) as {
      equipment?: string;
      channel?: string;
    };
    if (!args.equipment) return;
    const ch = await findChannel(db, cmd.node_id, args.equipment, args.channel ?? '');
    if (ch?.status !== 'pending') return;
    // Only the channel's latest switch decides (an older command finishing late is history only).
    if (ch.command_id !== null && ch.command_id !== cmd.id) return;
    if (ch.command_id === null && ch.desired_at && new Date(cmd.created_at) < ch.desired_at) return;
    const raw = (typeof cmd.result === 'string' ? JSON.parse(cmd.result) : cmd.result) as unknown;
    const reported = checkResult.check(raw) ? raw.state : undefined;
    const error = (typeof cmd.error === 'string' ? JSON.parse(cmd.error) : cmd.error) as {
      code?: string;
      message?: string;
    } | null;
    const desired = ch.desired_state;
    const outcome = ((): { status: 'confirmed' | 'failed'; reason: string | null } => {
      const s = cmd.state as CommandState;
      if (s === 'succeeded') {
        if (reported !== undefined && reported === desired) return { status: 'confirmed', reason: null };
        return {
          status: 'failed',
          reason: `State mismatch: asked ${desired}, device reports ${reported ?? 'nothing'}`,
        };
      }
      if (s === 'failed') {
        const detail = error?.message ?? 'the node reported a failure';
        if (error?.code === 'NOT_CONFIRMED' || (reported !== undefined && reported !== desired))
          return { status: 'failed', reason: `State mismatch: ${detail}` };
        return { status: 'failed', reason: error?.code ? `${error.code}: ${detail}` : detail };
      }
      if (s === 'expired')
        return { status: 'failed', reason: 'The node did not answer in time (command expired)' };
      return { status: 'failed', reason: `The command was ${s}` };
    })();
    await recordOutcome(db, ch.id, { ...outcome, reportedState: reported });
    await this.emit(ch.site_id, ch.node_id, ch.id);
  }

  /** A node's event batch arrived: if it carries a channel inventory, the hub's channels follow it. */
  async onNodeEvents(nodeId: string, siteId: string): Promise<void> {
    const ev = await latestInventory(this.hub.db, nodeId, EVENT_KINDS.channelInventory);
    if (!ev) return;
    const data = typeof ev.data === 'string' ? JSON.parse(ev.data) : ev.data;
    if (!checkInventory.check(data)) return;
    await applyInventory(this.hub.db, { nodeId, siteId }, data.channels);
    await this.emit(siteId, nodeId);
  }

  async settings(actor: Actor, orgId: string): Promise<ControlSettings> {
    if (!isFleetAdmin(actor) && !(actor.kind === 'user' && actor.orgId === orgId))
      throw new WattfleetError('WF_NOT_FOUND', 'Organisation not found');
    if (!(await orgExists(this.hub.db, orgId)))
      throw new WattfleetError('WF_NOT_FOUND', 'Organisation not found');
    return { orgId, ownerControl: await ownerControl(this.hub.db, orgId) };
  }

  async setSettings(actor: Actor, orgId: string, value: boolean, sourceIp: string): Promise<ControlSettings> {
    await this.settings(actor, orgId);
    if (!isFleetAdmin(actor) && !isOrgAdminOf(actor, orgId))
      throw new WattfleetError('WF_FORBIDDEN', "Only the organisation's administrators change this");
    await withTenant(
      this.hub,
      actor,
      async (trx) => {
        await setOwnerControl(trx, orgId, value);
        await auditInTransaction(trx, actor, {
          action: 'org.control_settings',
          targetType: 'org',
          targetId: orgId,
          orgId,
          sourceIp,
          details: { ownerControl: value },
        });
      },
      'write',
    );
    return { orgId, ownerControl: value };
  }

  private async emit(siteId: string, nodeId: string, channelId?: string): Promise<void> {
    if (!channelId) {
      this.hub.bus.emitEvent('equipment.updated', { siteId, nodeId });
      return;
    }
    // Announced with the state it has now, so a portal can update without a round trip.
    const r = await getChannel(this.hub.db, channelId);
    if (!r) return;
    this.hub.bus.emitEvent('equipment.updated', {
      siteId,
      nodeId,
      channelId,
      status: r.status,
      desiredState: r.desired_state,
      reportedState: r.reported_state,
      failureReason: r.failure_reason,
    });
  }
}

/** Who did it, as a run log or audit detail shows it: a user's email, else the actor's id. */
export const actorLabel = (actor: Actor): string =>
  actor.kind === 'user' ? (actor.email ?? actor.userId) : (actorId(actor) ?? actor.kind);
