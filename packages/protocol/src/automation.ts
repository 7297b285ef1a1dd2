// Edge execution (issue 13.7): the automation bundle the hub pushes to a node with
// AUTOMATION_PUSH, and the `automation.execution` event the node sends for every action it took.
// Every schedule (and rule) has exactly one executor: the hub, or the node named in `executor`;
// a bundle carries only what its node executes, so the hub never runs these itself.
import Type, { type Static } from 'typebox';
import { DeviceText } from './device-input.ts';
import { ChannelName } from './equipment.ts';
import { EquipmentKey } from './messages.ts';

const Uuid = Type.String({ format: 'uuid' });
const EpochMs = Type.Integer({ minimum: 946684800000, maximum: 4102444800000, description: 'epoch ms' });
const LocalDate = Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$', description: "Local date 'YYYY-MM-DD'" });
const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);
export const OnOffState = Type.Union([Type.Literal('on'), Type.Literal('off')]);

export const TimeSpec = Type.Union([
  Type.Object(
    { at: Type.String({ pattern: '^([01]\\d|2[0-3]):[0-5]\\d$', description: "Local wall time 'HH:MM'" }) },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      sun: Type.Union([Type.Literal('sunrise'), Type.Literal('sunset')]),
      offsetMin: Type.Integer({
        minimum: -720,
        maximum: 720,
        description: 'Minutes after (+) or before (−)',
      }),
    },
    { additionalProperties: false, description: "The site's sunrise or sunset (needs site coordinates)" },
  ),
]);

export const DaySpec = Type.Union([
  Type.Object(
    {
      kind: Type.Literal('weekly'),
      weekdays: Type.Array(Type.Integer({ minimum: 1, maximum: 7 }), {
        minItems: 1,
        maxItems: 7,
        uniqueItems: true,
        description: 'ISO weekdays: 1 = Monday … 7 = Sunday',
      }),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      kind: Type.Literal('dates'),
      dates: Type.Array(LocalDate, { minItems: 1, maxItems: 366, uniqueItems: true }),
    },
    { additionalProperties: false, description: 'One-off local dates' },
  ),
]);

export const ScheduleRule = Type.Object(
  {
    days: DaySpec,
    start: TimeSpec,
    end: Type.Optional(Nullable(TimeSpec)),
    action: OnOffState,
  },
  {
    additionalProperties: false,
    description:
      'At start, set the channel to `action`; with an end, set it to the opposite at the end (a window). An end not later than the start is on the next day.',
  },
);

