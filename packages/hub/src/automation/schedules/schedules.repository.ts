// The only place schedule SQL lives. Callers pass the Kysely handle: a tenant transaction
// (withTenant: row-level security applies) for what users ask, hub.db for the runner, which acts
// for the hub itself across all sites.

import type { OnOff, ScheduleRule } from '@wattfleet/devices/automation';
import { type Kysely, sql } from 'kysely';
import type { DB } from '../../storage/schema.ts';
import type { RunEdge, RunOutcome } from './schedules.tables.ts';
import './schedules.tables.ts';
import '../edge/edge.tables.ts';

export interface ScheduleRow {
  id: string;
  site_id: string;
  channel_id: string;
  name: string;
  enabled: boolean;
  priority: number;
  version: number;
  rule: ScheduleRule;
  valid_from: string | null;
  valid_until: string | null;
  except_dates: string[];
  grace_min: number;
  checked_until: Date;
  created_at: Date;
  updated_at: Date;
  /** The edge agent that executes it (automation_executors), null = the hub. */
  executor_node_id: string | null;
}

/** A schedule with what the runner needs of its site. */
export interface RunnableSchedule extends ScheduleRow {
  org_id: string;
  timezone: string;
  latitude: number | null;
  longitude: number | null;
}

export interface RunRow {
  id: string;
  schedule_id: string;
  schedule_version: number;
  channel_id: string;
  due_at: Date;
  edge: RunEdge;
  state: OnOff;
  outcome: RunOutcome;
  reason: string;
  error_code: string | null;
  command_id: string | null;
  command_state: string | null;
  ran_at: Date | null;
  executed_by: string | null;
}

const json = <T>(v: unknown): T => (typeof v === 'string' ? JSON.parse(v) : v) as T;
// biome-ignore lint/suspicious/noExplicitAny: rows come back with the JSON columns as text or objects.
const toRow = <T extends ScheduleRow>(r: any): T => ({
  ...r,
  rule: json(r.rule),
  except_dates: json(r.except_dates),
  latitude: r.latitude ?? null,
  longitude: r.longitude ?? null,
  executor_node_id: r.executor_node_id ?? null,
});

const COLUMNS = [
  's.id',
  's.site_id',
  's.channel_id',
  's.name',
  's.enabled',
  's.priority',
  's.version',
  's.rule',
  's.valid_from',
  's.valid_until',
  's.except_dates',
  's.grace_min',
  's.checked_until',
  's.created_at',
  's.updated_at',
] as const;

const live = (db: Kysely<DB>) =>
  db
    .selectFrom('schedules as s')
    .leftJoin('automation_executors as ex', (j) =>
      j.onRef('ex.item_id', '=', 's.id').on('ex.item_kind', '=', 'schedule'),
    )
    .select([...COLUMNS, 'ex.node_id as executor_node_id'])
    .where('s.deleted_at', 'is', null);

export async function listSchedules(db: Kysely<DB>, siteId: string): Promise<ScheduleRow[]> {
  const rows = await live(db)
    .where('s.site_id', '=', siteId)
    .orderBy('s.channel_id')
    .orderBy('s.priority', 'desc')
    .execute();
  return rows.map(toRow);
}

export async function getSchedule(db: Kysely<DB>, id: string): Promise<ScheduleRow | undefined> {
  const r = await live(db).where('s.id', '=', id).executeTakeFirst();
  return r ? toRow(r) : undefined;
}

export interface ScheduleValues {
  channel_id: string;
  name: string;
  enabled: boolean;
  priority: number;
  rule: ScheduleRule;
  valid_from: string | null;
  valid_until: string | null;
  except_dates: string[];
  grace_min: number;
}

