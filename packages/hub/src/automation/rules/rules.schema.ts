// Wire schemas of rules: trigger → conditions → actions on one site, versioned; the run log
// (firings with the reason and what each action did) and the dry run over stored telemetry.
import { RelayStateSchema } from '@wattfleet/protocol';
import Type, { type Static } from 'typebox';

const Uuid = Type.String({ format: 'uuid' });
const Iso = Type.String({ format: 'date-time' });
const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);
const HhMm = Type.String({ pattern: '^([01][0-9]|2[0-3]):[0-5][0-9]$', description: 'Site-local HH:MM' });

export const MetricTrigger = Type.Object(
  {
    type: Type.Literal('metric'),
    metric: Type.String({ minLength: 1, maxLength: 64, description: 'A metric of the catalogue, or x_…' }),
    nodeId: Type.Optional(Uuid),
    equipment: Type.Optional(Type.String({ maxLength: 100 })),
    op: Type.Union([Type.Literal('above'), Type.Literal('below')], {
      description: 'above: value ≥ threshold; below: value ≤ threshold',
    }),
    threshold: Type.Number(),
    forS: Type.Integer({ minimum: 0, maximum: 86_400, description: 'How long it must hold before firing' }),
    hysteresis: Type.Number({
      minimum: 0,
      description:
        'Fires once per crossing; re-arms only after the value passes back beyond threshold ∓ hysteresis',
    }),
  },
  { additionalProperties: false },
);
export const NodeTrigger = Type.Object(
  {
    type: Type.Literal('node'),
    nodeId: Type.Optional(Uuid),
    event: Type.Union([Type.Literal('offline'), Type.Literal('online')]),
  },
  { additionalProperties: false },
);
export const AlertTrigger = Type.Object(
  {
    type: Type.Literal('alert'),
    event: Type.Union([Type.Literal('opened'), Type.Literal('resolved')]),
    rule: Type.Optional(Type.String({ maxLength: 100, description: 'Alert rule name; any when absent' })),
  },
  { additionalProperties: false },
);
export const TimeTrigger = Type.Object(
  { type: Type.Literal('time'), at: HhMm },
  { additionalProperties: false },
);
export const TariffTrigger = Type.Object(
  {
    type: Type.Literal('tariff_period'),
    period: Type.Optional(
      Type.String({
        maxLength: 60,
        description: "A period's name in the site's tariff; any period when absent",
      }),
    ),
  },
  {
    additionalProperties: false,
    description:
      "The start (`from`, site zone) of a period of the tariff valid that day, on the period's weekdays and months",
  },
);
export const RuleTrigger = Type.Union([MetricTrigger, NodeTrigger, AlertTrigger, TimeTrigger, TariffTrigger]);

export const RuleCondition = Type.Union([
  Type.Object(
    { type: Type.Literal('time_window'), from: HhMm, to: HhMm },
    { additionalProperties: false, description: 'Site-local window; from > to spans midnight' },
  ),
  Type.Object(
    {
      type: Type.Literal('battery_soc'),
      min: Type.Optional(Type.Number({ minimum: 0, maximum: 100 })),
      max: Type.Optional(Type.Number({ minimum: 0, maximum: 100 })),
    },
    { additionalProperties: false, description: "The site's latest stored battery_soc in [min, max]" },
  ),
  Type.Object(
    { type: Type.Literal('channel_state'), channelId: Uuid, state: RelayStateSchema },
    { additionalProperties: false, description: "Another channel's (desired, else reported) state" },
  ),
  Type.Object(
    { type: Type.Literal('automation_active') },
    { additionalProperties: false, description: "The site's automation is not paused" },
  ),
]);

export const RuleAction = Type.Union([
  Type.Object(
    { type: Type.Literal('set_channel'), channelId: Uuid, state: RelayStateSchema },
    { additionalProperties: false },
  ),
  Type.Object({ type: Type.Literal('scene'), sceneId: Uuid }, { additionalProperties: false }),
  Type.Object(
    { type: Type.Literal('notify'), message: Type.Optional(Type.String({ maxLength: 500 })) },
    { additionalProperties: false, description: "Queued to the site org's enabled notification channels" },
  ),
  Type.Object(
    {
      type: Type.Literal('command'),
      nodeId: Uuid,
      command: Type.Union(
        [Type.Literal('RESTART'), Type.Literal('DIAGNOSTICS'), Type.Literal('FETCH_LOGS')],
        {
          description: 'Whitelisted: no switching or configuration commands',
        },
      ),
    },
    { additionalProperties: false },
  ),
]);

