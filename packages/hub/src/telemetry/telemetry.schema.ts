// Wire schemas of the telemetry read API: the query and every response, used by the TypeBox type
// provider and by the OpenAPI document. Responses serialise: every field the portal reads
// (packages/web/src/api/telemetry.ts) is declared.
import Type, { type Static } from 'typebox';

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);

export const SiteParams = Type.Object({ id: Type.String({ format: 'uuid' }) });
export const NodeParams = Type.Object({ id: Type.String({ format: 'uuid' }) });

export const Resolution = Type.Union([Type.Literal('raw'), Type.Literal('hour'), Type.Literal('day')]);
export type Resolution = Static<typeof Resolution>;

export const TelemetryQuery = Type.Object(
  {
    from: Type.String({ format: 'date-time' }),
    to: Type.String({ format: 'date-time' }),
    metrics: Type.Optional(Type.String({ pattern: '^[a-z0-9_,]{1,1000}$', description: 'Comma-separated' })),
    step: Type.Optional(
      Type.Union([Type.Literal('auto'), Type.Literal('raw'), Type.Literal('hour'), Type.Literal('day')], {
        description: 'auto (default): the finest resolution that keeps every series within 2,000 points',
      }),
    ),
    node: Type.Optional(Type.String({ format: 'uuid' })),
  },
  { additionalProperties: false },
);
export type TelemetryQuery = Static<typeof TelemetryQuery>;

export const Series = Type.Object({
  nodeId: Type.String({ format: 'uuid' }),
  equipment: Type.String(),
  metric: Type.String(),
  kind: Type.Union([
    Type.Literal('power'),
    Type.Literal('energy'),
    Type.Literal('gauge'),
    Type.Literal('state'),
  ]),
  // A pair as a two-item array (not a tuple schema: OpenAPI 3.0 has no tuple `items`).
  points: Type.Array(Type.Array(Type.Number(), { minItems: 2, maxItems: 2 }), {
    description: '[epoch ms, value]; for rollups the value is the bucket average',
  }),
  min: Type.Optional(Type.Array(Nullable(Type.Number()), { description: 'Rollups: per point, the minimum' })),
  max: Type.Optional(Type.Array(Nullable(Type.Number()), { description: 'Rollups: per point, the maximum' })),
  energyWh: Type.Optional(
    Type.Array(Nullable(Type.Number()), {
      description: "Rollups: per point, the hub's energy in that bucket",
    }),
  ),
  truncated: Type.Optional(Type.Boolean({ description: 'Raw: more samples than the point limit; cut' })),
});
export type Series = Static<typeof Series>;

export const TelemetryAnswer = Type.Object({
  siteId: Type.String({ format: 'uuid' }),
  from: Type.String({ format: 'date-time' }),
  to: Type.String({ format: 'date-time' }),
  resolution: Resolution,
  series: Type.Array(Series),
});
export type TelemetryAnswer = Static<typeof TelemetryAnswer>;

export const LatestValue = Type.Object({
  equipment: Type.String(),
  metric: Type.String(),
  ts: Type.String({ format: 'date-time' }),
  value: Type.Number(),
});
export const Latest = Type.Object({
  nodeId: Type.String({ format: 'uuid' }),
  values: Type.Array(LatestValue),
});
export type Latest = Static<typeof Latest>;
