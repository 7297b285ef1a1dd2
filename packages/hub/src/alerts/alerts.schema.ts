// Wire schemas of the alert API: params, queries, bodies and every response, used by the TypeBox
// type provider (the routes' types come from here) and by the OpenAPI document. Alerts are
// answered as stored (snake_case columns), as the portal and the agent's tests read them.
import Type, { type Static, type TSchema } from 'typebox';

const Uuid = Type.String({ format: 'uuid' });
const Stamp = Type.String({ format: 'date-time' });
const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);

export const RuleName = Type.String({ minLength: 1, maxLength: 64 });
export const SeverityName = Type.Union([
  Type.Literal('info'),
  Type.Literal('warning'),
  Type.Literal('critical'),
]);
export const AlertStateName = Type.Union([
  Type.Literal('open'),
  Type.Literal('acknowledged'),
  Type.Literal('resolved'),
]);

export const AlertParams = Type.Object({ id: Uuid });
export const SiteParams = Type.Object({ id: Uuid });
export const OrgRuleParams = Type.Object({ org: Uuid, rule: RuleName });
export const SiteRuleParams = Type.Object({ id: Uuid, rule: RuleName });

export const AlertListQuery = Type.Object(
  {
    siteId: Type.Optional(Uuid),
    state: Type.Optional(
      Type.Union([AlertStateName, Type.Literal('active')], { description: 'active: open or acknowledged' }),
    ),
    severity: Type.Optional(SeverityName),
    rule: Type.Optional(RuleName),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })),
  },
  { additionalProperties: false },
);
export type AlertListQuery = Static<typeof AlertListQuery>;

export const NoteBody = Type.Object(
  { note: Type.Optional(Type.String({ maxLength: 1000 })) },
  { additionalProperties: false },
);

export const MuteBody = Type.Object(
  { rule: RuleName, until: Type.String({ format: 'date-time' }) },
  { additionalProperties: false },
);
export type MuteBody = Static<typeof MuteBody>;

const SettingsFields = {
  enabled: Type.Optional(Type.Boolean()),
  severity: Type.Optional(SeverityName),
  durationS: Type.Optional(Type.Integer({ minimum: 0, maximum: 7 * 86_400 })),
  repeatS: Type.Optional(Type.Integer({ minimum: 0, maximum: 30 * 86_400 })),
  params: Type.Optional(Type.Record(Type.String(), Type.Number())),
};

/** Unset fields inherit (site from org, org from the rule's defaults). */
export const SettingsBody = Type.Object(SettingsFields, { additionalProperties: false });
export type SettingsBody = Static<typeof SettingsBody>;

export const Alert = Type.Object({
  id: Uuid,
  rule: Type.String(),
  target_type: Type.Union([
    Type.Literal('site'),
    Type.Literal('node'),
    Type.Literal('equipment'),
    Type.Literal('series'),
  ]),
  target_id: Type.String({ description: 'Site, node or series id, or node/equipment' }),
  org_id: Uuid,
  site_id: Uuid,
  node_id: Nullable(Uuid),
  severity: SeverityName,
  state: AlertStateName,
  message: Type.String(),
  value: Nullable(Type.Number()),
  opened_at: Stamp,
  acknowledged_at: Nullable(Stamp),
  acknowledged_by: Nullable(Type.String()),
  resolved_at: Nullable(Stamp),
  resolved_by: Nullable(Type.String({ description: 'system, or the person (kind:id)' })),
  last_notified_at: Nullable(Stamp),
  repeat_count: Type.Integer(),
  updated_at: Stamp,
});
export type Alert = Static<typeof Alert>;

export const AlertList = Type.Array(Alert);

export const AlertTransition = Type.Object({
  at: Stamp,
  from_state: Nullable(Type.String()),
  to_state: Type.String(),
  actor: Type.String(),
  note: Nullable(Type.String()),
});

export const AlertDetail = Type.Object({ ...Alert.properties, transitions: Type.Array(AlertTransition) });
export type AlertDetail = Static<typeof AlertDetail>;

export const Mute = Type.Object({ siteId: Uuid, rule: Type.String(), until: Stamp });
export type Mute = Static<typeof Mute>;

export const RuleInfo = Type.Object({
  name: Type.String(),
  description: Type.String(),
  defaults: Type.Object({
    enabled: Type.Boolean(),
    severity: SeverityName,
    durationS: Type.Integer(),
    repeatS: Type.Integer(),
    params: Type.Record(Type.String(), Type.Number()),
  }),
});
export const RuleList = Type.Array(RuleInfo);
export type RuleInfo = Static<typeof RuleInfo>;

/** The settings as stored for the org or site (what was sent). */
export const OrgRuleSettings = Type.Object({ orgId: Uuid, rule: Type.String(), ...SettingsFields });
export type OrgRuleSettings = Static<typeof OrgRuleSettings>;
export const SiteRuleSettings = Type.Object({ siteId: Uuid, rule: Type.String(), ...SettingsFields });
export type SiteRuleSettings = Static<typeof SiteRuleSettings>;