export async function insertSchedule(
  db: Kysely<DB>,
  siteId: string,
  v: ScheduleValues,
  now: Date,
): Promise<ScheduleRow> {
  const r = await db
    .insertInto('schedules')
    .values({
      ...v,
      site_id: siteId,
      rule: JSON.stringify(v.rule),
      except_dates: JSON.stringify(v.except_dates),
      // Nothing before the schedule existed runs: the watermark starts now.
      checked_until: now,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return (await getSchedule(db, r.id))!;
}

/**
 * An edit: a new version. The watermark moves to now, so the new version does not act on
 * instants before it existed (and re-enabling does not catch up the time it was off).
 */
export async function updateSchedule(
  db: Kysely<DB>,
  id: string,
  v: ScheduleValues,
  now: Date,
): Promise<ScheduleRow | undefined> {
  const r = await db
    .updateTable('schedules')
    .set({
      ...v,
      rule: JSON.stringify(v.rule),
      except_dates: JSON.stringify(v.except_dates),
      version: sql`version + 1`,
      checked_until: now,
      updated_at: now,
    })
    .where('id', '=', id)
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0 ? getSchedule(db, id) : undefined;
}

/** Deleted schedules stay as rows: their run log keeps naming them. */
export async function deleteSchedule(db: Kysely<DB>, id: string, now: Date): Promise<boolean> {
  const r = await db
    .updateTable('schedules')
    .set({ deleted_at: now, enabled: false, updated_at: now })
    .where('id', '=', id)
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

export async function channelSite(db: Kysely<DB>, channelId: string): Promise<string | undefined> {
  const r = await db
    .selectFrom('equipment_channels')
    .select('site_id')
    .where('id', '=', channelId)
    .executeTakeFirst();
  return r?.site_id;
}

export async function sitePlace(db: Kysely<DB>, siteId: string) {
  return db
    .selectFrom('sites')
    .select(['timezone', 'latitude', 'longitude'])
    .where('id', '=', siteId)
    .executeTakeFirst();
}

/**
 * Every live, enabled schedule the hub executes, with its site's zone and coordinates (the
 * runner, all sites). One a node executes (automation_executors, issue 13.7) is the node's alone.
 */
export async function runnableSchedules(db: Kysely<DB>): Promise<RunnableSchedule[]> {
  const rows = await live(db)
    .innerJoin('sites as site', 'site.id', 's.site_id')
    .select(['site.org_id', 'site.timezone', 'site.latitude', 'site.longitude'])
    .where('s.enabled', '=', true)
    .where(({ not, exists, selectFrom }) =>
      not(
        exists(
          selectFrom('automation_executors as x')
            .select('x.item_id')
            .where('x.item_kind', '=', 'schedule')
            .whereRef('x.item_id', '=', 's.id'),
        ),
      ),
    )
    .orderBy('s.id')
    .execute();
  return rows.map((r) => toRow<RunnableSchedule>(r));
}

export interface NewRun {
  schedule_id: string;
  schedule_version: number;
  site_id: string;
  channel_id: string;
  due_at: Date;
  edge: RunEdge;
  state: OnOff;
  outcome: RunOutcome;
  reason: string;
}

/**
 * Moves the watermarks of many schedules forward in one statement (a tick looks at every enabled
 * schedule: 10,000 single-row updates every 15 s would outlast the tick itself), forward only and
 * only for the version the tick read.
 */
export async function advanceWatermarks(
  db: Kysely<DB>,
  schedules: readonly { id: string; version: number }[],
  to: Date,
): Promise<void> {
  for (let i = 0; i < schedules.length; i += WATERMARK_CHUNK) {
    const part = schedules.slice(i, i + WATERMARK_CHUNK);
    await sql`
      UPDATE schedules AS s SET checked_until = ${to}
        FROM unnest(${part.map((x) => x.id)}::uuid[], ${part.map((x) => x.version)}::int4[]) AS u(id, version)
       WHERE s.id = u.id AND s.version = u.version AND s.checked_until < ${to}`.execute(db);
  }
}
const WATERMARK_CHUNK = 5000;
/** Rows per claiming INSERT (9 parameters a row, well under the protocol's 65,535). */
const CLAIM_CHUNK = 1000;

/**
 * Claims many occurrences at once: for each one claimed here its run id, keyed by
 * `runKey(schedule_id, due_at)`; one another hub (or tick) already has is absent.
 */
export async function claimRuns(db: Kysely<DB>, runs: readonly NewRun[]): Promise<Map<string, string>> {
  const claimed = new Map<string, string>();
  for (let i = 0; i < runs.length; i += CLAIM_CHUNK) {
    const rows = await db
      .insertInto('schedule_runs')
      .values(runs.slice(i, i + CLAIM_CHUNK))
      .onConflict((oc) => oc.columns(['schedule_id', 'due_at']).doNothing())
      .returning(['id', 'schedule_id', 'due_at'])
      .execute();
    for (const r of rows) claimed.set(runKey(r.schedule_id, new Date(r.due_at).getTime()), r.id);
  }
  return claimed;
}

export const runKey = (scheduleId: string, dueAt: number) => `${scheduleId}@${dueAt}`;

/** Claims an occurrence: the run's id, or undefined when another hub (or tick) already has it. */
export async function claimRun(db: Kysely<DB>, run: NewRun): Promise<string | undefined> {
  const r = await db
    .insertInto('schedule_runs')
    .values(run)
    .onConflict((oc) => oc.columns(['schedule_id', 'due_at']).doNothing())
    .returning('id')
    .executeTakeFirst();
  return r?.id;
}

export async function finishRun(
  db: Kysely<DB>,
  id: string,
  result: {
    outcome: RunOutcome;
    reason: string;
    commandId: string | null;
    errorCode: string | null;
    ranAt: Date;
    state?: OnOff;
  },
) {
  await db
    .updateTable('schedule_runs')
    .set({
      ...(result.state ? { state: result.state } : {}),
      outcome: result.outcome,
      reason: result.reason,
      command_id: result.commandId,
      error_code: result.errorCode,
      ran_at: result.ranAt,
    })
    .where('id', '=', id)
    .execute();
}

export async function listRuns(db: Kysely<DB>, scheduleId: string, limit: number): Promise<RunRow[]> {
  return db
    .selectFrom('schedule_runs as r')
    .leftJoin('commands as c', 'c.id', 'r.command_id')
    .leftJoin('edge_executions as x', (j) =>
      j
        .onRef('x.item_id', '=', 'r.schedule_id')
        .onRef('x.due_at', '=', 'r.due_at')
        .on('x.item_kind', '=', 'schedule'),
    )
    .select([
      'x.node_id as executed_by',
      'r.id',
      'r.schedule_id',
      'r.schedule_version',
      'r.channel_id',
      'r.due_at',
      'r.edge',
      'r.state',
      'r.outcome',
      'r.reason',
      'r.error_code',
      'r.command_id',
      'c.state as command_state',
      'r.ran_at',
    ])
    .where('r.schedule_id', '=', scheduleId)
    .orderBy('r.due_at', 'desc')
    .limit(limit)
    .execute();
}
