// Wire schemas of schedules: the rule (which days, start, optional end, action), the schedule as
// the portal sees it (with its next switching instants), create/edit bodies and the run log.
// Times of day are the site's local wall times; instants are ISO UTC.
import Type, { type Static } from 'typebox';

export const SiteParams = Type.Object({ siteId: Type.String({ format: 'uuid' }) });
export const ScheduleParams = Type.Object({ id: Type.String({ format: 'uuid' }) });
export const RunsQuery = Type.Object(
  { limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 100 })) },
  { additionalProperties: false },
);
export const OccurrencesQuery = Type.Object(
  {
    count: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 100, default: 10, description: 'How many (next N)' }),
    ),
    from: Type.Optional(
      Type.String({ format: 'date-time', description: 'List the instants after this one (default: now)' }),
    ),
  },
  { additionalProperties: false },
);

const Uuid = Type.String({ format: 'uuid' });
const Iso = Type.String({ format: 'date-time' });
const LocalDate = Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$', description: "Local date 'YYYY-MM-DD'" });
const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(
  t: T,
  options?: { description: string },
) => Type.Union([t, Type.Null()], options);
const OnOff = Type.Union([Type.Literal('on'), Type.Literal('off')]);

// The rule's schemas are the wire format the hub also pushes to nodes (automation bundles).
export { DaySpec, ScheduleRule, TimeSpec } from '@wattfleet/protocol';

import { ScheduleRule } from '@wattfleet/protocol';

const editable = {
  name: Type.String({ minLength: 1, maxLength: 200 }),
  enabled: Type.Boolean(),
  priority: Type.Integer({
    minimum: 0,
    maximum: 1000,
    description:
      'Higher wins where schedules of a channel overlap; on equal priority the schedule created first wins',
  }),
  rule: ScheduleRule,
  validFrom: Nullable(LocalDate),
  validUntil: Nullable(LocalDate),
  exceptDates: Type.Array(LocalDate, { maxItems: 366, uniqueItems: true }),
  graceMin: Type.Integer({
    minimum: 0,
    maximum: 1440,
    description:
      'How many minutes late an action may still run after the hub was down (else it is recorded as missed); default 10',
  }),
};

export const ScheduleBody = Type.Object(
  {
    channelId: Uuid,
    name: editable.name,
    enabled: Type.Optional(editable.enabled),
    priority: editable.priority,
    rule: editable.rule,
    validFrom: Type.Optional(editable.validFrom),
    validUntil: Type.Optional(editable.validUntil),
    exceptDates: Type.Optional(editable.exceptDates),
    graceMin: Type.Optional(editable.graceMin),
  },
  { additionalProperties: false },
);
export type ScheduleBody = Static<typeof ScheduleBody>;

export const SchedulePatch = Type.Object(
  {
    name: Type.Optional(editable.name),
    enabled: Type.Optional(editable.enabled),
    priority: Type.Optional(editable.priority),
    rule: Type.Optional(editable.rule),
    validFrom: Type.Optional(editable.validFrom),
    validUntil: Type.Optional(editable.validUntil),
    exceptDates: Type.Optional(editable.exceptDates),
    graceMin: Type.Optional(editable.graceMin),
  },
  { additionalProperties: false },
);
export type SchedulePatch = Static<typeof SchedulePatch>;

export const NextRun = Type.Object({ dueAt: Iso, state: OnOff, reason: Type.String() });

export const Schedule = Type.Object({
  id: Uuid,
  siteId: Uuid,
  channelId: Uuid,
  name: Type.String(),
  enabled: Type.Boolean(),
  priority: Type.Integer(),
  version: Type.Integer({ description: 'Counts edits; every automatic action names the version that acted' }),
  rule: ScheduleRule,
  summary: Type.String({ description: 'The rule in a line, e.g. "Mon–Fri 07:00–18:00 on"' }),
  timezone: Type.String({ description: "The site's time zone the rule is read in" }),
  validFrom: Nullable(LocalDate),
  validUntil: Nullable(LocalDate),
  exceptDates: Type.Array(LocalDate),
  graceMin: Type.Integer(),
  next: Type.Array(NextRun, { description: 'The next switching instants (up to 5, within 14 days)' }),
  executorNodeId: Nullable(Uuid, {
    description:
      'Who executes it: the edge agent (node id) that runs it from its automation bundle, or null for the hub',
  }),
  createdAt: Iso,
  updatedAt: Iso,
});
export type Schedule = Static<typeof Schedule>;

export const ScheduleList = Type.Object({
  items: Type.Array(Schedule),
  control: Type.Object({ canEdit: Type.Boolean(), reason: Type.Optional(Type.String()) }),
});
export type ScheduleList = Static<typeof ScheduleList>;

export const RunOutcome = Type.Union(
  [
    Type.Literal('running'),
    Type.Literal('done'),
    Type.Literal('missed'),
    Type.Literal('skipped-overlap'),
    Type.Literal('superseded'),
    Type.Literal('refused'),
    Type.Literal('failed'),
  ],
  {
    description:
      'done: the switch was sent (commandState tells whether the device confirmed); missed: the hub was down longer than the grace period; skipped-overlap: a higher-priority schedule held the channel; superseded: a later action of the same catch-up replaced it; refused: the switch path refused it (safety limit, automation paused, channel gone: errorCode and reason say which); failed: an unexpected error',
  },
);

export const Run = Type.Object({
  id: Uuid,
  scheduleId: Uuid,
  scheduleVersion: Type.Integer(),
  channelId: Uuid,
  dueAt: Iso,
  ranAt: Nullable(Iso),
  edge: Type.Union([Type.Literal('start'), Type.Literal('end'), Type.Literal('once')]),
  state: OnOff,
  outcome: RunOutcome,
  reason: Type.String(),
  errorCode: Nullable(Type.String()),
  commandId: Nullable(Uuid),
  commandState: Nullable(Type.String()),
  executedBy: Nullable(Uuid, {
    description: 'The node that executed it (edge execution), or null for the hub',
  }),
});
export const RunList = Type.Object({ items: Type.Array(Run) });
export type RunList = Static<typeof RunList>;

export const UpcomingOccurrence = Type.Object({
  dueAt: Iso,
  local: Type.String({ description: "Site-local 'YYYY-MM-DD HH:MM'" }),
  day: LocalDate,
  edge: Type.Union([Type.Literal('start'), Type.Literal('end'), Type.Literal('once')]),
  state: OnOff,
  reason: Type.String(),
});
export const OccurrenceList = Type.Object({
  scheduleId: Uuid,
  version: Type.Integer(),
  enabled: Type.Boolean({ description: 'A disabled schedule lists what it would do; the runner skips it' }),
  timezone: Type.String(),
  items: Type.Array(UpcomingOccurrence),
});
export type OccurrenceList = Static<typeof OccurrenceList>;
