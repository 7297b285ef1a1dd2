// The only place switchable-equipment SQL lives. Callers pass the Kysely handle: a tenant
// transaction (withTenant: row-level security applies) for what users ask, hub.db for what the
// hub does on its own (inventory from a node, outcomes of RELAY_SET commands).
import type { InventoryChannel } from '@wattfleet/protocol';
import type { Kysely } from 'kysely';
import type { DB } from '../storage/schema.ts';
import type { ChannelStatus, OnOff } from './automation.tables.ts';
import './automation.tables.ts';

export interface ChannelRow {
  id: string;
  site_id: string;
  node_id: string;
  node_name: string;
  equipment: string;
  channel: string;
  label: string | null;
  kind: string;
  vendor: string | null;
  model: string | null;
  capabilities: { switch: boolean; readBack: boolean; edgeAutomation?: boolean };
  present: boolean;
  desired_state: OnOff | null;
  desired_at: Date | null;
  desired_by: string | null;
  reported_state: OnOff | null;
  reported_at: Date | null;
  status: ChannelStatus;
  failure_reason: string | null;
  command_id: string | null;
  updated_at: Date;
  min_on_s: number;
  min_off_s: number;
  max_switches_per_hour: number | null;
}

const json = <T>(v: unknown): T => (typeof v === 'string' ? JSON.parse(v) : v) as T;

function selectChannels(db: Kysely<DB>) {
  return db
    .selectFrom('equipment_channels as c')
    .innerJoin('equipment as e', 'e.id', 'c.equipment_id')
    .innerJoin('nodes as n', 'n.id', 'c.node_id')
    .select([
      'c.id',
      'c.site_id',
      'c.node_id',
      'n.name as node_name',
      'e.key as equipment',
      'c.channel',
      'c.label',
      'e.kind',
      'e.vendor',
      'e.model',
      'c.capabilities',
      'c.present',
      'c.desired_state',
      'c.desired_at',
      'c.desired_by',
      'c.reported_state',
      'c.reported_at',
      'c.status',
      'c.failure_reason',
      'c.command_id',
      'c.updated_at',
      'c.min_on_s',
      'c.min_off_s',
      'c.max_switches_per_hour',
    ]);
}

// biome-ignore lint/suspicious/noExplicitAny: rows come back with the JSON column as text or object.
const toRow = (r: any): ChannelRow => ({ ...r, capabilities: json(r.capabilities) });

export async function listChannels(db: Kysely<DB>, siteId: string): Promise<ChannelRow[]> {
  const rows = await selectChannels(db)
    .where('c.site_id', '=', siteId)
    .orderBy('n.name')
    .orderBy('e.key')
    .orderBy('c.channel')
    .execute();
  return rows.map(toRow);
}

export async function getChannel(db: Kysely<DB>, id: string): Promise<ChannelRow | undefined> {
  const r = await selectChannels(db).where('c.id', '=', id).executeTakeFirst();
  return r ? toRow(r) : undefined;
}

export async function getChannels(db: Kysely<DB>, ids: readonly string[]): Promise<ChannelRow[]> {
  if (ids.length === 0) return [];
  return (
    await selectChannels(db)
      .where('c.id', 'in', [...ids])
      .execute()
  ).map(toRow);
}

/** The channel a RELAY_SET command addresses (node, equipment key, channel). */
export async function findChannel(
  db: Kysely<DB>,
  nodeId: string,
  equipment: string,
  channel: string,
): Promise<ChannelRow | undefined> {
  const r = await selectChannels(db)
    .where('c.node_id', '=', nodeId)
    .where('e.key', '=', equipment)
    .where('c.channel', '=', channel)
    .executeTakeFirst();
  return r ? toRow(r) : undefined;
}

