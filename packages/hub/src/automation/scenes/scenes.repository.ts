// The only place scene SQL lives. Callers pass a tenant transaction (withTenant: row-level
// security applies) for what users ask, hub.db for what the hub does on its own (outcomes of
// the commands an activation sent).
import type { Kysely } from 'kysely';
import type { DB } from '../../storage/schema.ts';
import type { OnOff } from '../automation.tables.ts';
import type { SceneTargetValue, TargetOutcome } from './scenes.tables.ts';
import './scenes.tables.ts';

export interface SceneRow {
  id: string;
  site_id: string;
  name: string;
  description: string | null;
  version: number;
  ttl_s: number;
  targets: SceneTargetValue[];
  created_at: Date;
  updated_at: Date;
}

export interface ActivationRow {
  id: string;
  scene_id: string;
  site_id: string;
  scene_name: string;
  scene_version: number;
  activated_by: string;
  settled_at: Date | null;
  created_at: Date;
}

export interface TargetRow {
  activation_id: string;
  channel_id: string;
  state: OnOff;
  outcome: TargetOutcome;
  error_code: string | null;
  reason: string | null;
  command_id: string | null;
  updated_at: Date;
}

const json = <T>(v: unknown): T => (typeof v === 'string' ? JSON.parse(v) : v) as T;
// biome-ignore lint/suspicious/noExplicitAny: the JSON column comes back as text or object.
const toScene = (r: any): SceneRow => ({ ...r, targets: json(r.targets) });

export async function listScenes(db: Kysely<DB>, siteId: string): Promise<SceneRow[]> {
  const rows = await db
    .selectFrom('scenes')
    .selectAll()
    .where('site_id', '=', siteId)
    .orderBy('name')
    .execute();
  return rows.map(toScene);
}

export async function getScene(db: Kysely<DB>, id: string): Promise<SceneRow | undefined> {
  const r = await db.selectFrom('scenes').selectAll().where('id', '=', id).executeTakeFirst();
  return r ? toScene(r) : undefined;
}

export async function sceneNameTaken(db: Kysely<DB>, siteId: string, name: string, except?: string) {
  let q = db.selectFrom('scenes').select('id').where('site_id', '=', siteId).where('name', '=', name);
  if (except) q = q.where('id', '!=', except);
  return !!(await q.executeTakeFirst());
}

/** Which of these channels belong to the site (a scene names only its own site's channels). */
export async function channelsOfSite(
  db: Kysely<DB>,
  siteId: string,
  ids: readonly string[],
): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const rows = await db
    .selectFrom('equipment_channels')
    .select('id')
    .where('site_id', '=', siteId)
    .where('id', 'in', [...ids])
    .execute();
  return new Set(rows.map((r) => r.id));
}