/** A switchable channel of the executing node, addressed as RELAY_SET addresses it. */
export const BundleTarget = Type.Object(
  {
    channelId: Uuid,
    equipment: EquipmentKey,
    /** '' = the device itself (single-channel). */
    channel: ChannelName,
    limits: Type.Object(
      {
        minOnS: Type.Integer({ minimum: 0, maximum: 86_400 }),
        minOffS: Type.Integer({ minimum: 0, maximum: 86_400 }),
        maxSwitchesPerHour: Nullable(Type.Integer({ minimum: 1, maximum: 3600 })),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);
export type BundleTarget = Static<typeof BundleTarget>;

export const BundleSchedule = Type.Object(
  {
    id: Uuid,
    version: Type.Integer({ minimum: 1 }),
    name: Type.String({ minLength: 1, maxLength: 200 }),
    /** The node id: a bundle only carries what its node executes (checked by the agent). */
    executor: Uuid,
    priority: Type.Integer({ minimum: 0, maximum: 1000 }),
    /** Equal priorities: the older schedule wins (then the smaller id), as on the hub. */
    createdAt: EpochMs,
    rule: ScheduleRule,
    validFrom: Nullable(LocalDate),
    validUntil: Nullable(LocalDate),
    exceptDates: Type.Array(LocalDate, { maxItems: 366 }),
    graceMin: Type.Integer({ minimum: 0, maximum: 1440 }),
    /** Nothing due at or before this instant runs (the version's start, as the hub's watermark). */
    activeFrom: EpochMs,
    target: BundleTarget,
  },
  { additionalProperties: false },
);
export type BundleSchedule = Static<typeof BundleSchedule>;

/**
 * A local rule (threshold with duration and hysteresis on one of the node's own metrics, then
 * set channels of the node). The wire format exists so bundles need not change when the agent
 * learns them; the hub assigns no rule to a node yet (see docs/automation.md, edge execution).
 */
export const BundleRule = Type.Object(
  {
    id: Uuid,
    version: Type.Integer({ minimum: 1 }),
    name: Type.String({ minLength: 1, maxLength: 200 }),
    executor: Uuid,
    trigger: Type.Object(
      {
        metric: Type.String({ pattern: '^[a-z][a-z0-9_]{0,62}$' }),
        equipment: Type.Optional(EquipmentKey),
        op: Type.Union([Type.Literal('above'), Type.Literal('below')]),
        threshold: Type.Number(),
        forS: Type.Integer({ minimum: 0, maximum: 86_400 }),
        hysteresis: Type.Number({ minimum: 0 }),
      },
      { additionalProperties: false },
    ),
    actions: Type.Array(
      Type.Object({ target: BundleTarget, state: OnOffState }, { additionalProperties: false }),
      {
        minItems: 1,
        maxItems: 20,
      },
    ),
  },
  { additionalProperties: false },
);
export type BundleRule = Static<typeof BundleRule>;

export const AutomationBundle = Type.Object(
  {
    /** Goes up with every bundle the hub compiles for this node; the agent refuses an older one. */
    version: Type.Integer({ minimum: 1 }),
    generatedAt: EpochMs,
    nodeId: Uuid,
    site: Type.Object(
      {
        timezone: Type.String({ minLength: 1, maxLength: 64 }),
        latitude: Nullable(Type.Number({ minimum: -90, maximum: 90 })),
        longitude: Nullable(Type.Number({ minimum: -180, maximum: 180 })),
        /** The site's automation pause: while set, the node switches nothing automatically. */
        paused: Type.Boolean(),
      },
      { additionalProperties: false },
    ),
    schedules: Type.Array(BundleSchedule, { maxItems: 500 }),
    rules: Type.Array(BundleRule, { maxItems: 500 }),
  },
  { additionalProperties: false },
);
export type AutomationBundle = Static<typeof AutomationBundle>;

export const EXECUTION_OUTCOMES = [
  'done',
  'missed',
  'superseded',
  'skipped-overlap',
  'refused',
  'failed',
] as const;
export type ExecutionOutcome = (typeof EXECUTION_OUTCOMES)[number];

/** data of an `automation.execution` event: one occurrence a node handled, whatever came of it. */
export const AutomationExecution = Type.Object(
  {
    source: Type.Union([Type.Literal('schedule'), Type.Literal('rule')]),
    id: Uuid,
    version: Type.Integer({ minimum: 1 }),
    bundleVersion: Type.Integer({ minimum: 1 }),
    /** The occurrence (schedules) or the crossing (rules): with `id` it names the execution once. */
    dueAt: EpochMs,
    ranAt: EpochMs,
    edge: Type.Union([
      Type.Literal('start'),
      Type.Literal('end'),
      Type.Literal('once'),
      Type.Literal('fire'),
    ]),
    channelId: Uuid,
    equipment: EquipmentKey,
    channel: ChannelName,
    /** What was (or would have been) set. */
    state: OnOffState,
    outcome: Type.Enum([...EXECUTION_OUTCOMES]),
    reason: DeviceText({ maxLength: 1000 }),
    /** The state the device read back after the switch, when it switched. */
    confirmed: Type.Optional(OnOffState),
    errorCode: Type.Optional(DeviceText({ maxLength: 64 })),
  },
  { additionalProperties: false },
);
export type AutomationExecution = Static<typeof AutomationExecution>;

/** What the node answers to AUTOMATION_PUSH. */
export const AutomationPushResult = Type.Object(
  {
    version: Type.Integer({ minimum: 1 }),
    schedules: Type.Integer({ minimum: 0 }),
    rules: Type.Integer({ minimum: 0 }),
    health: DeviceText({ maxLength: 1000 }),
  },
  { additionalProperties: false },
);
export type AutomationPushResult = Static<typeof AutomationPushResult>;