/** A switch was asked for: desired state and pending, the previous command forgotten. */
export async function markPending(
  db: Kysely<DB>,
  id: string,
  desired: { state: OnOff; by: string; at: Date },
): Promise<boolean> {
  const r = await db
    .updateTable('equipment_channels')
    .set({
      desired_state: desired.state,
      desired_at: desired.at,
      desired_by: desired.by,
      command_id: null,
      status: 'pending',
      failure_reason: null,
      updated_at: new Date(),
    })
    .where('id', '=', id)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

/** Links the command to the channel, unless a newer switch has been asked for meanwhile. */
export async function attachCommand(db: Kysely<DB>, id: string, commandId: string, desiredAt: Date) {
  await db
    .updateTable('equipment_channels')
    .set({ command_id: commandId })
    .where('id', '=', id)
    .where('command_id', 'is', null)
    .where('desired_at', '=', desiredAt)
    .execute();
}

export async function failPending(db: Kysely<DB>, id: string, reason: string) {
  await db
    .updateTable('equipment_channels')
    .set({ status: 'failed', failure_reason: reason, updated_at: new Date() })
    .where('id', '=', id)
    .where('status', '=', 'pending')
    .execute();
}

/** The outcome of the channel's command: what the device reported and where the switch stands. */
export async function recordOutcome(
  db: Kysely<DB>,
  id: string,
  outcome: { status: ChannelStatus; reportedState?: OnOff | undefined; reason: string | null },
): Promise<void> {
  await db
    .updateTable('equipment_channels')
    .set({
      status: outcome.status,
      failure_reason: outcome.reason,
      ...(outcome.reportedState ? { reported_state: outcome.reportedState, reported_at: new Date() } : {}),
      updated_at: new Date(),
    })
    .where('id', '=', id)
    .execute();
}

export async function commandOf(db: Kysely<DB>, commandId: string) {
  return db
    .selectFrom('commands')
    .select(['id', 'node_id', 'type', 'args', 'state', 'result', 'error', 'created_at'])
    .where('id', '=', commandId)
    .executeTakeFirst();
}

/** The node's newest channel inventory event. */
export async function latestInventory(db: Kysely<DB>, nodeId: string, kind: string) {
  return db
    .selectFrom('node_events')
    .select(['data', 'ts'])
    .where('node_id', '=', nodeId)
    .where('kind', '=', kind)
    .orderBy('ts', 'desc')
    .orderBy('id', 'desc')
    .executeTakeFirst();
}

/**
 * Writes a node's inventory: equipment rows (the spine's table) and one channel row per
 * switchable channel; channels no longer listed are kept but marked absent. A reported state
 * fills the channel's reported state unless a switch is pending.
 */
export async function applyInventory(
  db: Kysely<DB>,
  node: { nodeId: string; siteId: string },
  channels: readonly InventoryChannel[],
): Promise<number> {
  return db.transaction().execute(async (trx) => {
    const keep: string[] = [];
    for (const c of channels) {
      const eq = await trx
        .insertInto('equipment')
        .values({
          node_id: node.nodeId,
          key: c.equipment,
          kind: c.kind,
          vendor: c.vendor ?? null,
          model: c.model ?? null,
        })
        .onConflict((oc) =>
          oc.columns(['node_id', 'key']).doUpdateSet({
            kind: c.kind,
            vendor: c.vendor ?? null,
            model: c.model ?? null,
          }),
        )
        .returning('id')
        .executeTakeFirstOrThrow();
      const row = await trx
        .insertInto('equipment_channels')
        .values({
          equipment_id: eq.id,
          node_id: node.nodeId,
          site_id: node.siteId,
          channel: c.channel,
          label: c.label ?? null,
          capabilities: JSON.stringify(c.capabilities),
          ...(c.state ? { reported_state: c.state, reported_at: new Date() } : {}),
        })
        .onConflict((oc) =>
          oc.columns(['equipment_id', 'channel']).doUpdateSet({
            label: c.label ?? null,
            capabilities: JSON.stringify(c.capabilities),
            present: true,
            updated_at: new Date(),
          }),
        )
        .returning(['id', 'status'])
        .executeTakeFirstOrThrow();
      if (c.state && row.status !== 'pending') {
        await trx
          .updateTable('equipment_channels')
          .set({ reported_state: c.state, reported_at: new Date() })
          .where('id', '=', row.id)
          .execute();
      }
      keep.push(row.id);
    }
    let gone = trx
      .updateTable('equipment_channels')
      .set({ present: false, updated_at: new Date() })
      .where('node_id', '=', node.nodeId)
      .where('present', '=', true);
    if (keep.length > 0) gone = gone.where('id', 'not in', keep);
    await gone.execute();
    return keep.length;
  });
}

export async function siteOrg(db: Kysely<DB>, siteId: string): Promise<string | undefined> {
  const r = await db.selectFrom('sites').select('org_id').where('id', '=', siteId).executeTakeFirst();
  return r?.org_id;
}

/** Owners may switch unless their org turned it off (no row = allowed). */
export async function ownerControl(db: Kysely<DB>, orgId: string): Promise<boolean> {
  const r = await db
    .selectFrom('org_control_settings')
    .select('owner_control')
    .where('org_id', '=', orgId)
    .executeTakeFirst();
  return r?.owner_control ?? true;
}

export async function orgExists(db: Kysely<DB>, orgId: string): Promise<boolean> {
  return !!(await db.selectFrom('orgs').select('id').where('id', '=', orgId).executeTakeFirst());
}

export async function setOwnerControl(db: Kysely<DB>, orgId: string, value: boolean): Promise<void> {
  await db
    .insertInto('org_control_settings')
    .values({ org_id: orgId, owner_control: value })
    .onConflict((oc) => oc.column('org_id').doUpdateSet({ owner_control: value, updated_at: new Date() }))
    .execute();
}

// ---- switching safety (migration 064) ----

/** Serialises switches of one channel: the limits are checked and the change logged under this lock. */
export async function lockChannel(db: Kysely<DB>, id: string): Promise<boolean> {
  const r = await db
    .selectFrom('equipment_channels')
    .select('id')
    .where('id', '=', id)
    .forUpdate()
    .executeTakeFirst();
  return !!r;
}

/** The channel's accepted state changes since `since`, plus the latest one before it, oldest first. */
export async function recentChanges(
  db: Kysely<DB>,
  channelId: string,
  since: Date,
): Promise<{ at: Date; state: OnOff }[]> {
  const rows = await db
    .selectFrom('equipment_switch_log')
    .select(['at', 'state'])
    .where('channel_id', '=', channelId)
    .orderBy('at', 'desc')
    .orderBy('id', 'desc')
    .where((eb) =>
      eb.or([
        eb('at', '>', since),
        eb(
          'id',
          '=',
          eb
            .selectFrom('equipment_switch_log')
            .select('id')
            .where('channel_id', '=', channelId)
            .orderBy('at', 'desc')
            .orderBy('id', 'desc')
            .limit(1),
        ),
      ]),
    )
    .execute();
  return rows.reverse().map((r) => ({ at: new Date(r.at), state: r.state }));
}

export async function logChange(
  db: Kysely<DB>,
  change: {
    channelId: string;
    siteId: string;
    at: Date;
    state: OnOff;
    origin: string;
    originId: string | null;
  },
): Promise<void> {
  await db
    .insertInto('equipment_switch_log')
    .values({
      channel_id: change.channelId,
      site_id: change.siteId,
      at: change.at,
      state: change.state,
      origin: change.origin,
      origin_id: change.originId,
    })
    .execute();
}

export async function setLimits(
  db: Kysely<DB>,
  id: string,
  limits: { minOnS: number; minOffS: number; maxSwitchesPerHour: number | null },
): Promise<boolean> {
  const r = await db
    .updateTable('equipment_channels')
    .set({
      min_on_s: limits.minOnS,
      min_off_s: limits.minOffS,
      max_switches_per_hour: limits.maxSwitchesPerHour,
      updated_at: new Date(),
    })
    .where('id', '=', id)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

/** The site's automation switch; no row = running. */
export async function automationSettings(db: Kysely<DB>, siteId: string) {
  return db
    .selectFrom('site_automation_settings')
    .select(['paused', 'changed_by', 'reason', 'updated_at'])
    .where('site_id', '=', siteId)
    .executeTakeFirst();
}

export async function setAutomationPaused(
  db: Kysely<DB>,
  siteId: string,
  value: { paused: boolean; by: string; reason: string | null },
): Promise<void> {
  const row = { paused: value.paused, changed_by: value.by, reason: value.reason, updated_at: new Date() };
  await db
    .insertInto('site_automation_settings')
    .values({ site_id: siteId, ...row })
    .onConflict((oc) => oc.column('site_id').doUpdateSet(row))
    .execute();
}