export async function insertScene(
  db: Kysely<DB>,
  s: { siteId: string; name: string; description: string | null; ttlS: number; targets: SceneTargetValue[] },
): Promise<SceneRow> {
  const r = await db
    .insertInto('scenes')
    .values({
      site_id: s.siteId,
      name: s.name,
      description: s.description,
      ttl_s: s.ttlS,
      targets: JSON.stringify(s.targets),
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  return toScene(r);
}

/** An edit: a new version. */
export async function updateScene(
  db: Kysely<DB>,
  id: string,
  s: { name: string; description: string | null; ttlS: number; targets: SceneTargetValue[] },
): Promise<SceneRow | undefined> {
  const r = await db
    .updateTable('scenes')
    .set((eb) => ({
      name: s.name,
      description: s.description,
      ttl_s: s.ttlS,
      targets: JSON.stringify(s.targets),
      version: eb('version', '+', 1),
      updated_at: new Date(),
    }))
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirst();
  return r ? toScene(r) : undefined;
}

export async function deleteScene(db: Kysely<DB>, id: string): Promise<boolean> {
  const r = await db.deleteFrom('scenes').where('id', '=', id).executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}

export async function insertActivation(
  db: Kysely<DB>,
  a: { sceneId: string; siteId: string; sceneName: string; sceneVersion: number; activatedBy: string },
): Promise<ActivationRow> {
  return db
    .insertInto('scene_activations')
    .values({
      scene_id: a.sceneId,
      site_id: a.siteId,
      scene_name: a.sceneName,
      scene_version: a.sceneVersion,
      activated_by: a.activatedBy,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

/**
 * Every target of an activation, pending and without a command until its switch is tried: the
 * activation cannot look settled while its later targets are still being switched.
 */
export async function insertTargets(
  db: Kysely<DB>,
  activationId: string,
  siteId: string,
  targets: readonly { channelId: string; state: OnOff }[],
): Promise<void> {
  await db
    .insertInto('scene_activation_targets')
    .values(
      targets.map((t) => ({
        activation_id: activationId,
        channel_id: t.channelId,
        site_id: siteId,
        state: t.state,
        outcome: 'pending' as const,
      })),
    )
    .execute();
}

/** What trying a target's switch gave: its command (still pending) or an outcome already. */
export async function recordTarget(
  db: Kysely<DB>,
  key: { activationId: string; channelId: string },
  t: { outcome: TargetOutcome; errorCode: string | null; reason: string | null; commandId: string | null },
): Promise<void> {
  await db
    .updateTable('scene_activation_targets')
    .set({
      outcome: t.outcome,
      error_code: t.errorCode,
      reason: t.reason,
      command_id: t.commandId,
      updated_at: new Date(),
    })
    .where('activation_id', '=', key.activationId)
    .where('channel_id', '=', key.channelId)
    .execute();
}

export async function getActivation(db: Kysely<DB>, id: string): Promise<ActivationRow | undefined> {
  return db.selectFrom('scene_activations').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function listActivations(
  db: Kysely<DB>,
  sceneId: string,
  limit: number,
): Promise<ActivationRow[]> {
  return db
    .selectFrom('scene_activations')
    .selectAll()
    .where('scene_id', '=', sceneId)
    .orderBy('created_at', 'desc')
    .orderBy('id')
    .limit(limit)
    .execute();
}

export async function targetsOf(db: Kysely<DB>, activationIds: readonly string[]): Promise<TargetRow[]> {
  if (activationIds.length === 0) return [];
  return db
    .selectFrom('scene_activation_targets')
    .select([
      'activation_id',
      'channel_id',
      'state',
      'outcome',
      'error_code',
      'reason',
      'command_id',
      'updated_at',
    ])
    .where('activation_id', 'in', [...activationIds])
    .orderBy('channel_id')
    .execute();
}

/** Pending targets waiting on this command (or, without one, on this channel). */
export async function pendingTargets(
  db: Kysely<DB>,
  by: { commandId: string } | { channelId: string },
): Promise<TargetRow[]> {
  let q = db
    .selectFrom('scene_activation_targets')
    .select([
      'activation_id',
      'channel_id',
      'state',
      'outcome',
      'error_code',
      'reason',
      'command_id',
      'updated_at',
    ])
    .where('outcome', '=', 'pending')
    .where('command_id', 'is not', null);
  q = 'commandId' in by ? q.where('command_id', '=', by.commandId) : q.where('channel_id', '=', by.channelId);
  return q.execute();
}

/** Settles one pending target; false when it was settled already (another hub, a repeated event). */
export async function settleTarget(
  db: Kysely<DB>,
  key: { activationId: string; channelId: string },
  outcome: { outcome: TargetOutcome; reason: string | null },
): Promise<boolean> {
  const r = await db
    .updateTable('scene_activation_targets')
    .set({ outcome: outcome.outcome, reason: outcome.reason, updated_at: new Date() })
    .where('activation_id', '=', key.activationId)
    .where('channel_id', '=', key.channelId)
    .where('outcome', '=', 'pending')
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

/** Marks the activation settled once no target is pending; true when this call did it. */
export async function markSettledIfDone(db: Kysely<DB>, activationId: string): Promise<boolean> {
  const r = await db
    .updateTable('scene_activations')
    .set({ settled_at: new Date() })
    .where('id', '=', activationId)
    .where('settled_at', 'is', null)
    .where((eb) =>
      eb.not(
        eb.exists(
          eb
            .selectFrom('scene_activation_targets as t')
            .select('t.channel_id')
            .whereRef('t.activation_id', '=', 'scene_activations.id')
            .where('t.outcome', '=', 'pending'),
        ),
      ),
    )
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

export async function commandState(db: Kysely<DB>, id: string) {
  return db.selectFrom('commands').select(['state']).where('id', '=', id).executeTakeFirst();
}