export const RuleDefinition = Type.Object(
  {
    trigger: RuleTrigger,
    conditions: Type.Array(RuleCondition, { maxItems: 16, default: [] }),
    actions: Type.Array(RuleAction, { minItems: 1, maxItems: 16 }),
  },
  { additionalProperties: false },
);
export type RuleDefinition = Static<typeof RuleDefinition>;
export type RuleTrigger = Static<typeof RuleTrigger>;
export type MetricTrigger = Static<typeof MetricTrigger>;
export type RuleCondition = Static<typeof RuleCondition>;
export type RuleAction = Static<typeof RuleAction>;

export const RuleBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100 }),
    description: Type.Optional(Type.String({ maxLength: 1000 })),
    enabled: Type.Optional(Type.Boolean({ default: true })),
    trigger: RuleTrigger,
    conditions: Type.Optional(Type.Array(RuleCondition, { maxItems: 16 })),
    actions: Type.Array(RuleAction, { minItems: 1, maxItems: 16 }),
  },
  { additionalProperties: false },
);
export type RuleBody = Static<typeof RuleBody>;

export const Rule = Type.Object({
  id: Uuid,
  siteId: Uuid,
  name: Type.String(),
  description: Nullable(Type.String()),
  enabled: Type.Boolean(),
  version: Type.Integer({ description: 'Goes up with every edit; firings and switches name it' }),
  trigger: RuleTrigger,
  conditions: Type.Array(RuleCondition),
  actions: Type.Array(RuleAction),
  suspendedAt: Nullable(Iso),
  suspendedReason: Nullable(Type.String()),
  createdAt: Iso,
  updatedAt: Iso,
});
export type Rule = Static<typeof Rule>;
export const RuleList = Type.Object({ items: Type.Array(Rule) });
export type RuleList = Static<typeof RuleList>;

export const SiteParams = Type.Object({ siteId: Uuid });
export const RuleParams = Type.Object({ id: Uuid });
export const NoContent = Type.Null({ description: 'Deleted' });
export const FiringListQuery = Type.Object(
  { limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })) },
  { additionalProperties: false },
);

export const ActionResult = Type.Object({
  action: Type.String({ description: 'set_channel, scene, notify or command' }),
  target: Nullable(Type.String({ description: 'Channel, scene or node id' })),
  state: Type.Optional(RelayStateSchema),
  ok: Type.Boolean(),
  detail: Nullable(Type.String({ description: 'What happened or why not (a safety limit, …)' })),
});

export const Firing = Type.Object({
  id: Uuid,
  ruleId: Uuid,
  ruleVersion: Type.Integer(),
  sourceKey: Type.String(),
  crossingAt: Iso,
  firedAt: Iso,
  reason: Type.String({ description: 'e.g. "grid_w -2.3 kW for 5 min ≤ -2 kW"' }),
  outcome: Type.Union([Type.Literal('fired'), Type.Literal('skipped'), Type.Literal('suspended')]),
  results: Type.Array(ActionResult),
});
export const FiringList = Type.Object({ items: Type.Array(Firing) });
export type FiringList = Static<typeof FiringList>;

export const DryRunBody = Type.Object(
  {
    trigger: RuleTrigger,
    conditions: Type.Optional(Type.Array(RuleCondition, { maxItems: 16 })),
    actions: Type.Array(RuleAction, { minItems: 1, maxItems: 16 }),
  },
  { additionalProperties: false },
);
export type DryRunBody = Static<typeof DryRunBody>;

export const DryRunFiring = Type.Object({
  sourceKey: Type.String(),
  crossingAt: Iso,
  firedAt: Iso,
  reason: Type.String(),
  outcome: Type.Union([Type.Literal('fired'), Type.Literal('skipped')]),
  skippedBecause: Nullable(Type.String()),
  switches: Type.Array(Type.Object({ channelId: Uuid, state: RelayStateSchema })),
  actions: Type.Array(Type.String({ description: 'What each action would do, in words' })),
});
export const DryRunResult = Type.Object({
  from: Iso,
  to: Iso,
  samples: Type.Integer({ description: 'Stored samples replayed' }),
  firings: Type.Array(DryRunFiring),
  notReplayed: Nullable(
    Type.String({ description: 'Why a trigger kind cannot be replayed from stored telemetry' }),
  ),
});
export type DryRunResult = Static<typeof DryRunResult>;
