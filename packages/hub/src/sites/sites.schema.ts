// Wire schemas of the site API: request params and bodies and every response, used by the
// TypeBox type provider (the route types come from here) and by the OpenAPI document. Sites
// answer as their database rows (snake_case), which is what the portal reads
// (packages/web/src/api/sites.ts).
import Type, { type Static } from 'typebox';

export const SiteParams = Type.Object({ id: Type.String({ format: 'uuid' }) });

export const SiteStatus = Type.Union([
  Type.Literal('commissioning'),
  Type.Literal('active'),
  Type.Literal('decommissioned'),
]);

/** g CO₂ per kWh of grid electricity at the site; used for "CO₂ avoided" (analytics/co2.ts). */
export const GRID_INTENSITY_MAX = 2000;
const GridIntensity = Type.Number({
  minimum: 0,
  maximum: GRID_INTENSITY_MAX,
  description: 'Grid carbon intensity, g CO₂/kWh (0–2000)',
});

export const SiteBody = Type.Object(
  {
    orgId: Type.String({ format: 'uuid' }),
    installerOrgId: Type.Optional(Type.Union([Type.String({ format: 'uuid' }), Type.Null()])),
    name: Type.String({ minLength: 1, maxLength: 200 }),
    timezone: Type.String({ minLength: 1, maxLength: 64 }),
    latitude: Type.Optional(Type.Number({ minimum: -90, maximum: 90 })),
    longitude: Type.Optional(Type.Number({ minimum: -180, maximum: 180 })),
    systemKw: Type.Optional(Type.Number({ minimum: 0, maximum: 100000 })),
    gridIntensityGPerKwh: Type.Optional(Type.Union([GridIntensity, Type.Null()])),
  },
  { additionalProperties: false },
);
export type SiteBody = Static<typeof SiteBody>;

export const SitePatch = Type.Object(
  {
    installerOrgId: Type.Optional(Type.Union([Type.String({ format: 'uuid' }), Type.Null()])),
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    timezone: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    latitude: Type.Optional(Type.Union([Type.Number({ minimum: -90, maximum: 90 }), Type.Null()])),
    longitude: Type.Optional(Type.Union([Type.Number({ minimum: -180, maximum: 180 }), Type.Null()])),
    systemKw: Type.Optional(Type.Union([Type.Number({ minimum: 0, maximum: 100000 }), Type.Null()])),
    gridIntensityGPerKwh: Type.Optional(
      Type.Union([GridIntensity, Type.Null()], { description: 'null clears it (no CO₂ figures)' }),
    ),
    status: Type.Optional(SiteStatus),
  },
  { additionalProperties: false },
);
export type SitePatch = Static<typeof SitePatch>;

const Uuid = Type.String({ format: 'uuid' });
const Stamp = Type.String({ format: 'date-time' });
const NullableNumber = Type.Union([Type.Number(), Type.Null()]);

export const Site = Type.Object({
  id: Uuid,
  org_id: Uuid,
  installer_org_id: Type.Union([Uuid, Type.Null()]),
  name: Type.String(),
  timezone: Type.String({ description: 'IANA time zone; days and months of this site follow it' }),
  latitude: NullableNumber,
  longitude: NullableNumber,
  system_kw: NullableNumber,
  grid_intensity_g_per_kwh: Type.Union([Type.Number(), Type.Null()], {
    description: 'Grid carbon intensity, g CO₂/kWh; null = not set, and the analytics give no CO₂ figure',
  }),
  status: SiteStatus,
  created_at: Stamp,
});

export const SiteList = Type.Array(Site);

export const SiteNodeSummary = Type.Object({
  id: Uuid,
  name: Type.String(),
  kind: Type.Union([Type.Literal('agent'), Type.Literal('plug'), Type.Literal('virtual')]),
  active: Type.Boolean(),
  status: Type.Union([Type.Literal('unknown'), Type.Literal('online'), Type.Literal('offline')]),
  last_seen_at: Type.Union([Stamp, Type.Null()]),
  agent_version: Type.Union([Type.String(), Type.Null()]),
  control_channel: Type.Boolean({
    description: 'The node has a live MQTT session (current heartbeats): commands can reach it',
  }),
});

export const SiteDetail = Type.Object({
  ...Site.properties,
  nodes: Type.Array(SiteNodeSummary),
});
